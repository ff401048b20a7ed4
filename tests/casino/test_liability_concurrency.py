"""Liability limits under a storm of bets on one selection: 32 real threads against PostgreSQL."""

import random
import uuid
from decimal import Decimal

import pytest

from casino.exceptions import LiabilityLimitReached
from casino.models import Selection, Sportsbet
from casino.models.sportsbook import LiabilityShard
from casino.services import liability
from tests.conftest import run_in_threads
from tests.factories import PlayerFactory
from tests.helpers.db import while_uncommitted
from tests.helpers.sportsbook import bet, limited_selection, make_event, open_exposure_sum, selections

pytestmark = pytest.mark.django_db(transaction=True)

D = Decimal
BETTORS = 32


def test_strict_limit_is_never_exceeded_by_32_concurrent_bettors(assert_reconciles):
    """Proves: 32 threads betting on one strict selection until refused with nothing left never pass
    the limit, fill it to the cent (no refusal from fragmentation), and the shards equal the bets."""
    limit = D("150.00")
    home = limited_selection(limit=limit, mode=Selection.LiabilityMode.STRICT)
    players = [PlayerFactory(balance="300.00") for _ in range(BETTORS)]

    def storm(i: int):
        rng = random.Random(i)
        placed, refusals = 0, []
        stake = D(rng.randint(100, 999)) / 100
        for _ in range(60):
            try:
                bet(players[i], home, stake, key=uuid.uuid4().hex)
                placed += 1
                stake = D(rng.randint(100, 999)) / 100
            except LiabilityLimitReached as refused:
                assert refused.max_stake < stake  # a refusal always offers less than was asked
                refusals.append(refused.max_stake)
                if refused.max_stake == 0:
                    break
                stake = refused.max_stake  # take the offer (another bettor may take it first)
        return placed, refusals

    results = run_in_threads(BETTORS, storm)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, [(type(e).__name__, getattr(e, "label", ""), str(e.__cause__)[:200]) for e in errors][:3]
    assert all(refusals and refusals[-1] == 0 for _, refusals in results)  # everybody ended on "full"

    reserved = liability.liability_of(home)
    assert open_exposure_sum(home) == reserved == limit  # never over, and filled to the cent
    caps = liability.shard_caps(max_liability=limit)
    shards = list(LiabilityShard.objects.filter(selection=home).order_by("shard"))
    assert len(shards) == len(caps)
    assert all(s.reserved <= cap for s, cap in zip(shards, caps, strict=True))
    assert sum(placed for placed, _ in results) == Sportsbet.objects.filter(selection=home).count()
    assert_reconciles()


def test_overbook_overshoot_is_bounded_and_reported(assert_reconciles, record_property):
    """Proves: overbook (an unlocked read of the sum) can pass the limit only by the bets that read
    the same sum at once: at most (bettors - 1) x one bet's exposure; the figure is reported."""
    limit, stake = D("100.00"), D("10.00")  # exposure 10.00 per bet at 2.00: the limit holds 10 bets
    home = limited_selection(limit=limit, mode=Selection.LiabilityMode.OVERBOOK)
    players = [PlayerFactory(balance="50.00") for _ in range(BETTORS)]

    def one_bet(i: int):
        try:
            return bet(players[i], home, stake, key=uuid.uuid4().hex)
        except LiabilityLimitReached as refused:
            return refused

    results = run_in_threads(BETTORS, one_bet)
    unexpected = [r for r in results if isinstance(r, BaseException) and not isinstance(r, LiabilityLimitReached)]
    assert not unexpected, unexpected
    accepted = sum(isinstance(r, Sportsbet) for r in results)
    reserved = liability.liability_of(home)
    assert reserved == open_exposure_sum(home) == accepted * stake
    overshoot = max(D("0.00"), reserved - limit)
    record_property("overbook_overshoot", str(overshoot))
    print(f"overbook: {accepted} of {BETTORS} bets accepted, liability {reserved} of {limit}, overshoot {overshoot}")
    assert accepted >= 10  # the limit's room is used
    assert overshoot <= (BETTORS - 1) * stake
    with pytest.raises(LiabilityLimitReached):  # once the sum is known to be over, nothing more
        bet(players[0], home, "0.01")
    assert_reconciles()


def test_strict_release_and_bets_racing_keep_the_sum_exact(assert_reconciles):
    """Proves: releases (early cash-outs) racing bets on a full strict selection keep shards == bets
    and never let the sum pass the limit."""
    limit = D("40.00")
    home = limited_selection(limit=limit, mode=Selection.LiabilityMode.STRICT)
    players = [PlayerFactory(balance="100.00") for _ in range(16)]
    for i in range(4):
        bet(players[i], home, "10.00")  # full: 4 x 10.00 exposure
    to_release = list(Sportsbet.objects.filter(selection=home).order_by("id"))

    def act(i: int):
        if i < 4:  # give a bet's exposure back, as an early cash-out does, in its own transaction
            from django.db import transaction

            with transaction.atomic():
                Sportsbet.objects.filter(pk=to_release[i].pk).update(status=Sportsbet.Status.CASHED_OUT)
                return liability.release(selection=home, exposure=D("10.00"))
        try:
            return bet(players[i], home, "5.00", key=uuid.uuid4().hex)
        except LiabilityLimitReached as refused:
            return refused

    results = run_in_threads(16, act)
    assert not [r for r in results if isinstance(r, BaseException) and not isinstance(r, LiabilityLimitReached)]
    assert results[:4] == [D("10.00")] * 4
    reserved = liability.liability_of(home)
    assert reserved == open_exposure_sum(home) <= limit


@pytest.mark.parametrize("counter", ["naive", "locked"])
def test_the_bench_single_row_counters_hold_the_limit_too(counter, monkeypatch, assert_reconciles):
    """Proves: the bench's two one-row baselines (bench.naive_liability: the optimistic
    compare-and-set and the row-locked in-place UPDATE) never pass the limit and equal their bets
    under 16 racing bettors, and a bet that loses every race moves no money: the liability_storm
    ratios compare like with like."""
    from bench import naive_liability
    from core.exceptions import ConcurrencyConflict

    limit, stake = D("100.00"), D("10.00")  # exposure 10.00 a bet at 2.00: room for 10 bets
    home = limited_selection(limit=limit, mode=Selection.LiabilityMode.STRICT)
    naive_liability.prepare(selection_id=home.pk)
    monkeypatch.setattr(liability, "reserve", naive_liability.RESERVE[counter])
    players = [PlayerFactory(balance="40.00") for _ in range(16)]

    def storm(i: int):
        outcomes = []
        for _ in range(4):
            try:
                bet(players[i], home, stake, key=uuid.uuid4().hex)
                outcomes.append("placed")
            except LiabilityLimitReached:
                outcomes.append("refused")
                break
            except ConcurrencyConflict:  # lost every race (the versioned counter only)
                outcomes.append("lost")
        return outcomes

    results = run_in_threads(16, storm)
    assert not [r for r in results if isinstance(r, BaseException)], results
    outcomes = [o for r in results for o in r]
    assert outcomes.count("placed") == 10  # 64 attempts for room for 10: filled, never over
    assert "refused" in outcomes
    if counter == "locked":
        assert "lost" not in outcomes  # in-place: a bet waits, it never loses a race
    row = LiabilityShard.objects.get(selection=home, shard=0)
    assert row.reserved == open_exposure_sum(home) == limit == liability.liability_of(home)
    for player, r in zip(players, results, strict=True):
        player.account.refresh_from_db()
        assert player.account.balance == D("40.00") - stake * r.count("placed")  # a lost bet took nothing
    assert_reconciles()


@pytest.mark.parametrize("kind", ["single", "accumulator"])
def test_a_bet_starting_while_a_first_limit_is_uncommitted_is_counted(kind, player, assert_reconciles):
    """Proves: a bet (a single, or an accumulator with a leg on the selection) that starts while a
    trader's first limit on the selection is written but not committed waits for it, then reserves
    under it: the shards equal the open bets' exposure (a bet that kept the 'no limit' it read
    before would have reserved nothing)."""
    from casino import services

    home, _, _ = selections(make_event(odds=("2.00", "3.50", "4.00")))
    other, _, _ = selections(make_event(name="Other FC vs Elsewhere", odds=("1.50", "3.50", "4.00")))
    earlier = bet(player, home, D("5.00"))  # before any limit: counted by the rebuild

    def place():
        if kind == "single":
            return bet(player, home, D("10.00"))
        # 2.00 x 1.50 = 3.00: exposure 20.00, all of it on each leg's selection
        return services.place_accumulator(
            player=player, selections=[home, other], stake=D("10.00"), idempotency_key=uuid.uuid4().hex
        )

    waited, outcome = while_uncommitted(
        lambda: liability.set_max_liability(selection=home, max_liability=D("100.00")), place
    )

    assert waited, outcome  # blocked on the market row
    assert isinstance(outcome, Sportsbet) and outcome.pk != earlier.pk, outcome
    expected = D("15.00") if kind == "single" else D("25.00")
    assert liability.liability_of(home) == expected
    assert liability.open_exposure(home) == expected  # the app's own sum over singles and accumulators
    assert_reconciles()
