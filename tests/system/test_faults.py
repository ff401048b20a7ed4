"""Fault injection (issue 6, section 2): kill what can die, and prove no money is lost or made.

- a Celery worker SIGKILLed in the middle of paying hundreds of payouts, then restarted;
- the broker (a throwaway redis-server of our own, never the shared one) killed -9 with
  payout messages in it, and again under a running worker: the beat sweep re-enqueues
  from the database, the queue of record;
- a PostgreSQL backend terminated mid-transaction during feed / spin / leave, on purpose
  at a known point and at random points of a stream of operations;
- the same payout task message delivered twice.

Each test ends with ``reconcile().ok``.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import threading
import time
import uuid
from decimal import Decimal

import pytest
from django.db import Error as DatabaseFailure
from django.db import connection, transaction
from django.db.models import Sum

from accounts import services as accounts
from accounts.models import Account, LedgerTransaction
from accounts.selectors import balance_of
from casino import services
from casino.celery import app as celery_app
from casino.demo import load_demo_games
from casino.models import GameSession, Payout, Spin
from casino.services.sportsbook import create_match_event
from casino.tasks import pay_out_player
from core.exceptions import DomainError
from tests.helpers.celery import purge_broker, wait_until

PAY = "casino.tasks.pay_out_player"
SWEEP = "casino.tasks.sweep_payouts"


# --- builders ---------------------------------------------------------------------------------------
def make_players(count: int, balance: str = "100.00") -> list:
    tag = uuid.uuid4().hex[:6]
    players = []
    for i in range(count):
        player = accounts.create_player(username=f"fault-{tag}-{i}", password=f"Fault-{uuid.uuid4().hex}")
        accounts.deposit(player=player, amount=Decimal(balance), idempotency_key=f"fault-seed-{tag}-{i}")
        players.append(player)
    return players


def event_with_home_win(players, bets_each: int, stake: str = "1.00"):
    """Every player backs the home side ``bets_each`` times; returns (event, home selection)."""
    event = create_match_event(name=f"Fault match {uuid.uuid4().hex[:6]}", home="Home", away="Away",
                               odds=("2.00", "3.00", "4.00"))  # fmt: skip
    home = event.markets.get().selections.order_by("id").first()
    for player in players:
        for _ in range(bets_each):
            services.place_sportsbet(player=player, selection=home, stake=stake, idempotency_key=uuid.uuid4().hex)
    return event, home


def settle_home(event, home):
    return services.settle_event(event=event, result={event.markets.get().pk: home.pk})


def paid_count(players) -> int:
    return Payout.objects.filter(player__in=players, state=Payout.State.PAID).count()


def queued_count(players) -> int:
    return Payout.objects.filter(player__in=players, state=Payout.State.QUEUED).count()


def assert_each_payout_paid_at_most_once(players) -> None:
    """Paid payouts have exactly one ledger credit of their amount; queued ones none."""
    for payout in Payout.objects.filter(player__in=players):
        txs = LedgerTransaction.objects.filter(idempotency_key=payout.ledger_key)
        expected = 1 if payout.state == Payout.State.PAID else 0
        assert txs.count() == expected, f"{payout} has {txs.count()} ledger transactions"
        if expected:
            credited = txs.get().entries.filter(account=f"player:{payout.player_id}").aggregate(s=Sum("amount"))["s"]
            assert credited == payout.amount


def assert_balances(players, *, start: Decimal) -> None:
    """Each player holds: start - stakes + paid payouts (nothing paid twice, nothing lost)."""
    for player in players:
        staked = player.sportsbets.aggregate(s=Sum("stake"))["s"] or 0
        paid = Payout.objects.filter(player=player, state=Payout.State.PAID).aggregate(s=Sum("amount"))["s"] or 0
        assert balance_of(player=player) == start - staked + paid, player


def other_backends() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND backend_type = 'client backend'"
        )
        return cursor.fetchone()[0]


# --- 1. SIGKILL a worker while it pays ---------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_sigkill_worker_mid_payout_run_then_restart_pays_every_payout_exactly_once(
    celery_worker_factory, assert_reconciles
):
    """A worker killed -9 while paying 320 payouts of 40 players leaves no half payment; the restart pays the rest."""
    worker = celery_worker_factory(start=False, pool="prefork", concurrency=2)
    players = make_players(40)
    event, home = event_with_home_win(players, bets_each=8)
    settle_home(event, home)
    purge_broker()  # the settlement's sweep message: this test sends one task per player itself
    total = Payout.objects.filter(player__in=players).count()
    assert total == 320
    for player in players:
        pay_out_player.delay(player.pk)

    worker.start()
    wait_until(lambda: paid_count(players) >= 30, timeout=60, interval=0.01, what="the worker to start paying")
    worker.kill()
    wait_until(lambda: other_backends() == 0, timeout=20, what="the killed worker's connections to go")
    at_kill = paid_count(players)
    assert 0 < at_kill < total, f"the kill should land mid-run, {at_kill}/{total} were paid"
    # What the dead worker left behind is consistent: whole payouts or nothing.
    assert_each_payout_paid_at_most_once(players)
    assert_balances(players, start=Decimal("100.00"))
    assert_reconciles()

    worker.start()  # unacked messages come back after the visibility timeout (3 s here)
    worker.wait(lambda: queued_count(players) == 0, timeout=120, what="the restarted worker to pay the rest")
    assert paid_count(players) == total
    assert_each_payout_paid_at_most_once(players)
    assert_balances(players, start=Decimal("100.00"))
    assert_reconciles()


# --- 2. the broker dies --------------------------------------------------------------------------------------
class ThrowawayRedis:
    """Our own redis-server (no persistence) on a free port: killing it touches nobody else."""

    def __init__(self, log_dir):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.log_dir = log_dir
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> ThrowawayRedis:
        log = open(self.log_dir / f"redis-{self.port}.log", "ab")  # noqa: SIM115 - the child's stdout
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--daemonize", "no"],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        log.close()
        wait_until(self.ping, timeout=10, what=f"redis-server on {self.port}")
        return self

    def ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def queued_messages(self) -> int:
        import redis

        client = redis.Redis(port=self.port)
        return sum(client.llen(queue) for queue in ("payouts", "default"))


def _use_broker(url: str) -> None:
    """Point this process's Celery producer at ``url`` (drops pooled connections to the old broker)."""
    from kombu import pools

    celery_app.conf.broker_url = url
    pools.reset()  # close and forget every pooled broker connection and producer
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def throwaway_broker(tmp_path):
    redis_server = ThrowawayRedis(tmp_path).start()
    shared = celery_app.conf.broker_url
    _use_broker(redis_server.url)
    yield redis_server
    _use_broker(shared)
    redis_server.kill()


@pytest.mark.slow
@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_broker_killed_with_payouts_queued_loses_nothing_the_sweep_reenqueues(
    throwaway_broker, celery_worker_factory, assert_reconciles
):
    """Payout messages die with the broker; the beat sweep re-enqueues from the database and each is paid once."""
    away = make_players(12)
    seated = make_players(6)
    sessions = [services.open_session(player=p, game=load_demo_games()[0]) for p in seated]
    event, home = event_with_home_win(away + seated, bets_each=3)
    settle_home(event, home)  # on commit: sweep_payouts -> the throwaway broker (no worker listening)
    for session in sessions:
        services.leave(session=session)  # on commit: pay_out_player(player) -> the throwaway broker
    assert throwaway_broker.queued_messages() == 1 + len(seated)
    assert queued_count(away + seated) == 54

    throwaway_broker.kill()
    throwaway_broker.start()  # empty: no persistence
    assert throwaway_broker.queued_messages() == 0
    assert queued_count(away + seated) == 54  # the database still holds every payout

    worker = celery_worker_factory(beat=True, env={"REDIS_URL": throwaway_broker.url, "PAYOUT_SWEEP_SECONDS": "1"})
    wait_until(lambda: queued_count(away + seated) == 0, timeout=60, what="the beat sweep to pay everybody")
    assert worker.succeeded(SWEEP) >= 1
    assert_each_payout_paid_at_most_once(away + seated)
    assert_balances(away + seated, start=Decimal("100.00"))
    assert_reconciles()

    # Again, under the running worker; and a settlement made while the broker is down.
    late = make_players(5)
    event, home = event_with_home_win(late, bets_each=2)
    throwaway_broker.kill()
    settle_error = None
    try:
        settle_home(event, home)  # commits; its on_commit enqueue cannot reach the broker
    except Exception as exc:  # noqa: BLE001 - recorded: a committed settlement must not raise
        settle_error = exc
    assert queued_count(late) == 10, "the settlement committed and queued the payouts in the database"
    throwaway_broker.start()
    wait_until(lambda: queued_count(late) == 0, timeout=90, what="the reconnected worker's beat sweep")
    assert_each_payout_paid_at_most_once(away + seated + late)
    assert_balances(away + seated + late, start=Decimal("100.00"))
    assert_reconciles()
    # a settlement that committed must not raise to its caller because the broker was down
    assert settle_error is None, settle_error


# --- 3. a database connection killed mid-transaction -------------------------------------------------------
def _game():
    return load_demo_games()[0]


def _state(player, session) -> tuple:
    account = Account.objects.get(user=player)
    current = GameSession.objects.get(pk=session.pk)
    return (
        account.balance,
        account.version,
        current.status,
        current.balance,
        current.version,
        Spin.objects.filter(session=session).count(),
        LedgerTransaction.objects.count(),
    )


OPERATIONS = {
    # name: (the ledger key it writes last, how to run it with an idempotency key)
    "feed": (
        lambda s, key: f"feed:{s.pk}:{key}",
        lambda s, key: services.feed(session=s, amount=Decimal("7.50"), idempotency_key=key),
    ),
    "spin": (
        lambda s, key: f"spin:{s.pk}:{key}",
        lambda s, key: services.spin(session=s, stake=Decimal("1.00"), idempotency_key=key),
    ),
    "leave": (lambda s, key: f"cashout:{s.pk}", lambda s, key: services.leave(session=s)),
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_backend_terminated_mid_transaction_rolls_back_whole_and_the_retry_happens_once(
    operation, player, assert_reconciles
):
    """pg_terminate_backend after the operation's first writes: nothing of it stays; the same key then does it once."""
    ledger_key, run = OPERATIONS[operation]
    session = services.open_session(player=player, game=_game())
    services.feed(session=session, amount=Decimal("20.00"), idempotency_key="warm-up")
    key = f"k-{uuid.uuid4().hex[:12]}"
    before = _state(player, session)

    pid, failure = [], []

    def victim():
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                pid.append(cursor.fetchone()[0])
            run(session, key)
        except Exception as exc:  # noqa: BLE001 - the kill is expected to surface here
            failure.append(exc)
        finally:
            connection.close()

    with transaction.atomic():
        # Hold the operation's own ledger key (uncommitted): the victim does its account/session/spin
        # writes, then waits on this key's unique index, inside its open transaction.
        blocker = ledger_key(session, key)
        LedgerTransaction.objects.create(kind=LedgerTransaction.Kind.ADJUSTMENT, idempotency_key=blocker)
        thread = threading.Thread(target=victim)
        thread.start()
        wait_until(lambda: pid and _waiting_on_a_lock(pid[0]), timeout=20, what=f"{operation} to block mid-write")
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid[0]])
        thread.join(timeout=20)
        transaction.set_rollback(True)  # and release the key

    assert len(failure) == 1 and isinstance(failure[0], DatabaseFailure), failure
    assert _state(player, session) == before, "a terminated transaction left part of itself behind"
    assert_reconciles()

    first = run(session, key)
    again = run(session, key)
    assert LedgerTransaction.objects.filter(idempotency_key=ledger_key(session, key)).count() == 1
    account_balance, _, status, session_balance, _, spins, txs = _state(player, session)
    if operation == "feed":
        assert (account_balance, session_balance) == (before[0] - Decimal("7.50"), before[3] + Decimal("7.50"))
        assert first.pk == again.pk
    elif operation == "spin":
        assert spins == before[5] + 1 and first.pk == again.pk
        assert session_balance == before[3] - Decimal("1.00") + first.win + first.boost
    else:
        assert status == GameSession.Status.CLOSED and session_balance == 0
        assert account_balance == before[0] + before[3]
    assert txs == before[6] + 1
    assert_reconciles()


def _waiting_on_a_lock(pid: int) -> bool:
    # pg_locks is read live (pg_stat_activity would be a snapshot frozen for our open transaction).
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE pid = %s AND NOT granted", [pid])
        return cursor.fetchone()[0] > 0


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_backends_terminated_at_random_moments_leave_all_or_nothing_and_retries_happen_once(assert_reconciles):
    """8 players feed/spin/leave while their connections are killed at random: every op is whole or absent,
    and retrying each interrupted op with its key makes it happen exactly once."""
    players = make_players(8, balance="500.00")
    game = _game()
    rng = random.Random(6)
    stop = threading.Event()
    pids: dict[int, int] = {}
    interrupted: list[tuple] = []  # (player index, op, session id, key)
    lock = threading.Lock()

    def play(i: int) -> None:
        local = random.Random(f"chaos:{i}")
        n = 0
        while not stop.is_set():
            n += 1
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_backend_pid()")
                    pids[i] = cursor.fetchone()[0]
                session = GameSession.objects.filter(player=players[i], status=GameSession.Status.OPEN).first()
                if session is None:
                    session = services.open_session(player=players[i], game=game)
                op = local.choices(["feed", "spin", "leave"], [3, 10, 1])[0]
                key = f"c{i}-{n}"
                try:
                    OPERATIONS[op][1](session, key)
                except DatabaseFailure:
                    with lock:
                        interrupted.append((i, op, session.pk, key))
                    raise
                except DomainError:
                    pass  # not enough in the machine, closed meanwhile: expected, nothing moved
            except DatabaseFailure:
                connection.close()  # killed: reconnect and go on
        connection.close()

    threads = [threading.Thread(target=play, args=(i,)) for i in range(len(players))]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 8
    kills = 0
    while time.monotonic() < deadline:
        time.sleep(rng.uniform(0.005, 0.06))
        victim = pids.get(rng.randrange(len(players)))
        if victim:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(%s)", [victim])
                kills += cursor.fetchone()[0]
    stop.set()
    for thread in threads:
        thread.join(timeout=60)

    assert kills >= 20 and len(interrupted) >= 5, (kills, len(interrupted))
    assert_reconciles()  # whatever committed, committed whole
    committed = 0
    for _, op, session_id, key in interrupted:
        session = GameSession.objects.get(pk=session_id)
        ledger_key = OPERATIONS[op][0](session, key)
        existed = LedgerTransaction.objects.filter(idempotency_key=ledger_key).count()
        assert existed <= 1
        committed += existed
        # All or nothing across tables too: the spin row with its ledger posting, the closed session with its cash-out.
        if op == "spin":
            assert Spin.objects.filter(session=session, idempotency_key=key).count() == existed
        if op == "leave" and existed:
            assert session.status == GameSession.Status.CLOSED
        with contextlib.suppress(DomainError):  # e.g. closed since: the op cannot happen now, and did not
            OPERATIONS[op][1](session, key)
        assert LedgerTransaction.objects.filter(idempotency_key=ledger_key).count() <= 1
        if op == "spin":
            assert Spin.objects.filter(session=session, idempotency_key=key).count() <= 1
    assert_reconciles()
    print(f"{kills} backends killed, {len(interrupted)} operations interrupted, {committed} of them had committed")


# --- 4. the same task message twice -----------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_duplicated_payout_task_message_pays_once(celery_worker_factory, assert_reconciles):
    """The same pay_out_player message (same task id) delivered twice to two worker processes pays each payout once."""
    worker = celery_worker_factory(start=False, pool="prefork", concurrency=2)
    players = make_players(3)
    event, home = event_with_home_win(players, bets_each=20)
    settle_home(event, home)
    purge_broker()
    task_ids = {}
    for player in players:
        task_ids[player.pk] = str(uuid.uuid4())
        for _ in range(2):  # the broker redelivers / the producer retried: same message twice
            pay_out_player.apply_async(args=[player.pk], task_id=task_ids[player.pk])
    worker.start()
    wait_until(lambda: worker.succeeded(PAY) >= 2 * len(players), timeout=60, what="both deliveries of each message")
    for task_id in task_ids.values():
        assert worker.count_in_log(f"{PAY}[{task_id}] succeeded") == 2
    assert queued_count(players) == 0
    assert_each_payout_paid_at_most_once(players)
    assert_balances(players, start=Decimal("100.00"))
    assert_reconciles()
