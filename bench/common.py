"""What every scenario needs: a clean bench database, players, a multi-process
worker pool with per-thread database connections, latency statistics and the
conflict/retry counters of every process."""

from __future__ import annotations

import multiprocessing as mp
import os
import random
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.management import call_command
from django.db import connection, connections

from core import metrics

# Redis keys the bench may delete in its own Redis database: the metrics and
# the Celery queues (never FLUSHDB: the URL could be shared by mistake).
REDIS_PATTERNS = ("casino:metrics*", "payouts*", "default*", "unacked*", "_kombu*", "celery-task-meta-*")


@dataclass
class Config:
    procs: int = 4
    threads: int = 8
    quick: bool = False
    seed: int = 6
    scale: float = 1.0  # multiplies operation counts; --quick sets it low

    @property
    def workers(self) -> int:
        return self.procs * self.threads

    def n(self, full: int, minimum: int = 1) -> int:
        return max(minimum, int(full * self.scale))


# --- database and redis ---------------------------------------------------------------------------
def reset_data() -> None:
    """Empty every table of the bench database (sequences restart) and the bench's Redis keys."""
    connections.close_all()
    call_command("flush", interactive=False, verbosity=0)
    clear_redis()


def clear_redis() -> None:
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    for pattern in REDIS_PATTERNS:
        for key in client.scan_iter(match=pattern):
            client.delete(key)
    client.close()


def demo_game():
    from casino.demo import load_demo_games

    return next(g for g in load_demo_games() if g.slug == "fruit-frenzy")


def make_players(count: int, *, prefix: str, deposit: Decimal | None = None):
    """``count`` players with accounts, made in bulk (unusable passwords: the bench
    logs them in by session, never by password, so no hashing cost). ``deposit``
    goes in through the real deposit service, one ledger transaction each."""
    from django.contrib.auth.hashers import make_password

    from accounts.models import Account, User
    from accounts.services import deposit as deposit_service

    unusable = make_password(None)
    users = User.objects.bulk_create([User(username=f"{prefix}{i:06d}", password=unusable) for i in range(count)])
    Account.objects.bulk_create([Account(user=u) for u in users])
    if deposit:
        for user in users:
            deposit_service(player=user, amount=deposit, idempotency_key=f"bench-seed-{user.pk}")
    return users


def set_sequences(bases: dict[str, int]) -> None:
    """Move id sequences (table -> next id) so captured SQL holds distinctive ids."""
    with connection.cursor() as cur:
        for table, base in bases.items():
            cur.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s, false)", [table, base])


# --- statistics -----------------------------------------------------------------------------------
def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


def conflict_summary(counts: dict[str, int]) -> dict[str, int]:
    """{"conflict:accounts.account": 3, ...} as given; plus totals per event."""
    totals = Counter()
    for key, value in counts.items():
        totals[key.split(":", 1)[0]] += value
    return dict(totals)


def count(counts: dict[str, int], event: str, label: str) -> int:
    return int(counts.get(f"{event}:{label}", 0))


# --- the worker pool ------------------------------------------------------------------------------
@dataclass
class WorkerResult:
    ops: int = 0
    latencies: list[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    t0: float = 0.0
    t1: float = 0.0
    extra: dict = field(default_factory=dict)

    def timed(self, fn: Callable, *args, **kwargs):
        """Run one operation, record its latency; errors are counted by type, not raised."""
        start = time.perf_counter()
        try:
            value = fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - a failed operation is a measurement
            self.errors[type(exc).__name__] += 1
            return exc
        self.latencies.append(time.perf_counter() - start)
        self.ops += 1
        return value


@dataclass
class PoolResult:
    results: list[WorkerResult]
    counts: dict[str, int]
    worker_cpu_s: float = 0.0

    def cpu_ms_per(self, operations: int) -> float | None:
        """Python CPU (all worker processes) per operation."""
        return round(self.worker_cpu_s * 1000 / operations, 2) if operations else None

    @property
    def elapsed(self) -> float:
        return max(r.t1 for r in self.results) - min(r.t0 for r in self.results)

    @property
    def ops(self) -> int:
        return sum(r.ops for r in self.results)

    @property
    def latencies(self) -> list[float]:
        return [x for r in self.results for x in r.latencies]

    @property
    def errors(self) -> dict[str, int]:
        total = Counter()
        for r in self.results:
            total.update(r.errors)
        return dict(total)

    def throughput(self) -> float:
        return self.ops / self.elapsed if self.elapsed > 0 else 0.0

    def latency_ms(self) -> dict:
        lat = self.latencies
        return {
            "p50_ms": ms(percentile(lat, 50)),
            "p99_ms": ms(percentile(lat, 99)),
            "max_ms": ms(max(lat, default=None)),
        }


def run_pool(
    work: Callable[[int, WorkerResult], None],
    *,
    config: Config,
    procs: int | None = None,
    threads: int | None = None,
    background: Callable[[threading.Event], None] | None = None,
) -> PoolResult:
    """Run ``work(worker_index, result)`` in procs x threads workers released at once.

    Processes are forked after closing the parent's connections, so each
    process, and each thread in it (Django connections are per thread), has
    its own database connection. ``background(stop)`` runs in a thread of the
    parent while the workers run (e.g. settling events and paying out), until
    ``stop`` is set. Returns every worker's result and the conflict/retry
    counters summed over all processes (the parent's included).
    """
    procs = procs or config.procs
    threads = threads or config.threads
    cpu_before = _children_cpu()
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(procs * threads + 1)
    queue = ctx.Queue()
    connections.close_all()
    children = [
        ctx.Process(target=_child, args=(work, p, threads, barrier, queue, config.seed), daemon=True)
        for p in range(procs)
    ]
    for child in children:
        child.start()
    metrics.reset_local()
    stop = threading.Event()
    helper = threading.Thread(target=_background, args=(background, stop), daemon=True) if background else None
    barrier.wait(timeout=600)
    if helper:
        helper.start()
    results: list[WorkerResult] = []
    counts = Counter()
    for _ in children:
        child_results, child_counts, failure = queue.get(timeout=1800)
        if failure:
            raise RuntimeError(f"bench worker process failed:\n{failure}")
        results.extend(child_results)
        counts.update(child_counts)
    for child in children:
        child.join(timeout=60)
    stop.set()
    if helper:
        helper.join(timeout=120)
    counts.update(metrics.local_counts())
    return PoolResult(results=results, counts=dict(counts), worker_cpu_s=_children_cpu() - cpu_before)


def _children_cpu() -> float:
    """CPU seconds of this process's finished (waited-for) children: the worker processes."""
    times = os.times()
    return times.children_user + times.children_system


def _background(fn, stop: threading.Event) -> None:
    try:
        fn(stop)
    finally:
        connection.close()


def _child(work, proc_index: int, threads: int, barrier, queue, seed: int) -> None:
    failure = ""
    results = [WorkerResult() for _ in range(threads)]
    try:
        metrics.reset_local()
        random.seed(seed * 1000 + proc_index)

        def run(t: int) -> None:
            index = proc_index * threads + t
            barrier.wait(timeout=600)
            results[t].t0 = time.perf_counter_ns() / 1e9
            try:
                work(index, results[t])
            finally:
                results[t].t1 = time.perf_counter_ns() / 1e9
                connection.close()

        pool = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
    except Exception:  # noqa: BLE001 - reported to the parent
        failure = traceback.format_exc()
    queue.put((results, metrics.local_counts(), failure))
    queue.close()
    queue.join_thread()  # flush the result to the parent before leaving
    os._exit(0)  # no atexit handlers inherited from the parent
