"""Sportsbook races with real threads against PostgreSQL (each thread its own connection)."""

import uuid
from decimal import Decimal

import pytest

from accounts.models import LedgerTransaction
from accounts.selectors import balance_of
from casino import services
from casino.exceptions import AlreadySettled, BettingClosed
from casino.models import Payout, SportEvent, Sportsbet
from casino.notices import take_unseen
from tests.conftest import run_in_threads
from tests.factories import PlayerFactory
from tests.helpers.sportsbook import bet, make_event, result_for, selections

pytestmark = pytest.mark.django_db(transaction=True)


def test_settle_same_event_from_four_threads_settles_once(assert_reconciles):
    """Proves: 4 concurrent settlements -> one succeeds, 3 AlreadySettled, one payout per winning bet."""
    event = make_event()
    home, _, away = selections(event)
    players = [PlayerFactory(balance="50.00") for _ in range(6)]
    winners = [bet(p, home, "5.00") for p in players[:4]]
    losers = [bet(p, away, "5.00") for p in players[4:]]

    results = run_in_threads(4, lambda i: services.settle_event(event=event, result=result_for(event, home)))

    assert sum(not isinstance(r, Exception) for r in results) == 1
    assert all(isinstance(r, AlreadySettled) for r in results if isinstance(r, Exception)), results
    assert SportEvent.objects.get(pk=event.pk).status == SportEvent.Status.SETTLED
    assert Payout.objects.count() == len(winners)
    assert set(Payout.objects.values_list("bet_id", flat=True)) == {b.pk for b in winners}
    assert set(Sportsbet.objects.filter(pk__in=[b.pk for b in losers]).values_list("status", flat=True)) == {"lost"}
    assert_reconciles()


def test_double_click_from_two_threads_places_one_bet(player):
    """Proves: the same idempotency key sent twice at once takes the stake once."""
    event = make_event()
    home, _, _ = selections(event)
    results = run_in_threads(2, lambda i: bet(player, home, "10.00", key="same-click"))
    assert not any(isinstance(r, Exception) for r in results), results
    assert results[0].pk == results[1].pk
    assert balance_of(player=player) == Decimal("90.00")
    assert LedgerTransaction.objects.filter(kind=LedgerTransaction.Kind.BET_STAKE).count() == 1


def test_bets_racing_the_settlement_are_either_settled_or_refused(assert_reconciles):
    """Proves: no bet is left open on a settled event (bets share-lock the event row)."""
    event = make_event()
    home, _, _ = selections(event)
    players = [PlayerFactory(balance="100.00") for _ in range(8)]

    def act(i: int):
        if i == 0:
            return services.settle_event(event=event, result=result_for(event, home))
        return [bet(players[i], home, "1.00", key=uuid.uuid4().hex) for _ in range(5)]

    results = run_in_threads(8, act)
    assert not any(isinstance(r, Exception) and not isinstance(r, BettingClosed) for r in results), results
    assert not Sportsbet.objects.filter(selection__market__event=event, status=Sportsbet.Status.OPEN).exists()
    assert Payout.objects.count() == Sportsbet.objects.filter(status=Sportsbet.Status.WON).count()
    assert_reconciles()


def test_pay_out_player_from_four_threads_pays_each_payout_once(player, assert_reconciles, monkeypatch):
    """Proves: concurrent payers (tasks redelivered, sweep + leave) credit each payout exactly once."""
    from casino.services import sportsbook

    monkeypatch.setattr(sportsbook, "_enqueue_payouts", lambda: None)  # keep them queued for the race
    event = make_event()
    home, _, _ = selections(event)
    for _ in range(10):
        bet(player, home, "2.00")
    services.settle_event(event=event, result=result_for(event, home))
    assert Payout.objects.filter(state=Payout.State.QUEUED).count() == 10

    results = run_in_threads(4, lambda i: services.pay_out_player(player=player))
    assert not any(isinstance(r, Exception) for r in results), results
    assert Payout.objects.filter(state=Payout.State.PAID).count() == 10
    assert LedgerTransaction.objects.filter(kind=LedgerTransaction.Kind.PAYOUT).count() == 10
    assert balance_of(player=player) == Decimal("100.00") - 20 + 40
    assert_reconciles()


def test_two_pages_loading_at_once_show_each_notice_once():
    """Proves: the notices' UPDATE … RETURNING hands each unseen notice to exactly one of 4 concurrent page views."""
    player = PlayerFactory(balance="100.00")
    event = make_event()
    home, _, _ = selections(event)
    placed = [bet(player, home, "1.00") for _ in range(3)]
    services.settle_event(event=event, result=result_for(event, home))

    results = run_in_threads(4, lambda i: take_unseen(player_id=player.pk))

    shown = [row[0] for r in results for row in r["settled"]]
    assert sorted(shown) == sorted(b.pk for b in placed)  # every notice once, none twice
