"""Bad input, generated: money strings, keys, methods, CSRF. Every case is a typed error,
a form error or a 4xx, never a 500, and the ledger still reconciles."""

import contextlib
import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.test import Client
from hypothesis import HealthCheck, assume, example, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from accounts import selectors, services
from accounts.models import LedgerTransaction, ledger_code_for_player
from accounts.reconcile import reconcile
from core.exceptions import DomainError, InvalidAmount
from core.money import parse_amount

VALID = re.compile(r"[0-9]{1,12}(\.[0-9]{1,2})?")

NASTY = [
    "1,000",
    "1,5",
    "1e3",
    "1E3",
    "1e-2",
    "0.001",
    "1.005",
    "10.",
    ".5",
    "+5",
    "-5",
    "-0",
    "-0.00",
    "0",
    "0.00",
    "NaN",
    "nan",
    "sNaN",
    "inf",
    "-inf",
    "Infinity",
    "٣",
    "١٢٣",
    "１２",
    "²",
    "1_000",
    "0x10",
    "1 000",
    "",
    " ",
    "\x00",
    "5\x00",
    "9" * 40,
    "99999999999999.99",
    "100000.01",
    "100000.00",
    "0.01",
    " 12.5 ",
    "12.50\n",
    "1.0000000000000000000001",
    "1e100000",
    "--1",
    "1..2",
    "１.00",
    "₁",
    "🎰",
    "DROP TABLE",
    "<script>",
]

money_text = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=30),
    st.text(alphabet="0123456789.,-+eE_ ", max_size=25),
    st.from_regex(r"\A[0-9]{1,14}(\.[0-9]{0,4})?\Z"),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
money_values = st.one_of(
    money_text,
    st.decimals(allow_nan=True, allow_infinity=True),
    st.decimals(min_value=Decimal("-1e30"), max_value=Decimal("1e30"), places=None),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.none(),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
)
keys = st.text(alphabet=st.characters(exclude_characters="\x00"), min_size=1, max_size=80)
FUZZ = hsettings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


@given(value=money_values)
@hsettings(max_examples=600, deadline=None)
@example(Decimal("-0"))
@example(Decimal("sNaN"))
@example(Decimal("1E+1000"))
@example(Decimal("1E-1000"))
@example(0.1)
@example(True)
def test_parse_amount_returns_a_clean_amount_or_raises_invalid_amount(value):
    try:
        amount = parse_amount(value)
    except InvalidAmount as exc:
        assert exc.message
        return
    assert isinstance(amount, Decimal) and amount.as_tuple().exponent == -2
    assert Decimal("0.01") <= amount <= settings.MAX_TRANSACTION_AMOUNT
    assert not isinstance(value, (float, bool))
    if isinstance(value, str):
        assert VALID.fullmatch(value.strip()) and Decimal(value.strip()) == amount


@given(value=money_values)
@hsettings(max_examples=300, deadline=None)
def test_parse_amount_allow_zero_never_returns_negative_zero(value):
    try:
        amount = parse_amount(value, allow_zero=True)
    except InvalidAmount:
        return
    assert amount >= 0 and not amount.is_signed()


def _ledger_matches(player) -> bool:
    return selectors.balance_of(player=player) == selectors.ledger_balance(ledger_code_for_player(player.pk))


@pytest.mark.slow
@given(amount=money_values, key=keys, action=st.sampled_from(["deposit", "withdraw"]))
@FUZZ
def test_money_services_take_any_input_safely(player, amount, key, action):
    before = selectors.balance_of(player=player)
    service = getattr(services, action)
    try:
        tx = service(player=player, amount=amount, idempotency_key=key)
    except DomainError as exc:
        assert exc.message and 400 <= exc.status_code < 500
        assert selectors.balance_of(player=player) == before
    else:
        moved = parse_amount(amount)
        assert isinstance(tx, LedgerTransaction)
        delta = selectors.balance_of(player=player) - before
        # Moved exactly the amount, or nothing when the key replayed an earlier transaction.
        assert delta in (moved if action == "deposit" else -moved, Decimal("0.00"))
    assert _ledger_matches(player)


def test_money_services_reconcile_after_fuzzing(player):
    for value in NASTY:
        for service in (services.deposit, services.withdraw):
            with contextlib.suppress(DomainError):
                service(player=player, amount=value, idempotency_key=f"nasty-{value!r}-{service.__name__}")
    assert _ledger_matches(player)
    report = reconcile()
    assert report.ok, "\n".join(report.lines())


def test_a_nul_byte_in_a_service_idempotency_key_is_a_typed_error(player):
    with pytest.raises(DomainError):
        services.deposit(player=player, amount=Decimal("1.00"), idempotency_key="a\x00b")


@pytest.mark.slow
@given(amount=money_text, key=st.text(max_size=80), prefix=st.sampled_from(["deposit", "withdraw"]), htmx=st.booleans())
@FUZZ
def test_wallet_forms_never_500(player_client, player, amount, key, prefix, htmx):
    before = selectors.balance_of(player=player)
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = player_client.post(
        f"/wallet/{prefix}/", {f"{prefix}-amount": amount, f"{prefix}-idempotency_key": key}, **headers
    )
    assert response.status_code in (200, 302, 422), response.status_code
    after = selectors.balance_of(player=player)
    if response.status_code == 422:
        assert after == before and b"errorlist" in response.content
    assert _ledger_matches(player)


@pytest.mark.slow
@given(data=st.dictionaries(st.text(max_size=20), st.text(max_size=20), max_size=5))
@hsettings(FUZZ, max_examples=40)
def test_wallet_forms_with_arbitrary_fields_never_500(player_client, player, data):
    assume(not any(k.endswith("amount") for k in data))
    for url in ("/wallet/deposit/", "/wallet/withdraw/", "/responsible/limits/", "/responsible/break/"):
        response = player_client.post(url, data)
        assert response.status_code in (200, 302, 422), (url, response.status_code)
    assert _ledger_matches(player)


def test_missing_csrf_token_is_refused_and_moves_nothing(player):
    client = Client(enforce_csrf_checks=True)
    client.force_login(player)
    for url, prefix in (("/wallet/deposit/", "deposit"), ("/wallet/withdraw/", "withdraw")):
        response = client.post(url, {f"{prefix}-amount": "10", f"{prefix}-idempotency_key": f"no-csrf-{prefix}"})
        assert response.status_code == 403
        response = client.post(
            url, {f"{prefix}-amount": "10", f"{prefix}-idempotency_key": "bad"}, HTTP_X_CSRFTOKEN="not-the-token"
        )
        assert response.status_code == 403
    assert client.post("/responsible/exclude/", {"days": "30", "confirm": "on"}).status_code == 403
    assert selectors.balance_of(player=player) == Decimal("100.00")
    assert not player.self_exclusions.exists()

    # The same post with the page's token goes through: it was the missing token that was refused.
    client.get("/wallet/")
    token = client.cookies["csrftoken"].value
    response = client.post(
        "/wallet/deposit/", {"deposit-amount": "10", "deposit-idempotency_key": "with-csrf"}, HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == 302
    assert selectors.balance_of(player=player) == Decimal("110.00")


@pytest.mark.parametrize(
    ("method", "url"),
    [(m, u) for u in ("/wallet/deposit/", "/wallet/withdraw/") for m in ("get", "put", "patch", "delete", "options")]
    + [("post", "/wallet/"), ("post", "/wallet/statement/"), ("put", "/wallet/"), ("delete", "/wallet/statement/")],
)
def test_wrong_http_methods_are_405(player_client, method, url):
    assert getattr(player_client, method)(url).status_code == 405


@pytest.mark.parametrize("page", ["abc", "-1", "0", "99999999999999999999999", "1e9", "%00", "１"])
def test_unknown_statement_pages_are_not_errors(player_client, page):
    response = player_client.get(f"/wallet/statement/?page={page}", HTTP_HX_REQUEST="true")
    assert response.status_code == 200


def test_unknown_urls_and_admin_ids_are_404_or_redirects(player_client, client, staff):
    assert player_client.get("/wallet/deposit/999/").status_code == 404
    assert player_client.get("/responsible/limits/1/").status_code == 404
    client.force_login(staff)
    response = client.get("/admin/accounts/ledgertransaction/999999999/change/")
    assert response.status_code == 302  # the admin says "does not exist" and goes back
    assert client.get("/admin/accounts/ledgertransaction/not-a-number/change/").status_code in (302, 404)


def test_anonymous_money_posts_go_to_login(client, db):
    response = client.post("/wallet/deposit/", {"deposit-amount": "10", "deposit-idempotency_key": "x"})
    assert response.status_code == 302 and "/login/" in response["Location"]
