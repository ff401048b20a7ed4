"""The Responsible gaming page: plain posts and htmx, errors as 422, never a 500."""

from datetime import timedelta
from decimal import Decimal

import pytest

from accounts import selectors
from accounts.models import SelfExclusion
from accounts.selectors import responsible as rg
from accounts.services import responsible

D = Decimal
HTMX = {"HTTP_HX_REQUEST": "true"}


def test_page_requires_login(client, db):
    response = client.get("/responsible/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_page_shows_limits_and_status(player_client, player):
    responsible.set_deposit_limits(player=player, daily=D("50"))
    response = player_client.get("/responsible/")
    assert response.status_code == 200
    content = response.content.decode()
    assert "<title>Responsible gaming" in content and 'data-testid="limit-daily"' in content
    assert "50.00" in content and "Active" in content


def test_wallet_links_to_the_page(player_client):
    assert b'href="/responsible/"' in player_client.get("/wallet/").content


def test_setting_limits_by_plain_post_and_htmx(player_client, player):
    response = player_client.post("/responsible/limits/", {"daily": "100", "weekly": "", "monthly": ""})
    assert response.status_code == 302
    assert rg.limit_statuses(player=player)[0].limit == D("100")

    response = player_client.post("/responsible/limits/", {"daily": "300", "weekly": "", "monthly": ""}, **HTMX)
    assert response.status_code == 200
    assert b'id="rg"' in response.content and b"<html" not in response.content
    daily = rg.limit_statuses(player=player)[0]
    assert daily.limit == D("100") and daily.pending == D("300")
    assert "rises to \\u20ac300.00" in response.headers["HX-Trigger"]  # "€300.00", JSON-escaped in the header
    assert "removed" not in response.headers["HX-Trigger"]  # blank and no limit before: nothing pending
    assert b'data-testid="pending-daily"' in response.content


def test_deposit_over_the_limit_shows_the_allowance_on_the_wallet_form(player_client, player):
    responsible.set_deposit_limits(player=player, daily=D("120"))  # 100 already deposited by the factory
    response = player_client.post("/wallet/deposit/", {"deposit-amount": "50", "deposit-idempotency_key": "k1"})
    assert response.status_code == 422
    assert "you can deposit up to €20.00 now" in response.content.decode()
    assert selectors.balance_of(player=player) == D("100.00")


@pytest.mark.parametrize("value", ["-5", "1e2", "abc", "12.345", "1,000", "NaN"])
def test_bad_limit_input_is_a_form_error(player_client, player, value):
    response = player_client.post("/responsible/limits/", {"daily": value}, **HTMX)
    assert response.status_code == 422
    assert b'class="errorlist' in response.content
    assert rg.limit_statuses(player=player)[0].limit is None


def test_take_a_break_blocks_deposits_from_the_wallet(player_client, player):
    response = player_client.post("/responsible/break/", {"days": "7", "confirmed": "yes"})
    assert response.status_code == 302
    assert SelfExclusion.objects.get(player=player).kind == SelfExclusion.Kind.BREAK
    response = player_client.post("/wallet/deposit/", {"deposit-amount": "10", "deposit-idempotency_key": "k"})
    assert response.status_code == 422 and b"on a break" in response.content
    page = player_client.get("/responsible/").content.decode()
    assert "Take a break" in page and "Nobody can end this early" in page


@pytest.mark.parametrize(("url", "data", "title", "button"), [
    ("/responsible/break/", {"days": "7"}, "Start a break of 7 days?", "Yes, start my break"),
    ("/responsible/exclude/", {"days": "30"}, "Exclude yourself for 1 month?", "Yes, exclude me"),
])  # fmt: skip
@pytest.mark.parametrize("htmx", [False, True])
def test_a_break_or_exclusion_asks_for_confirmation_first(player_client, player, url, data, title, button, htmx):
    """Proves: the first post only asks (consequences, end date, a Confirm button); nothing starts
    until the confirmation's own form posts the same choice with ``confirmed``. No JS needed."""
    headers = HTMX if htmx else {}
    asked = player_client.post(url, data, **headers)
    assert asked.status_code == 200
    body = asked.content.decode()
    assert title in body and button in body and "Nobody can" in body and "Withdrawals" in body
    assert 'name="confirmed" value="yes"' in body and f'name="days" value="{data["days"]}"' in body
    assert 'data-testid="confirm-until"' in body
    assert not SelfExclusion.objects.filter(player=player).exists()

    done = player_client.post(url, {**data, "confirmed": "yes"}, **headers)
    assert done.status_code == (200 if htmx else 302)
    exclusion = SelfExclusion.objects.get(player=player)
    assert exclusion.ends_at - exclusion.starts_at == timedelta(days=int(data["days"]))
    if htmx:
        assert "balance-changed" in done.headers["HX-Trigger"]  # open sessions were cashed out
        assert 'id="play-block" hx-swap-oob="true"' in done.content.decode()  # the banner shows at once


@pytest.mark.parametrize("data", [{"days": "3"}, {"days": ""}, {}, {"days": "1; DROP TABLE"}])
def test_break_with_a_bad_period_is_a_form_error(player_client, player, data):
    response = player_client.post("/responsible/break/", data, **HTMX)
    assert response.status_code == 422
    assert not SelfExclusion.objects.filter(player=player).exists()


def test_self_exclusion_needs_confirmation(player_client, player):
    response = player_client.post("/responsible/exclude/", {"days": "30", "confirm": "on"}, **HTMX)
    assert response.status_code == 200 and b"Yes, exclude me" in response.content  # asked, not done
    assert not SelfExclusion.objects.exists()
    response = player_client.post("/responsible/exclude/", {"days": "30", "confirmed": "yes"}, **HTMX)
    assert response.status_code == 200 and b"Self-exclusion" in response.content
    assert SelfExclusion.objects.get(player=player).kind == SelfExclusion.Kind.EXCLUSION


def test_a_break_shows_a_banner_on_every_page_and_disables_deposits(player_client, player):
    before = player_client.get("/wallet/").content.decode()
    assert 'data-testid="play-block-banner"' not in before and 'data-testid="deposit-blocked"' not in before
    responsible.take_a_break(player=player, days=1)
    block = rg.play_block(player=player)
    assert block.kind == "break" and block.message.startswith("You are on a break until ")
    assert block.message.endswith(": play, bets and deposits are paused.")
    for url in ("/wallet/", "/responsible/", "/redeem/", "/"):
        body = player_client.get(url).content.decode()
        assert 'data-testid="play-block-banner"' in body and block.message in body, url
        assert 'role="status" aria-labelledby="play-block-title"' in body and "You are on a break</h2>" in body
    wallet = player_client.get("/wallet/").content.decode()
    deposit = wallet[wallet.index('data-testid="deposit-form"') : wallet.index('data-testid="withdraw-form"')]
    assert 'data-testid="deposit-blocked"' in deposit and block.message in deposit
    assert '<fieldset class="plain" disabled>' in deposit
    withdraw = wallet[wallet.index('data-testid="withdraw-form"') :]
    assert "disabled" not in withdraw[: withdraw.index("</form>")]  # withdrawals still work


def test_an_exclusion_is_named_as_such(player_client, player):
    responsible.self_exclude(player=player, days=30)
    block = rg.play_block(player=player)
    assert block.kind == "exclusion" and block.message.startswith("You are self-excluded until ")
    assert "You are self-excluded</h2>" in player_client.get("/wallet/").content.decode()


def test_the_headers_play_block_costs_one_query_and_only_when_read(rf, player, django_assert_num_queries):
    from accounts.context_processors import header

    request = rf.get("/")
    request.user = player
    with django_assert_num_queries(0):
        ctx = header(request)
    with django_assert_num_queries(1):
        assert ctx["header"].play_block is None
        assert ctx["header"].play_block is None  # cached
    responsible.take_a_break(player=player, days=7)
    request = rf.get("/")  # the next page: a new request, a new header
    request.user = player
    with django_assert_num_queries(1):
        block = header(request)["header"].play_block
    assert block.kind == "break" and block.ends_at > block.ends_at.replace(year=2000)


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("post", "/responsible/"),
        ("get", "/responsible/limits/"),
        ("get", "/responsible/break/"),
        ("get", "/responsible/exclude/"),
        ("put", "/responsible/reality-check/"),
        ("delete", "/responsible/limits/"),
    ],
)
def test_wrong_methods_are_405(player_client, method, url):
    assert getattr(player_client, method)(url).status_code == 405


def test_staff_see_exclusions_in_the_admin_but_cannot_lift_them(client, staff, player):
    exclusion = responsible.self_exclude(player=player, days=365)
    client.force_login(staff)  # a superuser: not even they can change or delete it
    listing = client.get("/admin/accounts/selfexclusion/?active=yes")
    assert listing.status_code == 200 and player.username.encode() in listing.content
    change_url = f"/admin/accounts/selfexclusion/{exclusion.pk}/change/"
    page = client.get(change_url)
    assert page.status_code == 200 and b'name="_save"' not in page.content
    assert client.post(change_url, {"ends_at_0": "2000-01-01", "ends_at_1": "00:00"}).status_code == 403
    assert client.post(f"/admin/accounts/selfexclusion/{exclusion.pk}/delete/", {"post": "yes"}).status_code == 403
    exclusion.refresh_from_db()
    assert exclusion.is_active()
    assert client.get("/admin/accounts/responsiblegamingprofile/").status_code == 200
