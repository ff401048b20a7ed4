"""A REAL Celery worker for tests: ``celery -A casino worker`` as a subprocess.

The worker runs against the test database (committed data only, so use it from
``@pytest.mark.django_db(transaction=True)`` tests; the fixtures depend on
``transactional_db`` to enforce that) and the Redis database in ``REDIS_URL``.
While a worker fixture is active, the test process sends tasks to Redis
instead of running them eagerly.

Usage::

    from tests.helpers.celery import celery_worker, celery_worker_factory, wait_until  # noqa: F401

    @pytest.mark.celery
    @pytest.mark.django_db(transaction=True)
    def test_x(celery_worker):                # one worker, payouts + default queues
        ...
        wait_until(lambda: ..., timeout=10)

    def test_y(celery_worker_factory):        # more control: pool, beat, env, kill/restart
        worker = celery_worker_factory(pool="prefork", concurrency=2, beat=True,
                                       env={"PAYOUT_SWEEP_SECONDS": "1"})
        worker.kill()                          # SIGKILL the whole process group
        worker.start()                         # restart (same settings)
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from casino.celery import app as celery_app

REPO = Path(__file__).resolve().parents[2]  # tests/helpers/celery.py -> the repository
QUEUES = ("payouts", "default")
# Redis keys the broker uses for our queues and for unacknowledged messages.
BROKER_KEY_PATTERNS = [f"{queue}*" for queue in QUEUES] + ["unacked*"]


def wait_until(
    predicate: Callable[[], object], *, timeout: float = 15.0, interval: float = 0.05, what: str = "", log: str = ""
):
    """Poll ``predicate`` until it returns something truthy; fail the test on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what or predicate}" + (f"\n{log}" if log else ""))
        time.sleep(interval)


def worker_database_url() -> str:
    """A DATABASE_URL for the database this test run uses (the ``test_...`` one)."""
    s = connection.settings_dict
    auth = quote(s["USER"] or "", safe="")
    if s.get("PASSWORD"):
        auth += ":" + quote(s["PASSWORD"], safe="")
    host = s.get("HOST") or "127.0.0.1"
    port = s.get("PORT") or "5432"
    return f"postgres://{auth}@{host}:{port}/{s['NAME']}"


def purge_broker() -> int:
    """Drop messages left in our queues (and unacked ones) by earlier runs."""
    import redis

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    removed = 0
    for pattern in BROKER_KEY_PATTERNS:
        for key in client.scan_iter(match=pattern):
            removed += client.delete(key)
    client.close()
    return removed


class CeleryWorker:
    """One worker subprocess (its own process group, so ``kill`` takes its pool too)."""

    def __init__(
        self,
        *,
        log_dir: Path,
        queues=QUEUES,
        pool: str = "solo",
        concurrency: int = 1,
        beat: bool = False,
        env: dict[str, str] | None = None,
    ):
        self.queues, self.pool, self.concurrency, self.beat = tuple(queues), pool, concurrency, beat
        self.extra_env = dict(env or {})
        self.log_dir = log_dir
        self.name = f"test-{uuid.uuid4().hex[:8]}"
        self.process: subprocess.Popen | None = None
        self.starts = 0

    @property
    def log_path(self) -> Path:
        return self.log_dir / f"{self.name}-{self.starts}.log"

    def command(self) -> list[str]:
        cmd = [
            sys.executable, "-m", "celery", "-A", "casino", "worker",
            "--loglevel", "INFO",
            "--queues", ",".join(self.queues),
            "--pool", self.pool,
            "--concurrency", str(self.concurrency),
            "--hostname", f"{self.name}@%h",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]  # fmt: skip
        if self.beat:
            cmd += ["--beat", "--schedule", str(self.log_dir / f"{self.name}-beat-schedule")]
        return cmd

    def environment(self) -> dict[str, str]:
        env = os.environ.copy()
        env.update(
            {
                "DATABASE_URL": worker_database_url(),
                "REDIS_URL": settings.CELERY_BROKER_URL,
                "DJANGO_SETTINGS_MODULE": "casino.settings",
                "CELERY_TASK_ALWAYS_EAGER": "false",
                "PYTHONUNBUFFERED": "1",
                # A killed worker's unacked message comes back within seconds, not minutes.
                "CELERY_VISIBILITY_TIMEOUT": "3",
                "CELERY_UNACKED_RESTORE_INTERVAL": "1",
                "CELERY_UNACKED_RESTORE_THROTTLE": "1",
                # A worker killed mid-scan leaves the scan's mutex behind: seconds, not 5 minutes.
                "CELERY_UNACKED_MUTEX_EXPIRE": "3",
            }
        )
        env.update(self.extra_env)
        return env

    def start(self, *, timeout: float = 30.0) -> CeleryWorker:
        assert self.process is None or self.process.poll() is not None, "worker already running"
        self.starts += 1
        log = open(self.log_path, "wb")  # noqa: SIM115 - handed to the child, closed with it
        self.process = subprocess.Popen(
            self.command(), cwd=REPO, env=self.environment(), stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        log.close()
        wait_until(self._ready, timeout=timeout, interval=0.1, what=f"celery worker {self.name} to be ready")
        return self

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            pytest.fail(f"celery worker exited with {self.process.returncode}:\n{self.log()}")
        return b" ready." in self.log_path.read_bytes()

    def wait(self, predicate: Callable[[], object], *, timeout: float = 15.0, what: str = ""):
        """``wait_until`` that shows this worker's log if it times out."""
        try:
            return wait_until(predicate, timeout=timeout, what=what)
        except pytest.fail.Exception:
            pytest.fail(
                f"timed out after {timeout}s waiting for {what or predicate}; worker log:\n{self.log()[-6000:]}"
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def count_in_log(self, text: str) -> int:
        return self.log().count(text)

    def succeeded(self, task_name: str) -> int:
        """How many runs of ``task_name`` this worker finished (from its log)."""
        return len(re.findall(rf"Task {re.escape(task_name)}\[[^\]]+\] succeeded", self.log()))

    def kill(self) -> None:
        """SIGKILL the worker and its pool children at once (no warm shutdown, nothing acked)."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self, *, timeout: float = 20.0) -> None:
        """Warm shutdown (finish the current task), SIGKILL if it does not stop in time."""
        if not self.process or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()


@pytest.fixture
def celery_worker_factory(transactional_db, tmp_path):
    """Make (and start) real workers; they are stopped before the database is flushed."""
    workers: list[CeleryWorker] = []
    eager, propagates = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = False
    purge_broker()

    def make(*, start: bool = True, **kwargs) -> CeleryWorker:
        worker = CeleryWorker(log_dir=tmp_path, **kwargs)
        workers.append(worker)
        return worker.start() if start else worker

    yield make
    for worker in workers:
        worker.stop()
    purge_broker()
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = eager, propagates


@pytest.fixture
def celery_worker(celery_worker_factory):
    """One running worker (solo pool) on the payouts and default queues."""
    return celery_worker_factory()
