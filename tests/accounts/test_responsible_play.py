"""Self-exclusion against the game and sportsbook services, and the reality check."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts import selectors
from accounts.exceptions import PlayerBlocked
from accounts.services import responsible
from casino import selectors as casino_selectors
from casino import services as casino
from casino.demo import load_demo_games
from casino.models import GameSession, Payout
from casino.services.sportsbook import create_match_event

D = Decimal


@pytest.fixture
def game(db):
    return load_demo_games()[0]


def _played_for(session, minutes: int) -> None:
    GameSession.objects.filter(pk=session.pk).update(created_at=timezone.now() - timedelta(minutes=minutes, seconds=5))


def test_self_exclusion_closes_and_cashes_out_the_open_session_then_blocks_play(
    player, game, assert_reconciles, django_capture_on_commit_callbacks
):
    session = casino.open_session(player=player, game=game)
    casino.feed(session=session, amount=D("40.00"), idempotency_key="feed-1")
    casino.spin(session=session, stake=game.min_stake, idempotency_key="spin-1")
    with django_capture_on_commit_callbacks(execute=True):
        responsible.self_exclude(player=player, days=30)
    session.refresh_from_db()
    assert session.status == GameSession.Status.CLOSED
    assert session.close_reason == GameSession.CloseReason.EXCLUSION
    assert session.balance == 0
    assert selectors.balance_of(player=player) == D("60.00") + session.cashed_out

    with pytest.raises(PlayerBlocked):
        casino.open_session(player=player, game=game)
    with pytest.raises(PlayerBlocked):
        casino.feed(session=session, amount=D("5.00"), idempotency_key="feed-2")
    event = create_match_event(name="Home v Away", home="Home", away="Away", odds=("2.00", "3.20", "3.50"))
    with pytest.raises(PlayerBlocked):
        casino.place_sportsbet(
            player=player, selection=event.markets.get().selections.first(), stake=D("5.00"), idempotency_key="bet"
        )
    assert_reconciles()


def test_a_break_closes_the_open_session_as_a_break_not_as_self_exclusion(player, game, assert_reconciles):
    session = casino.open_session(player=player, game=game)
    casino.feed(session=session, amount=D("10.00"), idempotency_key="feed-1")
    responsible.self_exclude(player=player, days=1, kind="break")
    session.refresh_from_db()
    assert session.status == GameSession.Status.CLOSED
    assert session.close_reason == GameSession.CloseReason.BREAK
    assert session.get_close_reason_display() == "Player's break"
    assert session.cashed_out == D("10.00")


def test_queued_payouts_still_pay_out_during_an_exclusion(
    player, assert_reconciles, django_capture_on_commit_callbacks
):
    event = create_match_event(name="Reds v Blues", home="Reds", away="Blues", odds=("2.00", "3.00", "4.00"))
    market = event.markets.get()
    home = market.selections.first()
    bet = casino.place_sportsbet(player=player, selection=home, stake=D("10.00"), idempotency_key="b1")
    responsible.self_exclude(player=player, days=30)
    with django_capture_on_commit_callbacks(execute=True):
        casino.settle_event(event=event, result={market.pk: home.pk})
    casino.pay_out_player(player=player)
    assert Payout.objects.get(bet=bet).state == Payout.State.PAID
    assert selectors.balance_of(player=player) == D("110.00")
    assert_reconciles()


def test_reality_check_reports_time_played_and_net_result(player, game, settings):
    settings.REALITY_CHECK_MINUTES = 30
    assert casino_selectors.reality_check(player=player) is None
    session = casino.open_session(player=player, game=game)
    casino.feed(session=session, amount=D("20.00"), idempotency_key="f")
    for i in range(3):
        casino.spin(session=session, stake=game.min_stake, idempotency_key=f"s{i}")
    _played_for(session, 31)
    check = casino_selectors.reality_check(player=player)
    session.refresh_from_db()
    assert check.session.pk == session.pk
    assert check.played_minutes == 31 and check.checkpoint == 1
    assert check.net == session.total_won - session.total_staked
    assert session.total_staked == game.min_stake * 3


def test_reality_check_endpoint_reminds_every_n_minutes_until_acknowledged(player, player_client, game, settings):
    settings.REALITY_CHECK_MINUTES = 30
    htmx = {"HTTP_HX_REQUEST": "true"}
    response = player_client.get("/responsible/reality-check/", **htmx)
    assert response.status_code == 286  # no open session: htmx stops polling

    session = casino.open_session(player=player, game=game)
    response = player_client.get("/responsible/reality-check/", **htmx)
    assert response.status_code == 200
    assert b'hx-trigger="every 60s"' in response.content and b"Reality check" not in response.content

    _played_for(session, 30)
    response = player_client.get("/responsible/reality-check/", **htmx)
    assert b"Reality check" in response.content and b"30 minutes" in response.content
    assert 'data-testid="reality-net">€0.00<' in response.content.decode()

    response = player_client.post("/responsible/reality-check/", **htmx)  # "Keep playing"
    assert b"Reality check" not in response.content and b"every 60s" in response.content
    assert b"Reality check" not in player_client.get("/responsible/reality-check/", **htmx).content

    _played_for(session, 61)
    assert b"61 minutes" in player_client.get("/responsible/reality-check/", **htmx).content


def test_reality_check_works_without_htmx(player, player_client, game):
    casino.open_session(player=player, game=game)
    response = player_client.get("/responsible/reality-check/")
    assert response.status_code == 200 and b"Time played" in response.content
    response = player_client.post("/responsible/reality-check/")
    assert response.status_code == 302


def test_reality_check_only_sees_the_players_own_session(player, other_player, client, game):
    casino.open_session(player=player, game=game)
    client.force_login(other_player)
    response = client.get("/responsible/reality-check/", HTTP_HX_REQUEST="true")
    assert response.status_code == 286 and b"Reality check" not in response.content
