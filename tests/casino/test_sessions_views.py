"""Lobby, game and session pages: htmx fragments, plain posts, bad input, ownership."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts import services as accounts_services
from accounts.models import LedgerTransaction
from accounts.selectors import balance_of
from casino import services
from casino.models import GameSession, Spin, Vendor
from casino.slots import Machine, percent
from core.money import format_money
from promotions.models import VendorPromotion

D = Decimal
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def session(player, fruit):
    s = services.open_session(player=player, game=fruit)
    services.feed(session=s, amount="20.00", idempotency_key="setup")
    return s


def key_in(html: str, prefix: str) -> str:
    return re.search(rf'name="{prefix}-idempotency_key" value="([0-9a-f]+)"', html).group(1)


def spin_post(client, session, stake="1.00", key="k1", **extra):
    url = reverse("session_spin", args=[session.pk])
    return client.post(url, {"spin-stake": stake, "spin-idempotency_key": key}, **extra)


# --- lobby and game pages -----------------------------------------------------
def test_lobby_lists_games_balance_session_and_promotions(
    player_client, player, games, session, django_assert_max_num_queries
):
    vendor = Vendor.objects.create(slug="acme", name="Acme Slots")
    games["diamond-sevens"].vendor = vendor
    games["diamond-sevens"].save()
    ends = timezone.now() + timedelta(days=2)
    VendorPromotion.objects.create(
        vendor=vendor, kind="win_boost", percent=D("10"), starts_at=timezone.now() - timedelta(hours=1), ends_at=ends
    )
    with django_assert_max_num_queries(12):
        response = player_client.get(reverse("lobby"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Fruit Frenzy" in html and "Diamond Sevens" in html
    assert "94.80%" in html and "95.30%" in html
    assert "€0.10 – €5.00" in html and "€1.00 – €50.00" in html
    assert 'data-testid="account-balance">€80.00<' in html  # account balance after feeding 20
    assert session.get_absolute_url() in html
    assert "Wins +10%" in html and timezone.localtime(ends).strftime("%Y-%m-%d %H:%M") in html


def test_game_page_shows_the_computed_rtp(player_client, fruit):
    response = player_client.get(reverse("game_detail", args=[fruit.slug]))
    assert response.status_code == 200
    assert f'data-testid="rtp">{percent(Machine.for_game(fruit).rtp)}<' in response.content.decode()


def test_unknown_or_inactive_game_is_404(player_client, fruit):
    assert player_client.get(reverse("game_detail", args=["nope"])).status_code == 404
    fruit.is_active = False
    fruit.save()
    assert player_client.get(reverse("game_detail", args=[fruit.slug])).status_code == 404
    assert player_client.post(reverse("session_open", args=[fruit.slug])).status_code == 404


def test_anonymous_is_sent_to_log_in(client, session):
    for url in [reverse("lobby"), reverse("session_detail", args=[session.pk]), reverse("session_history")]:
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]


# --- open ---------------------------------------------------------------------
def test_open_a_session_then_a_second_one_is_refused(player_client, player, games):
    response = player_client.post(reverse("session_open", args=["fruit-frenzy"]))
    opened = GameSession.objects.get(player=player)
    assert response.status_code == 302 and response["Location"] == opened.get_absolute_url()
    response = player_client.post(reverse("session_open", args=["diamond-sevens"]), follow=True)
    assert "already have a game session open" in response.content.decode()
    assert GameSession.objects.filter(player=player).count() == 1


def open_post(client, slug, **data):
    return client.post(reverse("session_open", args=[slug]), {f"open-{k}": v for k, v in data.items()})


def test_opening_feeds_the_machine_in_the_same_step(player_client, player, fruit):
    response = open_post(player_client, fruit.slug, chip="20.00", amount="7", idempotency_key="o1")
    session = GameSession.objects.get(player=player)
    assert response.status_code == 302 and response["Location"] == session.get_absolute_url()
    assert session.balance == D("20.00") and balance_of(player=player) == D("80.00")  # the chip, not the box
    # The same step sent again (a double click): still one session, fed once.
    open_post(player_client, fruit.slug, chip="20.00", idempotency_key="o1")
    session.refresh_from_db()
    assert session.balance == D("20.00") and balance_of(player=player) == D("80.00")
    assert LedgerTransaction.objects.filter(kind="feed").count() == 1
    # The first spin has money to play.
    assert spin_post(player_client, session, stake="1.00").status_code == 302
    assert Spin.objects.filter(session=session).count() == 1


def test_opening_with_a_typed_amount(player_client, player, fruit):
    open_post(player_client, fruit.slug, amount="12.50", idempotency_key="o2")
    assert GameSession.objects.get(player=player).balance == D("12.50")


@pytest.mark.parametrize(("amount", "message"), [("abc", "enter a number"), ("1000", "Not enough money")])
def test_a_bad_feed_amount_when_opening(player_client, player, fruit, amount, message):
    response = open_post(player_client, fruit.slug, amount=amount, idempotency_key="o3")
    if response.status_code == 422:  # the form refuses it: nothing opens, the error shows beside the field
        assert message in response.content.decode() and not GameSession.objects.exists()
    else:  # the account cannot pay: the machine is open, unfed, and the player is told why
        html = player_client.get(response["Location"]).content.decode()
        assert message in html and GameSession.objects.get(player=player).balance == D("0.00")
    assert balance_of(player=player) == D("100.00")


def test_the_open_form_offers_quick_amounts_the_account_can_pay(player_client, player, fruit, settings):
    html = player_client.get(fruit.get_absolute_url()).content.decode()
    for amount in ("10.00", "20.00", "50.00", "100.00"):
        assert f'name="open-chip" value="{amount}"' in html
    assert 'name="open-amount" value="20.00"' in html  # the default typed amount
    accounts_services.withdraw(player=player, amount="70", idempotency_key="w")
    html = player_client.get(fruit.get_absolute_url()).content.decode()
    assert 'value="20.00"' in html and 'name="open-chip" value="50.00"' not in html


def test_open_is_post_only(player_client, fruit):
    assert player_client.get(reverse("session_open", args=[fruit.slug])).status_code == 405


# --- spin ---------------------------------------------------------------------
def test_htmx_spin_swaps_the_play_panel_with_a_fresh_key(player_client, session):
    page = player_client.get(session.get_absolute_url()).content.decode()
    key = key_in(page, "spin")
    response = spin_post(player_client, session, key=key, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    # Only what the spin changed (issue 14): the result in place, the rest out of band.
    assert html.lstrip().startswith('<div id="spin-result"') and "<html" not in html
    spin = Spin.objects.get(session=session)
    assert f'data-testid="session-balance">{format_money(spin.balance_after)}<' in html
    assert f'data-testid="header-machine">{format_money(spin.balance_after)}<' in html  # the header's, out of band
    assert key_in(html, "spin") != key  # the next spin gets a new key
    assert 'value="1.00"' in html  # the chosen stake is kept


def test_double_submit_spins_once(player_client, session):
    spin_post(player_client, session, key="same", **HTMX)
    spin_post(player_client, session, key="same", **HTMX)
    spin_post(player_client, session, key="same")  # and a plain resubmit
    session.refresh_from_db()
    assert session.spin_count == 1 and Spin.objects.filter(session=session).count() == 1


def test_plain_post_spin_redirects_to_the_page(player_client, session):
    response = spin_post(player_client, session)
    assert response.status_code == 302 and response["Location"] == session.get_absolute_url()
    assert Spin.objects.filter(session=session).count() == 1


@pytest.mark.parametrize(
    ("stake", "message"),
    [
        ("abc", "enter a number"),
        ("-1", "enter a number"),
        ("0", "more than zero"),
        ("1.001", "enter a number"),
        ("0.05", "between 0.10 and 5.00"),
        ("5.50", "between 0.10 and 5.00"),
        ("", "required"),
    ],
)
def test_bad_stakes_get_a_clear_error_and_move_nothing(player_client, player, session, stake, message):
    before = (balance_of(player=player), LedgerTransaction.objects.count())
    for extra in (HTMX, {}):
        response = spin_post(player_client, session, stake=stake, **extra)
        assert response.status_code == 422
        assert message in response.content.decode()
    session.refresh_from_db()
    assert session.balance == D("20.00") and session.spin_count == 0
    assert (balance_of(player=player), LedgerTransaction.objects.count()) == before


def test_stake_more_than_the_machine_holds(player_client, player, games):
    s = services.open_session(player=player, game=games["diamond-sevens"])
    services.feed(session=s, amount="2.00", idempotency_key="f")
    response = spin_post(player_client, s, stake="3.00", **HTMX)
    assert response.status_code == 422 and "Not enough money in the machine" in response.content.decode()


def test_spin_on_a_closed_session_is_refused(player_client, session):
    services.leave(session=session)
    response = spin_post(player_client, session, **HTMX)
    assert response.status_code == 422 and "closed" in response.content.decode()
    assert not Spin.objects.exists()


def test_free_spin_button(player_client, player, session, fruit):
    services.grant_free_spins(player=player, game=fruit, count=2, stake="0.50", source_key="t")
    html = player_client.get(session.get_absolute_url()).content.decode()
    assert "Free spin (2 left, stake €0.50)" in html
    url = reverse("session_spin", args=[session.pk])
    response = player_client.post(url, {"free_spin": "1", "free-idempotency_key": key_in(html, "free")}, **HTMX)
    assert response.status_code == 200 and "Free spin (1 left" in response.content.decode()
    spin = Spin.objects.get(session=session)
    assert spin.free_spin and spin.stake == D("0.50")
    response = player_client.post(url, {"free_spin": "1", "free-idempotency_key": "x"}, **HTMX)
    response = player_client.post(url, {"free_spin": "1", "free-idempotency_key": "y"}, **HTMX)
    assert response.status_code == 422 and "no free spins left" in response.content.decode()


def test_active_win_boost_is_shown(player_client, session, fruit):
    vendor = Vendor.objects.create(slug="boosty", name="Boosty")
    fruit.vendor = vendor
    fruit.save()
    VendorPromotion.objects.create(
        vendor=vendor,
        kind="win_boost",
        percent=D("25"),
        starts_at=timezone.now() - timedelta(minutes=1),
        ends_at=timezone.now() + timedelta(hours=1),
    )
    assert "Win boost +25.00% on wins now" in player_client.get(session.get_absolute_url()).content.decode()


# --- feed and leave -----------------------------------------------------------
def test_feed_with_htmx(player_client, player, session):
    url = reverse("session_feed", args=[session.pk])
    response = player_client.post(url, {"feed-amount": "5.25", "feed-idempotency_key": "f1"}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="session-balance">€25.25<' in html
    assert 'id="header-machine" class="header-machine" hx-swap-oob="true"' in html and "€25.25</strong>" in html
    assert "balance-changed" in response["HX-Trigger"]  # the header's account balance re-reads itself
    assert balance_of(player=player) == D("74.75")


@pytest.mark.parametrize(("amount", "message"), [("1000", "Not enough money in the account"), ("x", "enter a number")])
def test_feed_errors(player_client, player, session, amount, message):
    url = reverse("session_feed", args=[session.pk])
    response = player_client.post(url, {"feed-amount": amount, "feed-idempotency_key": "f2"}, **HTMX)
    assert response.status_code == 422 and message in response.content.decode()
    assert balance_of(player=player) == D("80.00")


def test_leave_credits_the_account(player_client, player, session):
    response = player_client.post(reverse("session_leave", args=[session.pk]), follow=True)
    html = response.content.decode()
    assert "Cashed out €20.00 to your account" in html and 'data-testid="closed-summary"' in html
    assert balance_of(player=player) == D("100.00")
    response = player_client.post(reverse("session_leave", args=[session.pk]), follow=True)
    assert "already closed" in response.content.decode()
    assert LedgerTransaction.objects.filter(kind="cash_out").count() == 1


def test_leave_with_htmx_redirects_client_side(player_client, session):
    response = player_client.post(reverse("session_leave", args=[session.pk]), **HTMX)
    assert response.status_code == 200 and response["HX-Redirect"] == session.get_absolute_url()
    assert "balance-changed" in response["HX-Trigger"]


def test_session_history_lists_sessions_with_totals(player_client, session, django_assert_max_num_queries):
    spin_post(player_client, session)
    with django_assert_max_num_queries(8):
        response = player_client.get(reverse("session_history"))
    assert response.status_code == 200 and f"#{session.pk}" in response.content.decode()


def test_session_page_shows_spin_history_and_totals(player_client, session):
    for i in range(3):
        spin_post(player_client, session, key=f"h{i}")
    html = player_client.get(session.get_absolute_url()).content.decode()
    session.refresh_from_db()
    assert html.count('<tr><td data-label="Nonce"') >= 3
    assert 'data-testid="spin-count">3<' in html and "Totals (3 spins)" in html
    assert str(session.total_staked) == "3.00"


# --- ownership ----------------------------------------------------------------
def test_other_players_cannot_see_or_act_on_a_session(client, other_player, player, session):
    client.force_login(other_player)
    pk = session.pk
    assert client.get(reverse("session_detail", args=[pk])).status_code == 404
    assert client.get(reverse("session_detail", args=[pk]), **HTMX).status_code == 404
    assert spin_post(client, session).status_code == 404
    assert (
        client.post(reverse("session_feed", args=[pk]), {"feed-amount": "1", "feed-idempotency_key": "x"}).status_code
        == 404
    )
    assert client.post(reverse("session_leave", args=[pk])).status_code == 404
    session.refresh_from_db()
    assert session.is_open and session.balance == D("20.00") and session.spin_count == 0
    assert balance_of(player=other_player) == D("100.00")


def test_missing_session_is_404(player_client, db):
    assert player_client.get(reverse("session_detail", args=[999999])).status_code == 404


def test_wrong_methods_are_405(player_client, session):
    assert player_client.get(reverse("session_spin", args=[session.pk])).status_code == 405
    assert player_client.get(reverse("session_leave", args=[session.pk])).status_code == 405
    assert player_client.delete(session.get_absolute_url()).status_code == 405


def test_session_page_query_count_does_not_grow_with_spins(player_client, session, django_assert_max_num_queries):
    for i in range(30):
        services.spin(session=session, stake="0.10", idempotency_key=f"q{i}")
    with django_assert_max_num_queries(14):
        assert player_client.get(session.get_absolute_url()).status_code == 200
    with django_assert_max_num_queries(14):
        assert player_client.get(session.get_absolute_url(), **HTMX).status_code == 200


# --- the lobby stops advertising free spins a player has used up (issue 15) ------------
def test_lobby_hides_vendor_free_spins_the_player_used_up(player_client, player, other_player, client, fruit):
    vendor = Vendor.objects.create(slug="spinco", name="SpinCo")
    fruit.vendor = vendor
    fruit.save()
    VendorPromotion.objects.create(
        vendor=vendor,
        kind="free_spins",
        free_spins_count=2,
        free_spin_stake=D("0.10"),
        starts_at=timezone.now() - timedelta(hours=1),
        ends_at=timezone.now() + timedelta(days=1),
    )
    assert 'data-testid="vendor-promo-free_spins"' in player_client.get(reverse("lobby")).content.decode()
    session = services.open_session(player=player, game=fruit)  # the promotion grants its 2 spins
    html = player_client.get(reverse("lobby")).content.decode()
    assert 'data-testid="vendor-promo-free_spins"' in html  # spins left: still advertised
    for i in range(2):
        services.spin(session=session, idempotency_key=f"free{i}", free_spin=True)
    services.leave(session=session)
    html = player_client.get(reverse("lobby")).content.decode()
    assert 'data-testid="vendor-promo-free_spins"' not in html and 'data-testid="free-spins-fruit-frenzy"' not in html
    client.force_login(other_player)  # per player: someone who has not had them still sees the offer
    assert 'data-testid="vendor-promo-free_spins"' in client.get(reverse("lobby")).content.decode()


def test_vendor_line_links_to_the_vendor_page(player_client, fruit, session):
    fruit.vendor = Vendor.objects.create(slug="linky", name="Linky Games")
    fruit.save()
    url = reverse("vendor_detail", args=["linky"])
    for page in (reverse("lobby"), fruit.get_absolute_url(), session.get_absolute_url()):
        assert f'by <a href="{url}"' in player_client.get(page).content.decode()
    assert player_client.get(url).status_code == 200


def test_stake_input_carries_the_games_range_and_no_pattern(player_client, session):
    html = player_client.get(session.get_absolute_url()).content.decode()
    stake = re.search(r'<input[^>]*name="spin-stake"[^>]*>', html).group(0)
    assert 'min="0.10"' in stake and 'max="5.00"' in stake and 'step="0.01"' in stake
    assert 'inputmode="decimal"' in stake and "pattern" not in stake
    assert 'data-stake-levels="0.10 0.20 0.50 1.00 2.00 5.00"' in stake
    feed = re.search(r'<input[^>]*name="feed-amount"[^>]*>', html).group(0)
    assert "pattern" not in feed and 'inputmode="decimal"' in feed


def test_play_controls_are_disabled_with_the_reason_during_a_break(player_client, player, fruit):
    accounts_services.take_a_break(player=player, days=1)
    for page in (reverse("lobby"), fruit.get_absolute_url()):
        html = player_client.get(page).content.decode()
        assert 'data-testid="play-block-reason"' in html
        assert re.search(
            r'<button type="submit" class="primary" disabled aria-describedby="play-block-fruit-frenzy">', html
        )
        assert 'name="open-chip"' not in html  # no quick amounts to press
