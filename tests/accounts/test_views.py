import json
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts import selectors, services
from accounts.models import LedgerTransaction, User

pytestmark = pytest.mark.django_db


def _key(client, url="/wallet/", prefix="deposit"):
    html = client.get(url).content.decode()
    marker = f'name="{prefix}-idempotency_key" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


def test_signup_creates_player_with_account_and_logs_in(client):
    response = client.post(
        reverse("signup"),
        {
            "username": "zoe",
            "email": "zoe@example.com",
            "password1": "plenty-long-pass-77",
            "password2": "plenty-long-pass-77",
        },
    )
    assert response.status_code == 302
    assert response.url == reverse("wallet")
    user = User.objects.get(username="zoe")
    assert selectors.balance_of(player=user) == Decimal("0.00")
    assert client.get(reverse("wallet")).status_code == 200


def test_signup_with_weak_password_shows_form_error(client):
    response = client.post(reverse("signup"), {"username": "weak", "password1": "123", "password2": "123"})
    assert response.status_code == 200
    assert b"too short" in response.content
    assert not User.objects.filter(username="weak").exists()


def test_wallet_requires_login(client):
    response = client.get(reverse("wallet"))
    assert response.status_code == 302
    assert reverse("login") in response.url


def test_wallet_shows_balance_and_statement(player_client, player, django_assert_max_num_queries):
    for n in range(30):  # a long statement must not cost more queries (it is paginated)
        services.deposit(player=player, amount="1", idempotency_key=f"q{n}")
    services.withdraw(player=player, amount="12.34", idempotency_key="w")
    # session + user, statement (count, page, and the month of the first entry: no "previous"
    # link before it), balance (once: the header and the redeem panel share the wallet's read), the
    # header's break/exclusion check, and the redemption, payout and bonus panels (one query when
    # the player has no bonus)
    with django_assert_max_num_queries(15) as queries:
        response = player_client.get(reverse("wallet"))
    balance_reads = [q for q in queries.captured_queries if 'FROM "accounts_account"' in q["sql"]]
    assert len(balance_reads) == 1, [q["sql"] for q in balance_reads]
    body = response.content.decode()
    assert 'data-testid="balance">€117.66<' in body
    assert 'data-testid="header-balance">€117.66<' in body  # the header reuses the wallet's read
    assert "-€12.34" in body and "Withdrawal" in body


def test_deposit_form_posts_once_per_key(player_client, player):
    key = _key(player_client)
    data = {"deposit-amount": "20.00", "deposit-idempotency_key": key}
    first = player_client.post(reverse("deposit"), data)
    again = player_client.post(reverse("deposit"), data)  # a resubmit of the same page
    assert first.status_code == again.status_code == 302
    assert selectors.balance_of(player=player) == Decimal("120.00")
    assert LedgerTransaction.objects.filter(kind="deposit", idempotency_key__endswith=key).count() == 1


def test_htmx_deposit_swaps_money_fragment_with_fresh_key(player_client, player):
    key = _key(player_client)
    response = player_client.post(
        reverse("deposit"), {"deposit-amount": "5", "deposit-idempotency_key": key}, HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<section id="money"')
    assert "<html" not in body
    assert 'data-testid="balance">€105.00<' in body
    assert key not in body  # the next deposit gets a new key
    trigger = json.loads(response.headers["HX-Trigger"])
    assert "balance-changed" in trigger  # the header's balance re-reads itself
    assert [t["message"] for t in trigger["toast"]] == ["Deposited €5.00."]


@pytest.mark.parametrize("amount", ["-5", "0", "1,000", "1e3", "abc", "NaN", "1.234", "١٢", "", "999999999"])
def test_bad_deposit_amount_is_a_form_error_not_a_500(player_client, player, amount):
    key = _key(player_client)
    response = player_client.post(reverse("deposit"), {"deposit-amount": amount, "deposit-idempotency_key": key})
    assert response.status_code == 422
    assert b'class="errorlist' in response.content
    assert selectors.balance_of(player=player) == Decimal("100.00")


def test_withdraw_more_than_balance_is_inline_error(player_client, player):
    key = _key(player_client, prefix="withdraw")
    response = player_client.post(
        reverse("withdraw"),
        {"withdraw-amount": "100.01", "withdraw-idempotency_key": key, "withdraw-confirmed": "yes"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 422
    assert b"Not enough money" in response.content
    assert "HX-Trigger" not in response.headers or "balance-changed" not in response.headers["HX-Trigger"]
    assert selectors.balance_of(player=player) == Decimal("100.00")


def test_missing_idempotency_key_is_a_form_error(player_client, player):
    response = player_client.post(reverse("deposit"), {"deposit-amount": "5"})
    assert response.status_code == 422
    assert selectors.balance_of(player=player) == Decimal("100.00")


def test_money_endpoints_refuse_get(player_client):
    assert player_client.get(reverse("deposit")).status_code == 405
    assert player_client.get(reverse("withdraw")).status_code == 405


def test_statement_is_paginated_and_htmx_returns_only_the_table(player_client, player):
    for n in range(25):
        services.deposit(player=player, amount="1", idempotency_key=f"p{n}")
    page2 = player_client.get(reverse("statement") + "?page=2", HTTP_HX_REQUEST="true")
    body = page2.content.decode()
    assert body.lstrip().startswith('<section id="statement"')
    assert "Page 2 of 2" in body
    assert body.count("<tr>") == 1 + 6  # header + 26 entries - 20 on page one


def test_statement_only_shows_own_entries(player_client, other_player):
    services.deposit(player=other_player, amount="77.77", idempotency_key="theirs")
    assert b"77.77" not in player_client.get(reverse("wallet")).content


@pytest.mark.parametrize("htmx", [False, True])
def test_a_withdrawal_asks_first_then_moves_money_once_confirmed(player_client, player, htmx):
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    key = _key(player_client, prefix="withdraw")
    asked = player_client.post(
        reverse("withdraw"), {"withdraw-amount": "30", "withdraw-idempotency_key": key}, **headers
    )
    assert asked.status_code == 200
    body = asked.content.decode()
    assert 'data-testid="withdraw-confirm-amount">€30.00<' in body
    assert "Confirm withdrawal of €30.00" in body and 'name="withdraw-confirmed" value="yes"' in body
    assert f'value="{key}"' in body  # the same key: a double-click on Confirm moves money once
    assert selectors.balance_of(player=player) == Decimal("100.00"), "the first step moves nothing"

    data = {"withdraw-amount": "30.00", "withdraw-idempotency_key": key, "withdraw-confirmed": "yes"}
    done = player_client.post(reverse("withdraw"), data, **headers)
    assert done.status_code == (200 if htmx else 302)
    assert selectors.balance_of(player=player) == Decimal("70.00")
    player_client.post(reverse("withdraw"), data, **headers)  # Confirm pressed twice
    assert selectors.balance_of(player=player) == Decimal("70.00")
    if not htmx:
        assert "Withdrew €30.00." in player_client.get(reverse("wallet")).content.decode()


def test_a_bad_withdrawal_amount_is_refused_on_the_first_step(player_client, player):
    response = player_client.post(reverse("withdraw"), {"withdraw-amount": "1e3", "withdraw-idempotency_key": "k"})
    assert response.status_code == 422
    assert b"withdraw-confirm" not in response.content and b"errorlist" in response.content


def test_money_inputs_have_no_browser_pattern_and_errors_sit_beside_the_field(player_client, player):
    body = player_client.get(reverse("wallet")).content.decode()
    amount = re.search(r'<input[^>]*name="deposit-amount"[^>]*>', body).group(0)
    assert "pattern=" not in amount
    assert 'inputmode="decimal"' in amount and 'autocomplete="off"' in amount
    assert "aria-invalid" not in amount

    response = player_client.post(reverse("deposit"), {"deposit-amount": "12,5", "deposit-idempotency_key": "k"})
    body = response.content.decode()
    amount = re.search(r'<input[^>]*name="deposit-amount"[^>]*>', body).group(0)
    assert 'aria-invalid="true"' in amount and 'aria-describedby="id_deposit-amount_error"' in amount
    error = re.search(r'<ul class="errorlist" id="id_deposit-amount_error"><li>([^<]*)</li>', body)
    assert error and "enter a number like 10 or 10.50" in error.group(1)
    assert body.index(amount) < body.index(error.group(0)) < body.index('name="withdraw-amount"')  # beside it


def test_the_header_balance_fragment_is_the_players_own_with_currency(player_client, player):
    response = player_client.get(reverse("header_balance"), HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body
    assert 'id="header-balance"' in body and 'data-testid="header-balance">€100.00<' in body
    assert 'hx-trigger="balance-changed from:body"' in body


def test_a_plain_deposit_shows_the_new_figure_in_the_header_of_the_next_page(player_client, player):
    response = player_client.post(
        reverse("deposit"), {"deposit-amount": "20", "deposit-idempotency_key": _key(player_client)}, follow=True
    )
    body = response.content.decode()
    assert 'data-testid="header-balance">€120.00<' in body
    assert "Deposited €20.00." in body
