"""Playing with bonus money on the casino's pages (issue 16 "Play" and "Pages").

The Play and feed forms offer "Use bonus funds after my cash" only to a player with bonus
money; a feed with it splits cash and bonus; a game with 0 % wagering contribution says so
before it is fed and refuses bonus money beside the field; the session page warns while
bonus money is in play, caps the stake input at the bonus maximum and shows a wagering
meter that the htmx spin answer redraws without a query more than its pinned limit.
"""

import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.selectors import balance_of
from casino import services
from casino.models import GameSession
from promotions.models import BonusGrant
from promotions.services import grant_bonus
from tests.factories import PlayerFactory
from tests.helpers.slots import force_reels

pytestmark = pytest.mark.django_db

D = Decimal
HTMX = {"HTTP_HX_REQUEST": "true"}
OPT_IN = "Use bonus funds after my cash"
NO_COUNT = "Does not count towards bonus wagering; bonus money cannot be played here."


def give_bonus(player, amount="5.00", *, multiple=2, max_stake="1.00", key="test"):
    return grant_bonus(
        player=player,
        amount=amount,
        wagering_multiple=multiple,
        expires_at=timezone.now() + timedelta(days=7),
        max_stake=max_stake,
        source_key=f"{key}:{player.pk}",
        source="Test bonus",
    )


def open_post(client, slug, **data):
    return client.post(reverse("session_open", args=[slug]), {f"open-{k}": v for k, v in data.items()})


def feed_post(client, session, headers=None, **data):
    url = reverse("session_feed", args=[session.pk])
    return client.post(url, {f"feed-{k}": v for k, v in data.items()}, **(headers or {}))


def spin_post(client, session, stake, key, **extra):
    data = {"spin-stake": stake, "spin-idempotency_key": key}
    if "meter" in extra:
        data["spin-meter"] = extra.pop("meter")
    return client.post(reverse("session_spin", args=[session.pk]), data, **extra)


def meter_token(html: str) -> str:
    return re.search(r'name="spin-meter" value="([^"]+)"', html).group(1)


@pytest.fixture
def low_cash(db):
    """A player with 3.00 of cash and a 5.00 bonus (wagering 2x = 10.00, maximum stake 1.00)."""
    player = PlayerFactory(balance="3.00")
    give_bonus(player)
    return player


@pytest.fixture
def low_client(client, low_cash):
    client.force_login(low_cash)
    return client


# --- the opt-in is offered only with bonus money ---------------------------------
def test_the_play_form_offers_bonus_only_to_a_player_with_bonus_money(player_client, player, fruit):
    html = player_client.get(fruit.get_absolute_url()).content.decode()
    assert OPT_IN not in html and 'name="open-use_bonus"' not in html
    assert OPT_IN not in player_client.get(reverse("lobby")).content.decode()

    give_bonus(player, "15.00")
    html = player_client.get(fruit.get_absolute_url()).content.decode()
    assert f'<label for="id_fruit-frenzy_open-use_bonus">{OPT_IN}</label>' in html
    assert 'type="checkbox" name="open-use_bonus"' in html
    html = player_client.get(reverse("lobby")).content.decode()
    assert html.count('name="open-use_bonus"') == 2  # one per game card
    assert 'data-testid="bonus-funds">€15.00<' in html


def test_quick_amounts_go_up_to_cash_plus_bonus_and_are_marked(low_client, fruit):
    html = low_client.get(fruit.get_absolute_url()).content.decode()
    # 3.00 cash + 5.00 bonus: the whole 8.00 as one quick amount (under the smallest, 10.00).
    chip = re.search(r'<button type="submit" name="open-chip" value="8.00"[^>]*>', html).group(0)
    assert "data-needs-bonus" in chip and "(cash, then bonus funds)" in chip


def test_a_spent_grant_offers_no_opt_in(player_client, player, fruit):
    grant = give_bonus(player)
    BonusGrant.objects.filter(pk=grant.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert OPT_IN not in player_client.get(fruit.get_absolute_url()).content.decode()


# --- feeding with bonus ---------------------------------------------------------
def test_opening_with_bonus_feeds_cash_first_then_bonus(low_client, low_cash, fruit, assert_reconciles):
    response = open_post(low_client, fruit.slug, amount="8.00", use_bonus="on", idempotency_key="o1")
    session = GameSession.objects.get(player=low_cash)
    assert response.status_code == 302 and response["Location"] == session.get_absolute_url()
    assert (session.balance, session.bonus_balance) == (D("3.00"), D("5.00"))
    assert balance_of(player=low_cash) == D("0.00")
    assert BonusGrant.objects.get(player=low_cash).balance == D("0.00")
    assert_reconciles()


def test_opening_without_the_opt_in_feeds_cash_only(low_client, low_cash, fruit):
    open_post(low_client, fruit.slug, amount="8.00", idempotency_key="o1")
    session = GameSession.objects.get(player=low_cash)
    assert (session.balance, session.bonus_balance) == (D("0.00"), D("0.00"))  # not fed: the cash is short
    assert BonusGrant.objects.get(player=low_cash).balance == D("5.00")


def test_the_feed_form_feeds_bonus_after_cash_and_says_so(low_client, low_cash, fruit, assert_reconciles):
    session = services.open_session(player=low_cash, game=fruit)
    html = low_client.get(session.get_absolute_url()).content.decode()
    assert 'name="feed-use_bonus"' in html and OPT_IN in html
    response = feed_post(low_client, session, amount="4.00", use_bonus="on", idempotency_key="f1", headers=HTMX)
    assert response.status_code == 200
    session.refresh_from_db()
    assert (session.balance, session.bonus_balance) == (D("3.00"), D("1.00"))
    body = response.content.decode()
    assert 'data-testid="session-bonus">€1.00<' in body  # the machine's bonus part, apart from the cash
    assert 'data-testid="session-balance">€3.00<' in body
    toasts = json.loads(response.headers["HX-Trigger"])["toast"]
    assert {"level": "success", "message": "Fed €4.00 into the machine (€1.00 of it bonus funds)."} in toasts
    assert_reconciles()


def test_feeding_more_bonus_than_there_is_is_an_error_beside_the_amount(low_client, low_cash, fruit):
    session = services.open_session(player=low_cash, game=fruit)
    response = feed_post(low_client, session, amount="9.00", use_bonus="on", idempotency_key="f1")
    assert response.status_code == 422
    html = response.content.decode()
    assert re.search(r'id="id_feed-amount_error"[^>]*>.*Your bonus holds €5.00', html, re.S)
    session.refresh_from_db()
    assert (session.balance, session.bonus_balance) == (D("0.00"), D("0.00"))


# --- a game with 0 % contribution -------------------------------------------------
@pytest.fixture
def no_count(fruit):
    fruit.wagering_contribution = 0
    fruit.save()
    return fruit


def test_a_zero_percent_game_says_so_on_the_game_page_lobby_and_play_form(player_client, player, no_count, diamond):
    html = player_client.get(no_count.get_absolute_url()).content.decode()
    assert f'data-testid="wagering-note">{NO_COUNT}<' in html
    lobby = player_client.get(reverse("lobby")).content.decode()
    assert f'data-testid="wagering-fruit-frenzy">{NO_COUNT}<' in lobby
    assert 'data-testid="wagering-diamond-sevens">counts 50 %<' in lobby
    assert 'data-testid="bonus-no-count"' not in html  # no bonus: no notice in the Play form

    give_bonus(player)
    html = player_client.get(no_count.get_absolute_url()).content.decode()
    assert f'data-testid="bonus-no-count">{NO_COUNT}<' in html
    assert 'name="open-use_bonus"' not in html  # bonus money cannot be played here: no opt-in
    diamond_html = player_client.get(diamond.get_absolute_url()).content.decode()
    assert 'name="open-use_bonus"' in diamond_html and "Diamond Sevens counts 50 %" in diamond_html


def test_bonus_money_fed_into_a_zero_percent_game_is_refused_beside_the_field(low_client, low_cash, no_count):
    session = services.open_session(player=low_cash, game=no_count)
    response = feed_post(low_client, session, amount="8.00", use_bonus="on", idempotency_key="f1")
    assert response.status_code == 422
    html = response.content.decode()
    assert re.search(r'id="id_feed-amount_error"[^>]*>.*Bonus money cannot be played on Fruit Frenzy', html, re.S)
    session.refresh_from_db()
    assert (session.balance, session.bonus_balance) == (D("0.00"), D("0.00"))
    assert balance_of(player=low_cash) == D("3.00")


def test_opening_a_zero_percent_game_with_bonus_shows_the_refusal_beside_the_feed(low_client, low_cash, no_count):
    response = open_post(low_client, no_count.slug, amount="8.00", use_bonus="on", idempotency_key="o1")
    assert response.status_code == 409
    html = response.content.decode()
    session = GameSession.objects.get(player=low_cash)  # the machine is open, unfed
    assert (session.balance, session.bonus_balance) == (D("0.00"), D("0.00"))
    assert re.search(r'id="id_feed-amount_error"[^>]*>.*does not count towards\s+wagering', html, re.S)
    assert f'action="{reverse("session_feed", args=[session.pk])}"' in html


# --- the session page: warning, maximum stake, meter --------------------------------
@pytest.fixture
def bonus_session(low_cash, fruit):
    """3.00 cash and 5.00 bonus in Fruit Frenzy (100 %): wagering required 10.00."""
    return services.open_and_feed(player=low_cash, game=fruit, amount="8.00", idempotency_key="o", use_bonus=True)


def test_the_session_page_warns_and_shows_the_maximum_stake_and_the_meter(low_client, bonus_session):
    html = low_client.get(bonus_session.get_absolute_url()).content.decode()
    assert (
        "You are playing with bonus funds:</strong> maximum stake €1.00; winnings from bonus stakes stay bonus" in html
    )
    assert 'data-testid="session-balance">€3.00<' in html and 'data-testid="session-bonus">€5.00<' in html
    assert '<progress id="bonus-meter-progress" max="10.0000" value="0.0000">' in html
    assert 'data-testid="bonus-wagered">€0.00<' in html and 'data-testid="bonus-required">€10.00<' in html
    assert '<label for="bonus-meter-progress">Bonus wagering</label>' in html
    # The stake input stops at the bonus maximum, and its label says so.
    stake = re.search(r'<input[^>]*name="spin-stake"[^>]*>', html).group(0)
    assert 'max="1.00"' in stake and 'data-stake-levels="0.10 0.20 0.50 1.00"' in stake
    assert "Stake (€0.10 – €1.00, the bonus maximum)" in html


def test_no_warning_or_meter_without_bonus(player_client, player, fruit):
    session = services.open_and_feed(player=player, game=fruit, amount="10", idempotency_key="o")
    html = player_client.get(session.get_absolute_url()).content.decode()
    assert "bonus-warning" not in html and "bonus-meter" not in html and 'name="spin-meter"' not in html
    assert "Stake (€0.10 – €5.00)" in html and 'max="5.00"' in html


def test_an_active_bonus_not_in_the_machine_still_warns(low_client, low_cash, fruit):
    session = services.open_and_feed(player=low_cash, game=fruit, amount="2.00", idempotency_key="o")
    html = low_client.get(session.get_absolute_url()).content.decode()
    assert "You have an active bonus:</strong> maximum stake €1.00;" in html
    assert 'data-testid="session-bonus">€0.00<' in html
    assert 'data-testid="bonus-meter"' in html  # the grant predates the session: its play counts


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_a_stake_above_the_bonus_maximum_is_a_form_error(low_client, bonus_session, htmx):
    extra = HTMX if htmx else {}
    response = spin_post(low_client, bonus_session, "2.00", "s1", **extra)
    assert response.status_code == 422
    html = response.content.decode()
    assert re.search(
        r'id="id_spin-stake_error"[^>]*>.*Bonus rule: while a bonus is active the maximum stake', html, re.S
    )
    bonus_session.refresh_from_db()
    assert bonus_session.spin_count == 0 and bonus_session.playable == D("8.00")


def test_the_htmx_spin_redraws_the_meter_and_bonus_out_of_band(
    low_client, bonus_session, monkeypatch, django_assert_max_num_queries
):
    html = low_client.get(bonus_session.get_absolute_url()).content.decode()
    token = meter_token(html)
    force_reels(monkeypatch, "lemon", "plum", "bell")  # a loss
    for n in range(4):  # 4 x 1.00: 3.00 of cash first, then 1.00 of bonus
        with django_assert_max_num_queries(10):  # the pinned limit (tests/casino/test_query_counts.py)
            response = spin_post(low_client, bonus_session, "1.00", f"s{n}", meter=token, **HTMX)
        assert response.status_code == 200
    body = response.content.decode()
    assert 'id="bonus-meter"' in body and 'hx-swap-oob="true" data-testid="bonus-meter"' in body
    assert '<progress id="bonus-meter-progress" max="10.0000" value="4.0000">' in body
    assert 'data-testid="bonus-wagered">€4.00<' in body and "(40 %)" in body
    assert 'id="session-bonus"' in body and 'data-testid="session-bonus">€4.00<' in body
    assert f'name="spin-meter" value="{token}"' in body  # the next spin carries it on
    bonus_session.refresh_from_db()
    assert (bonus_session.balance, bonus_session.bonus_balance) == (D("0.00"), D("4.00"))


def test_a_win_on_a_bonus_stake_stays_bonus_and_a_forged_meter_is_ignored(low_client, bonus_session, monkeypatch):
    low_client.get(bonus_session.get_absolute_url())
    force_reels(monkeypatch, "lemon", "plum", "bell")
    for n in range(3):  # the cash is gone
        spin_post(low_client, bonus_session, "1.00", f"c{n}", **HTMX)
    force_reels(monkeypatch, "cherry", "lemon", "plum")  # pays 2x
    response = spin_post(low_client, bonus_session, "1.00", "win", meter="forged:token", **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="session-bonus">€6.00<' in body  # 5.00 - 1.00 + 2.00: the win stays bonus
    assert 'id="bonus-meter"' not in body  # a token the server did not sign draws nothing
    bonus_session.refresh_from_db()
    assert (bonus_session.balance, bonus_session.bonus_balance) == (D("0.00"), D("6.00"))


def test_the_meter_is_capped_and_says_the_bonus_converts_on_leaving(low_client, low_cash, bonus_session, monkeypatch):
    html = low_client.get(bonus_session.get_absolute_url()).content.decode()
    token = meter_token(html)
    force_reels(monkeypatch, "cherry", "lemon", "plum")  # every spin pays 2x: the money lasts
    for n in range(11):  # 11.00 staked against 10.00 required
        response = spin_post(low_client, bonus_session, "1.00", f"w{n}", meter=token, **HTMX)
    body = response.content.decode()
    assert '<progress id="bonus-meter-progress" max="10.0000" value="10.0000">' in body
    assert "Wagering complete: the bonus becomes cash when you leave the machine." in body
    before = balance_of(player=low_cash)
    low_client.post(reverse("session_leave", args=[bonus_session.pk]))
    grant = BonusGrant.objects.get(player=low_cash)
    assert grant.status == BonusGrant.Status.COMPLETED and grant.converted > 0
    assert balance_of(player=low_cash) > before


def test_a_meter_token_from_another_session_is_ignored(low_client, low_cash, fruit, monkeypatch):
    first = services.open_and_feed(player=low_cash, game=fruit, amount="2.00", idempotency_key="a", use_bonus=True)
    token = meter_token(low_client.get(first.get_absolute_url()).content.decode())
    services.leave(session=first)
    second = services.open_and_feed(player=low_cash, game=fruit, amount="2.00", idempotency_key="b", use_bonus=True)
    force_reels(monkeypatch, "lemon", "plum", "bell")
    body = spin_post(low_client, second, "1.00", "s", meter=token, **HTMX).content.decode()
    assert 'id="bonus-meter"' not in body


def test_the_lobby_with_a_bonus_stays_within_its_query_budget(low_client, fruit, django_assert_max_num_queries):
    with django_assert_max_num_queries(12):  # as tests/casino/test_sessions_views.py pins it without a bonus
        response = low_client.get(reverse("lobby"))
    assert response.status_code == 200 and OPT_IN in response.content.decode()


@pytest.mark.parametrize("meter", ["\x00", "x" * 5000, "not:signed"], ids=["nul", "huge", "unsigned"])
def test_a_bad_meter_never_refuses_the_spin(low_client, bonus_session, meter):
    response = spin_post(low_client, bonus_session, "0.10", "bad", meter=meter, **HTMX)
    assert response.status_code == 200 and 'id="bonus-meter"' not in response.content.decode()
    bonus_session.refresh_from_db()
    assert bonus_session.spin_count == 1


def test_no_opt_in_once_the_machine_holds_all_the_bonus(low_client, bonus_session):
    """A feed takes bonus money only from the grant already in the machine: with all of it
    fed, the feed form offers cash only (the machine's bonus part still shows)."""
    html = low_client.get(bonus_session.get_absolute_url()).content.decode()
    assert 'name="feed-use_bonus"' not in html
    assert 'data-testid="session-bonus">€5.00<' in html
    assert "(and €5.00 back to your bonus)" in html and 'data-testid="header-machine-bonus">+ €5.00 bonus<' in html
