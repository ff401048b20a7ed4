"""Bonus money (issue 16) under real concurrency: real threads, own connections, PostgreSQL.

Each test says in one line what it proves: a grant's wagering is counted exactly once, no
grant converts or ends twice, no bonus money is made or lost, whoever wins the race.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone

from accounts.models import LedgerTransaction
from accounts.selectors import balance_of
from casino import services as casino
from casino.exceptions import BonusNotPlayable
from casino.models import Game, GameSession, Spin
from core.exceptions import ConcurrencyConflict
from promotions import services
from promotions.exceptions import BonusInPlay, BonusNotActive
from promotions.models import BonusGrant
from tests.conftest import run_in_threads
from tests.factories import PlayerFactory
from tests.promotions.test_bonus_rules import (
    CHERRY,
    LOSS,
    assert_conserved,
    force_reels,
    fresh,
    give_bonus,
    ledger_keys,
    sit,
    spins,
)
from tests.promotions.test_bonus_rules import fruit as fruit  # noqa: F401 - the fixture

D = Decimal
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def wait_past(moment) -> None:
    time.sleep(max(0.0, (moment - timezone.now()).total_seconds()) + 0.05)


def test_spins_from_eight_tabs_accumulate_every_stake_once_and_fold_once(fruit, assert_reconciles):
    """Proves: 8 threads spinning one bonus session lose no contribution (session total =
    sum of the spins' stakes x the game's %), and the leave folds it into the grant once."""
    Game.objects.filter(pk=fruit.pk).update(wagering_contribution=50)
    player = PlayerFactory(balance=D("20.00"))
    grant = give_bonus(player, "100.00", multiple=10, max_stake="1.00")  # needs 1000: never completes here
    session = sit(player, fruit, "60.00")  # 20 cash + 40 bonus
    tabs, each = 8, 15

    def tab(t: int) -> int:
        done = 0
        for n in range(each):
            key, stake = f"tab{t}-{n}", ("0.10", "0.20", "0.50")[n % 3]
            while True:
                try:
                    casino.spin(session=session, stake=stake, idempotency_key=key)
                    break
                except ConcurrencyConflict:  # the tab sends the same key again: at most one spin
                    continue
            done += 1
        return done

    results = run_in_threads(tabs, tab)
    assert results == [each] * tabs, results

    session = fresh(session)
    played = Spin.objects.filter(session=session)
    assert played.count() == session.spin_count == tabs * each
    staked = played.aggregate(t=Sum("stake"))["t"]
    assert session.total_staked == staked
    assert session.wagering_contribution == staked * 50 / 100
    assert session.bonus_staked == played.aggregate(t=Sum("bonus_stake"))["t"]

    closers = run_in_threads(3, lambda i: casino.leave(session=session))  # a leave sent from three tabs
    assert all(isinstance(r, GameSession) and not r.is_open for r in closers), closers
    grant = fresh(grant)
    assert grant.wagering_done == session.wagering_contribution  # once, not three times
    assert LedgerTransaction.objects.filter(idempotency_key=f"cashout:{session.pk}").count() == 1
    assert_reconciles()
    assert_conserved()


@pytest.mark.parametrize("rounds", [10])
def test_leave_racing_the_idle_sweep_and_an_expiry_counts_once(fruit, monkeypatch, assert_reconciles, rounds):
    """Proves: a leave, the idle sweep and the expiry beat racing on one session and its
    grants fold its wagering once, convert a completed grant once, expire the other once,
    and lose no money - over 10 rounds, whatever order the three land in."""
    force_reels(monkeypatch, *LOSS)
    outcomes = Counter()
    for r in range(rounds):
        player = PlayerFactory(balance=D("5.00"))
        # Oldest first: the expiring grant is drawn by the feed; the other two share the wagering.
        expiring = give_bonus(player, "10.00", multiple=5, expires_in=timedelta(seconds=1))
        small = give_bonus(player, "5.00", multiple=1)  # needs 5: completes and converts
        large = give_bonus(player, "10.00", multiple=1)  # needs 10: takes the 3 left over
        session = sit(player, fruit, "10.00")  # 5 cash + 5 bonus (from the expiring grant)
        assert (session.balance, session.bonus_balance, session.bonus_source) == (D("5"), D("5"), expiring.pk)
        spins(session, "4.00", "4.00")  # 8 staked: 5 cash, 3 bonus; 2 bonus left in the machine
        wait_past(expiring.expires_at)
        time.sleep(random.random() * 0.02)

        def racer(i: int, session=session):
            if i == 0:
                return casino.leave(session=session)
            if i == 1:
                return casino.close_idle_sessions(idle_for=timedelta(0))
            return services.expire_bonus_grants()

        results = run_in_threads(3, racer)
        assert not [x for x in results if isinstance(x, BaseException)], results

        session = fresh(session)
        outcomes[(session.close_reason, results[2])] += 1
        expiring, small, large = fresh(expiring), fresh(small), fresh(large)
        assert not session.is_open and session.bonus_returned == D("2.00"), r
        assert (expiring.status, expiring.balance, expiring.returned) == ("expired", 0, D("7.00")), r
        assert expiring.wagering_done == 0, r
        assert (small.status, small.wagering_done, small.converted) == ("completed", D("5"), D("5.00")), r
        assert (large.status, large.wagering_done, large.balance) == ("active", D("3"), D("10.00")), r
        assert ledger_keys(f"bonus-convert:{small.pk}") == [f"bonus-convert:{small.pk}"], r
        assert ledger_keys(f"bonus-convert:{large.pk}") == [] and ledger_keys(f"bonus-convert:{expiring.pk}") == []
        assert len(ledger_keys(f"bonus-end:{expiring.pk}")) <= 1, r
        assert LedgerTransaction.objects.filter(idempotency_key=f"cashout:{session.pk}").count() == 1
        assert balance_of(player=player) == D("5.00"), r  # 5 fed, 0 cash back, 5 converted
        assert_reconciles()
        assert_conserved()
    print(f"\nclose reason x grants the beat expired: {dict(outcomes)}")  # noqa: T201 - which orders ran


@pytest.mark.parametrize(
    ("multiple", "completes"),
    [pytest.param(10, False, id="grant-kept"), pytest.param(1, True, id="grant-converts")],
)
def test_a_forfeit_racing_a_leave_is_one_outcome_or_the_other(
    fruit, monkeypatch, assert_reconciles, multiple, completes
):
    """Proves: forfeit vs leave - either the forfeit is refused (BonusInPlay) and the leave
    keeps or converts the grant, or the leave lands first and the forfeit takes everything
    (or finds it converted); never both, and the books balance. 8 rounds."""
    force_reels(monkeypatch, *LOSS)
    seen = Counter()
    for r in range(8):
        player = PlayerFactory()
        grant = give_bonus(player, "10.00", multiple=multiple)  # 1x: needs 10 (the session stakes 10)
        fed = D("6.00") if completes else D("5.00")
        session = sit(player, fruit, fed)  # all bonus (no cash)
        if completes:  # a 2x win then a loss: 10 wagered, 6 bonus still in the machine
            force_reels(monkeypatch, *CHERRY)
            spins(session, "5.00")
            force_reels(monkeypatch, *LOSS)
            spins(session, "5.00")
        else:
            spins(session, "2.00")
        left_in_machine = fresh(session).bonus_balance
        assert left_in_machine > 0

        def racer(i: int, session=session, grant=grant):
            if i == 0:
                return casino.leave(session=session)
            time.sleep(random.random() * 0.03)  # lands before, during or after the leave
            return services.forfeit_bonus(grant=grant)

        left, forfeit = run_in_threads(2, racer)
        assert isinstance(left, GameSession) and not left.is_open, left
        grant = fresh(grant)
        holds = D("10.00") - fed + left_in_machine
        if isinstance(forfeit, BonusInPlay):  # the forfeit first: refused, the leave then folds
            if completes:
                assert (grant.status, grant.converted) == ("completed", holds), r
            else:
                assert (grant.status, grant.balance, grant.wagering_done) == ("active", holds, D("2")), r
            assert ledger_keys(f"bonus-end:{grant.pk}") == [], r
            seen["forfeit refused"] += 1
        elif isinstance(forfeit, BonusNotActive):  # the leave converted it first
            assert completes and (grant.status, grant.converted) == ("completed", holds), r
            seen["forfeit too late"] += 1
        else:  # the leave first, then the forfeit took everything
            assert isinstance(forfeit, BonusGrant), forfeit
            assert not completes, "a completed grant converts on leaving: nothing left to forfeit"
            assert (grant.status, grant.balance, grant.returned) == ("forfeited", 0, holds), r
            assert ledger_keys(f"bonus-convert:{grant.pk}") == [], r
            seen["forfeited after leave"] += 1
        assert len(ledger_keys(f"bonus-convert:{grant.pk}")) + len(ledger_keys(f"bonus-end:{grant.pk}")) <= 1
        assert_reconciles()
        assert_conserved()
    print(f"\n{dict(seen)}")  # noqa: T201 - which orders ran


def test_two_bonus_feeds_at_once_never_draw_more_than_the_grant_holds(fruit, assert_reconciles):
    """Proves: two feeds racing to draw 7 each from one 10.00 grant: one is fed, the other
    refused; the machine never holds more bonus than the grant had. 8 rounds."""
    for r in range(8):
        player = PlayerFactory()
        grant = give_bonus(player, "10.00", multiple=5)
        session = casino.open_session(player=player, game=fruit)

        def feeder(i: int, session=session):
            return casino.feed(session=session, amount="7.00", idempotency_key=f"tab{i}", use_bonus=True)

        results = run_in_threads(2, feeder)
        kinds = sorted(type(x).__name__ for x in results)
        assert kinds == ["BonusNotPlayable", "LedgerTransaction"], (r, results)
        assert any(isinstance(x, BonusNotPlayable) and "not enough" in x.message for x in results)
        session, grant = fresh(session), fresh(grant)
        assert (session.bonus_balance, grant.balance) == (D("7.00"), D("3.00")), r
        assert session.bonus_fed == D("7.00") and session.total_fed == D("7.00")
        assert_reconciles()
        assert_conserved()
