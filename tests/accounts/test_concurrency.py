from decimal import Decimal

import pytest

from accounts import selectors, services
from accounts.exceptions import InsufficientFunds
from accounts.models import LedgerTransaction
from accounts.reconcile import reconcile
from core import metrics
from core.exceptions import ConcurrencyConflict
from tests.conftest import run_in_threads
from tests.factories import PlayerFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_16_threads_x_50_withdrawals_never_overdraw():
    """Proves: optimistic versioning never lets concurrent withdrawals drive an account below zero,
    and every withdrawal either happened completely or not at all (refused, or conflict after retries)."""
    player = PlayerFactory(balance="300.00")
    metrics.reset_local()

    def worker(i):
        outcome = {"done": 0, "refused": 0, "conflict": 0}
        for n in range(50):
            try:
                services.withdraw(player=player, amount="1.00", idempotency_key=f"t{i}-{n}")
                outcome["done"] += 1
            except InsufficientFunds:
                outcome["refused"] += 1
            except ConcurrencyConflict:
                outcome["conflict"] += 1
        return outcome

    results = run_in_threads(16, worker)
    assert all(isinstance(r, dict) for r in results), results
    done = sum(r["done"] for r in results)
    assert sum(sum(r.values()) for r in results) == 16 * 50
    withdrawn = LedgerTransaction.objects.filter(kind="withdrawal").count()
    assert done == withdrawn <= 300
    assert done > 0
    assert selectors.balance_of(player=player) == Decimal("300.00") - done
    assert selectors.balance_of(player=player) >= 0
    assert metrics.local_counts().get("conflict:accounts.account", 0) > 0  # the race really happened
    report = reconcile()
    assert report.ok, report.lines()


def test_concurrent_deposits_lose_no_update():
    """Proves: under 12 concurrent depositors every acknowledged deposit is in the balance (no lost update)."""
    player = PlayerFactory()

    def worker(i):
        acknowledged = 0
        for n in range(10):
            try:
                services.deposit(player=player, amount="2.50", idempotency_key=f"d{i}-{n}")
                acknowledged += 1
            except ConcurrencyConflict:
                pass  # refused cleanly after bounded retries: moved nothing
        return acknowledged

    results = run_in_threads(12, worker)
    assert all(isinstance(r, int) for r in results), results
    acknowledged = sum(results)
    assert acknowledged >= 60  # most get through; the rest were refused, not lost
    assert selectors.balance_of(player=player) == Decimal("2.50") * acknowledged
    assert LedgerTransaction.objects.filter(kind="deposit").count() == acknowledged
    assert reconcile().ok


def test_same_idempotency_key_at_the_same_instant_moves_money_once():
    """Proves: a double-submit racing on one key posts one transaction."""
    player = PlayerFactory()
    results = run_in_threads(8, lambda i: services.deposit(player=player, amount="7.00", idempotency_key="click"))
    assert len({r.pk for r in results}) == 1, results
    assert selectors.balance_of(player=player) == Decimal("7.00")
    assert LedgerTransaction.objects.filter(idempotency_key__endswith=":click").count() == 1


def test_a_postgresql_deadlock_is_retried_as_a_lost_race():
    """Proves: a deadlock victim (SQLSTATE 40P01) is rolled back and re-run by retry_on_conflict, not a 500."""
    import threading

    from django.db import connection, transaction

    from accounts.models import Account
    from core.versioning import retry_on_conflict

    a, b = PlayerFactory(balance="10"), PlayerFactory(balance="10")
    ids = [Account.objects.get(user=a).pk, Account.objects.get(user=b).pk]
    both_locked_first = threading.Barrier(2)
    attempts = [0, 0]

    def worker(i):
        first, second = (ids[0], ids[1]) if i == 0 else (ids[1], ids[0])

        def op():
            attempts[i] += 1
            with transaction.atomic():
                with connection.cursor() as cur:
                    cur.execute("UPDATE accounts_account SET balance = balance + 1 WHERE id = %s", [first])
                    if attempts[i] == 1:
                        both_locked_first.wait(timeout=10)  # each holds one row: opposite order -> deadlock
                    cur.execute("UPDATE accounts_account SET balance = balance - 1 WHERE id = %s", [second])
            return "ok"

        return retry_on_conflict(op, base_delay=0.01)

    results = run_in_threads(2, worker)
    assert results == ["ok", "ok"], results
    assert sorted(attempts) == [1, 2]  # exactly one victim, re-run once
    assert metrics.shared_counts().get("retry:postgresql.40P01", 0) >= 1
