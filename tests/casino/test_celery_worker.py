"""Payouts paid by a REAL Celery worker process (Redis broker, the test database).

Each test starts ``celery -A casino worker`` (tests/helpers/celery.py) and
drives it the way production does: services commit, ``on_commit`` enqueues,
the worker pays. Nothing here is eager.
"""

from decimal import Decimal

import pytest
from django.db import connection, transaction

from accounts.models import Account, LedgerTransaction
from accounts.selectors import balance_of
from casino import services
from casino.models import Payout
from casino.tasks import pay_out_player
from tests.helpers.celery import celery_worker, celery_worker_factory, purge_broker  # noqa: F401
from tests.helpers.sportsbook import bet, make_event, make_game, result_for, selections

pytestmark = [pytest.mark.celery, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SWEEP = "casino.tasks.sweep_payouts"
PAY = "casino.tasks.pay_out_player"


def state_of(payout_id: int) -> str:
    return Payout.objects.values_list("state", flat=True).get(pk=payout_id)


def assert_paid_exactly_once(payouts, assert_reconciles) -> None:
    for payout in payouts:
        assert state_of(payout.pk) == Payout.State.PAID
        assert LedgerTransaction.objects.filter(idempotency_key=f"payout:{payout.pk}").count() == 1
    assert_reconciles()


def winning_payouts(player, count: int, stake: str = "1.00") -> list[Payout]:
    """``count`` bets by ``player`` on one event, all won (settled with no worker listening yet)."""
    event = make_event(odds=("2.00", "3.00", "4.00"))
    home, _, _ = selections(event)
    bets = [bet(player, home, stake) for _ in range(count)]
    services.settle_event(event=event, result=result_for(event, home))
    return list(Payout.objects.filter(bet__in=bets).order_by("id"))


def test_settle_then_leave_the_session_and_the_worker_pays(
    celery_worker,  # noqa: F811
    player,
    assert_reconciles,
):
    worker = celery_worker
    """The sweep after settlement skips a player at a machine; leaving pays them within seconds."""
    event = make_event()
    home, _, _ = selections(event)
    placed = bet(player, home, "10.00")
    session = services.open_session(player=player, game=make_game())

    services.settle_event(event=event, result=result_for(event, home))  # on_commit: sweep_payouts.delay()
    worker.wait(lambda: worker.succeeded(SWEEP) >= 1, what="the post-settlement sweep")
    payout = Payout.objects.get(bet=placed)
    assert state_of(payout.pk) == Payout.State.QUEUED
    assert balance_of(player=player) == Decimal("90.00")

    services.leave(session=session)  # on_commit: pay_out_player.delay(player.pk)
    worker.wait(lambda: state_of(payout.pk) == Payout.State.PAID, timeout=10, what="the payout after leaving")
    assert balance_of(player=player) == Decimal("110.00")
    assert_paid_exactly_once([payout], assert_reconciles)


def test_pay_out_player_twice_concurrently_pays_once(
    celery_worker_factory,  # noqa: F811
    player,
    assert_reconciles,
):
    """Two worker processes and the test thread pay the same player at once: every payout paid once."""
    worker = celery_worker_factory(start=False, pool="prefork", concurrency=2)
    payouts = winning_payouts(player, 40)
    purge_broker()  # the post-settlement sweep message: this test sends its own
    worker.start()

    first, second = pay_out_player.delay(player.pk), pay_out_player.delay(player.pk)
    here = len(services.pay_out_player(player=player))
    paid_by_workers = first.get(timeout=60) + second.get(timeout=60)

    assert here + paid_by_workers == 40
    assert balance_of(player=player) == Decimal("60.00") + Decimal("80.00")
    assert_paid_exactly_once(payouts, assert_reconciles)


def test_sigkill_while_holding_a_payout_then_restart_pays_each_once(
    celery_worker_factory,  # noqa: F811
    player,
    assert_reconciles,
):
    """SIGKILL the worker mid-payout (its transaction open): the redelivered task pays every payout once."""
    worker = celery_worker_factory(start=False)
    payouts = winning_payouts(player, 5)
    purge_broker()
    worker.start()

    with transaction.atomic():
        # Hold the account row: the worker marks the first payout paid, then blocks
        # on the account credit, inside its open transaction, "holding" the payout.
        Account.objects.select_for_update().get(user=player)
        pay_out_player.delay(player.pk)
        worker.wait(lambda: _backends_waiting_on_a_lock() >= 1, timeout=20, what="the worker to block mid-payout")
        worker.kill()
    # The lock is released; the dead worker's backend rolls back instead of committing.
    worker.wait(lambda: _other_backends() == 0, timeout=20, what="the killed worker's connection to go")
    assert Payout.objects.filter(pk__in=[p.pk for p in payouts], state=Payout.State.PAID).count() == 0
    assert balance_of(player=player) == Decimal("95.00")

    worker.start()  # the unacked message comes back after the visibility timeout
    worker.wait(
        lambda: not Payout.objects.filter(player=player, state=Payout.State.QUEUED).exists(),
        timeout=60,
        what="the redelivered payout task",
    )
    worker.wait(lambda: worker.succeeded(PAY) >= 1, what="the task to report success")
    assert worker.succeeded(PAY) == 1  # redelivered once, run once
    assert balance_of(player=player) == Decimal("105.00")
    assert_paid_exactly_once(payouts, assert_reconciles)


def test_beat_sweep_skips_players_in_a_session_and_pays_the_rest(
    celery_worker_factory,  # noqa: F811
    player,
    other_player,
    assert_reconciles,
):
    """Beat (every second here) pays players away from the machines, never one mid-session."""
    worker = celery_worker_factory(start=False, beat=True, env={"PAYOUT_SWEEP_SECONDS": "1"})
    event = make_event()
    home, _, _ = selections(event)
    at_machine, away = bet(player, home, "10.00"), bet(other_player, home, "10.00")
    session = services.open_session(player=player, game=make_game())
    services.settle_event(event=event, result=result_for(event, home))
    purge_broker()  # drop the post-settlement sweep: only beat may pay here
    worker.start()

    paid_away = Payout.objects.get(bet=away)
    worker.wait(lambda: state_of(paid_away.pk) == Payout.State.PAID, timeout=20, what="beat to pay the idle player")
    sweeps = worker.succeeded(SWEEP)
    worker.wait(lambda: worker.succeeded(SWEEP) >= sweeps + 2, timeout=20, what="two more beat sweeps")
    assert state_of(Payout.objects.get(bet=at_machine).pk) == Payout.State.QUEUED

    services.leave(session=session)
    worker.wait(lambda: state_of(Payout.objects.get(bet=at_machine).pk) == Payout.State.PAID, timeout=5)
    assert_paid_exactly_once(list(Payout.objects.all()), assert_reconciles)


def test_lost_enqueue_is_recovered_by_the_beat_sweep(
    celery_worker_factory,  # noqa: F811
    player,
    assert_reconciles,
):
    """If the leave hook's message is lost (broker purged), the cron sweep still pays."""
    worker = celery_worker_factory(start=False, beat=True, env={"PAYOUT_SWEEP_SECONDS": "1"})
    session = services.open_session(player=player, game=make_game())
    payouts = winning_payouts(player, 2)
    services.leave(session=session)  # enqueues pay_out_player, no worker listening yet
    purge_broker()  # ... and the message is lost
    worker.start()
    worker.wait(
        lambda: not Payout.objects.filter(player=player, state=Payout.State.QUEUED).exists(),
        timeout=20,
        what="the beat sweep",
    )
    assert worker.succeeded(SWEEP) >= 1
    assert_paid_exactly_once(payouts, assert_reconciles)


def _backends_waiting_on_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # activity is snapshotted per transaction
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def _other_backends() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # activity is snapshotted per transaction
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND backend_type = 'client backend'"
        )
        return cursor.fetchone()[0]
