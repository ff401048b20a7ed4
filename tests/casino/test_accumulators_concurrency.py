"""Accumulator races with real threads against PostgreSQL (each thread its own connection)."""

import uuid
from decimal import Decimal

import pytest

from accounts.models import LedgerTransaction
from accounts.selectors import balance_of
from casino import services
from casino.exceptions import BettingClosed
from casino.models import BetLeg, Payout, Sportsbet
from casino.models.sportsbook import Notice
from tests.conftest import run_in_threads
from tests.factories import PlayerFactory
from tests.helpers.sportsbook import make_event, result_for, selections

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 4


def _acca(player, legs, stake="10.00", key=None):
    return services.place_accumulator(
        player=player, selections=legs, stake=stake, idempotency_key=key or uuid.uuid4().hex
    )


@pytest.mark.parametrize("second_leg", ["won", "lost", "void"])
def test_two_events_of_one_accumulator_settled_at_once_settle_it_once(assert_reconciles, second_leg):
    """Proves: two traders settling two events of the same accumulators at the same instant settle each
    bet exactly once with at most one payout (the bet row lock makes the second settler see the first's leg)."""
    for n in range(ROUNDS):
        first, second = (make_event(name=f"Round {n} match {i}") for i in (1, 2))
        players = [PlayerFactory(balance="50.00") for _ in range(3)]
        accas = [_acca(p, [selections(first)[0], selections(second)[0]]) for p in players]
        winner = {"won": selections(second)[0], "lost": selections(second)[2], "void": "void"}[second_leg]
        jobs = [(first, result_for(first, selections(first)[0])), (second, result_for(second, winner))]

        outcome = run_in_threads(2, lambda i, jobs=jobs: services.settle_event(event=jobs[i][0], result=jobs[i][1]))

        assert not any(isinstance(r, Exception) for r in outcome), outcome
        bets = Sportsbet.objects.filter(pk__in=[a.pk for a in accas])
        expected = {"won": "won", "lost": "lost", "void": "won"}[second_leg]
        assert set(bets.values_list("status", flat=True)) == {expected}, (n, second_leg)
        assert not BetLeg.objects.filter(bet__in=bets, result="pending").exists()
        payouts = Payout.objects.filter(bet__in=bets)
        assert payouts.count() == (0 if second_leg == "lost" else len(accas))
        amount = {"won": Decimal("40.00"), "lost": None, "void": Decimal("20.00")}[second_leg]
        assert all(p.amount == amount for p in payouts)
        assert Notice.objects.filter(bet__in=bets, kind=Notice.Kind.BET_SETTLED).count() == len(accas)
        # the two settlements' reports together count each bet once
        assert sum(r.won + r.lost + r.void for r in outcome) == len(accas)
    assert_reconciles()


def test_double_submit_of_a_place_takes_the_stake_once(player, assert_reconciles):
    """Proves: the same accumulator key posted from 4 threads at once places one bet and one debit."""
    legs = [selections(make_event(name=f"Match {i}"))[0] for i in range(3)]
    results = run_in_threads(4, lambda i: _acca(player, legs, key="same-slip"))
    assert not any(isinstance(r, Exception) for r in results), results
    assert len({r.pk for r in results}) == 1
    assert Sportsbet.objects.count() == 1 and BetLeg.objects.count() == 3
    assert balance_of(player=player) == Decimal("90.00")
    assert LedgerTransaction.objects.filter(kind=LedgerTransaction.Kind.BET_STAKE).count() == 1
    assert_reconciles()


def test_accumulators_racing_the_settlement_of_a_leg_are_settled_or_refused(assert_reconciles):
    """Proves: an accumulator placed while one of its events is being settled either committed first (its
    leg settled with the event) or is refused: no accumulator is left with a pending leg on a settled event."""
    first, second = make_event(name="Settling now"), make_event(name="Later")
    players = [PlayerFactory(balance="100.00") for _ in range(6)]
    legs = [selections(first)[2], selections(second)[0]]  # the first event's leg loses

    def act(i: int):
        if i == 0:
            return services.settle_event(event=first, result=result_for(first, selections(first)[0]))
        return [_acca(players[i], legs, stake="1.00") for _ in range(4)]

    results = run_in_threads(6, act)
    assert not any(isinstance(r, Exception) and not isinstance(r, BettingClosed) for r in results), results
    assert not BetLeg.objects.filter(event=first, result="pending").exists()
    assert not Sportsbet.objects.filter(kind="accumulator", status="open").exists()  # every one lost at once
    assert_reconciles()
