"""Deposit limits hold under real concurrency (threads, each with its own connection)."""

from decimal import Decimal

import pytest

from accounts import selectors, services
from accounts.exceptions import DepositLimitExceeded, PlayerBlocked
from accounts.services import responsible
from tests.conftest import run_in_threads
from tests.factories import PlayerFactory

D = Decimal


@pytest.mark.django_db(transaction=True)
def test_two_deposits_racing_past_the_limit_do_not_both_succeed(assert_reconciles):
    """Proves: two simultaneous deposits that each fit but together exceed the limit -> exactly one lands."""
    for round_ in range(5):
        player = PlayerFactory()
        responsible.set_deposit_limits(player=player, daily=D("100.00"))
        results = run_in_threads(
            2, lambda i, p=player, r=round_: services.deposit(player=p, amount=D("60.00"), idempotency_key=f"r{r}-{i}")
        )
        refused = [r for r in results if isinstance(r, DepositLimitExceeded)]
        assert len(refused) == 1, results
        assert refused[0].remaining == D("40.00")
        assert selectors.balance_of(player=player) == D("60.00")
    assert_reconciles()


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_many_small_deposits_racing_never_exceed_the_limit(assert_reconciles):
    """Proves: 6 threads of 30.00 against a 100.00 limit -> exactly 3 land, the total never passes the limit."""
    player = PlayerFactory()
    responsible.set_deposit_limits(player=player, daily=D("100.00"), weekly=D("500.00"))
    results = run_in_threads(
        6, lambda i: services.deposit(player=player, amount=D("30.00"), idempotency_key=f"many-{i}")
    )
    assert sum(1 for r in results if isinstance(r, DepositLimitExceeded)) == 3, results
    assert selectors.balance_of(player=player) == D("90.00")
    assert_reconciles()


@pytest.mark.django_db(transaction=True)
def test_deposit_racing_a_self_exclusion_is_either_before_it_or_refused(assert_reconciles):
    """Proves: a deposit never commits after an exclusion that committed before the deposit's check passed."""
    player = PlayerFactory()
    responsible.set_deposit_limits(player=player, daily=D("1000.00"))

    def act(i):
        if i == 0:
            return responsible.self_exclude(player=player, days=30)
        return services.deposit(player=player, amount=D("10.00"), idempotency_key=f"ex-{i}")

    results = run_in_threads(3, act)
    assert not any(isinstance(r, Exception) and not isinstance(r, PlayerBlocked) for r in results), results
    landed = sum(1 for r in results[1:] if not isinstance(r, Exception))
    assert selectors.balance_of(player=player) == D("10.00") * landed
    with pytest.raises(PlayerBlocked):
        services.deposit(player=player, amount=D("10.00"), idempotency_key="after")
    assert_reconciles()
