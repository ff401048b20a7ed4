"""The scale tests' own PgBouncer and streaming replica (issue 20), made by the scripts operators use.

- ``pgbouncer``: a PgBouncer of the tests' own (``scripts/pgbouncer.sh``: a free port, a directory under
  /tmp, transaction pooling, 20 server connections, 300 clients at most), for the session;
  ``pgbouncer_factory`` starts more (a pool of 1 or 2 to make pooling effects deterministic).
- ``live_replica``: a real streaming replica (``scripts/replica.sh``: a free port,
  /var/lib/postgresql/15/casino_test_replica_<database>, its own slot), made with pg_basebackup at the start of
  the session and torn down at its end. pytest-django's test database lives on the primary and
  streams to it like every other database of the cluster.
- ``replica_alias``: the alias "replica" (a TEST MIRROR of "default") pointed at the real replica,
  ``READ_REPLICAS = ["replica"]``, the health state reset before and after.

Ports and the replica's directory can be fixed with $TEST_PGBOUNCER_PORT, $TEST_REPLICA_PORT and
$TEST_REPLICA_DIR. The tests skip (saying why) only when PgBouncer cannot be installed or the
PostgreSQL 15 server binaries are missing; anything else that fails in the scripts is an error.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from django.db import connections

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts"
PGBIN = Path("/usr/lib/postgresql/15/bin")
PRIMARY = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}


def free_port() -> int:
    """A TCP port nothing listens on now (several people's tests and benches share this machine)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _report(config, line: str) -> None:
    """A line in pytest's own output (timings of the scripts), whatever the capture mode."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None:
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line(line)


def _run(args: list[str], env: dict, *, timeout: float = 300) -> subprocess.CompletedProcess:
    result = subprocess.run(
        args, env={**os.environ, **env}, capture_output=True, text=True, timeout=timeout, check=False
    )
    if result.returncode != 0:
        pytest.fail(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


# --- PgBouncer -----------------------------------------------------------------------------------
@dataclass
class Pooler:
    port: int
    pool_size: int
    max_clients: int
    directory: str
    started_in: float = 0.0

    @property
    def env(self) -> dict:
        return {
            "PGBOUNCER_PORT": str(self.port),
            "PGBOUNCER_POOL_SIZE": str(self.pool_size),
            "PGBOUNCER_MAX_CLIENTS": str(self.max_clients),
            "PGBOUNCER_DIR": self.directory,
        }

    def start(self) -> None:
        started = time.monotonic()
        _run(["bash", str(SCRIPTS / "pgbouncer.sh"), "start"], self.env, timeout=60)
        self.started_in = time.monotonic() - started

    def stop(self) -> None:
        _run(["bash", str(SCRIPTS / "pgbouncer.sh"), "stop"], self.env, timeout=60)
        shutil.rmtree(self.directory, ignore_errors=True)

    def console(self) -> psycopg.Connection:
        """The admin console (SHOW POOLS, SHOW SERVERS, SHOW STATS...)."""
        return psycopg.connect(  # (simple query protocol only: never prepared)
            host="127.0.0.1",
            port=self.port,
            user="postgres",
            dbname="pgbouncer",
            autocommit=True,
            prepare_threshold=None,
        )

    def show(self, what: str) -> list[dict]:
        with self.console() as console:
            cursor = console.execute(f"SHOW {what}")
            names = [column.name for column in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def settings_dict(self, base: dict) -> dict:
        """``base`` (a Django DATABASES entry) through this pooler, as casino/settings.py makes it when
        DIRECT_DATABASE_URL is set: no server-side cursors, no prepared statements."""
        return {
            **base,
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "DISABLE_SERVER_SIDE_CURSORS": True,
            "OPTIONS": {**base.get("OPTIONS", {}), "prepare_threshold": None},
        }


def _pgbouncer_available() -> str:
    """'' when pgbouncer can run here, else why not (installing it from Debian's package if missing)."""
    if shutil.which("pgbouncer") or Path("/usr/sbin/pgbouncer").exists():
        return ""
    result = subprocess.run(
        ["bash", str(SCRIPTS / "ensure_pgbouncer.sh")], capture_output=True, text=True, timeout=600, check=False
    )
    if result.returncode != 0 or not Path("/usr/sbin/pgbouncer").exists():
        return f"pgbouncer is not installed and could not be installed: {result.stderr.strip()[-300:]}"
    return ""


@pytest.fixture(scope="module")
def pgbouncer_factory(request, django_db_setup):
    """start(port=, pool_size=, max_clients=) -> a running Pooler of the tests' own, stopped at the end
    of the module: its idle server connections are backends on the test database, which later tests
    count (tests/system/test_faults.py waits for a killed worker's backends to go) and which would
    hold the test database when it is dropped."""
    if reason := _pgbouncer_available():
        pytest.skip(reason)
    started: list[Pooler] = []

    def start(*, pool_size: int, max_clients: int = 300, port: int | None = None) -> Pooler:
        port = port or free_port()
        pooler = Pooler(port, pool_size, max_clients, tempfile.mkdtemp(prefix=f"casino_test_pgbouncer_{port}_"))
        started.append(pooler)
        pooler.start()
        _report(request.config, f"pgbouncer on port {port} (pool {pool_size}) started in {pooler.started_in:.2f} s")
        return pooler

    yield start
    stoppers = [threading.Thread(target=pooler.stop) for pooler in started]  # each takes a second or two
    for stopper in stoppers:
        stopper.start()
    for stopper in stoppers:
        stopper.join(timeout=90)


@pytest.fixture(scope="module")
def pgbouncer(pgbouncer_factory) -> Pooler:
    """The tests' PgBouncer: transaction pooling, 20 server connections, 300 clients at most."""
    port = int(os.environ.get("TEST_PGBOUNCER_PORT", "0"))
    return pgbouncer_factory(port=port or None, pool_size=20, max_clients=300)


# --- the streaming replica ---------------------------------------------------------------------
@dataclass
class Replica:
    port: int
    directory: str
    created_in: float = 0.0
    log: list = field(default_factory=list)

    @property
    def env(self) -> dict:
        return {"REPLICA_PORT": str(self.port), "REPLICA_DIR": self.directory, "REPLICA_WAIT_SECONDS": "60"}

    def script(self, command: str, *, timeout: float = 300) -> str:
        result = _run(["bash", str(SCRIPTS / "replica.sh"), command], self.env, timeout=timeout)
        self.log.append((command, result.stderr.strip()))
        return result.stdout

    def status(self) -> tuple[int, str]:
        result = subprocess.run(
            ["bash", str(SCRIPTS / "replica.sh"), "status"],
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return result.returncode, result.stdout

    def stop(self) -> None:
        self.script("stop")

    def start(self) -> None:
        self.script("start")

    def connect(self, dbname: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname=dbname, autocommit=True)

    def wait_caught_up(self, *, timeout: float = 30.0) -> None:
        """Until the replica has replayed everything the primary has written so far."""
        with psycopg.connect(**PRIMARY, dbname="postgres", autocommit=True) as primary:
            target = primary.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
        deadline = time.monotonic() + timeout
        with self.connect() as replica:
            while True:
                done = replica.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [str(target)]).fetchone()[0]
                if done:
                    return
                if time.monotonic() > deadline:
                    pytest.fail(f"the replica has not replayed the primary's WAL up to {target} in {timeout} s")
                time.sleep(0.05)


def _replica_unavailable() -> str:
    for binary in ("pg_basebackup", "pg_ctl", "postgres"):
        if not (PGBIN / binary).exists():
            return f"{PGBIN / binary} is missing: the PostgreSQL 15 server package is needed for a replica"
    if os.geteuid() != 0 and os.environ.get("USER") != "postgres":
        return "a replica's cluster runs as the user postgres: run the tests as root or postgres"
    return ""


@pytest.fixture(scope="session")
def live_replica(request, django_db_setup) -> Replica:
    """A real streaming replica of the whole primary cluster, made fresh for the session."""
    if reason := _replica_unavailable():
        pytest.skip(reason)
    # One replica per test database (so per person on a shared machine), on a free port.
    dbname = connections["default"].settings_dict["NAME"].removeprefix("test_")
    directory = os.environ.get("TEST_REPLICA_DIR", f"/var/lib/postgresql/15/casino_test_replica_{dbname}")
    replica = Replica(int(os.environ.get("TEST_REPLICA_PORT", "0")) or free_port(), directory)
    replica.script("teardown")  # a leftover of an interrupted run of these tests
    started = time.monotonic()
    replica.script("create")
    replica.created_in = time.monotonic() - started
    _report(
        request.config,
        f"replica in {directory} on port {replica.port} created (pg_basebackup) in {replica.created_in:.1f} s",
    )
    try:
        yield replica
    finally:
        connections["replica"].close()
        replica.script("teardown")


@pytest.fixture
def replica_alias(live_replica, settings):
    """Alias "replica" on the real replica (the test database streams to it), READ_REPLICAS set.

    The tests wait until the replica has replayed the primary's WAL (``wait_caught_up``) before they
    expect a read there, so the lag allowed is generous: the router's lag estimate reads a standby
    replaying a long transaction (another helper's bulk load on this shared server) as seconds behind.
    """
    from core.db_router import replica_health

    replica = connections["replica"]
    original = replica.settings_dict
    replica.close()
    replica.settings_dict = {
        **original,
        "HOST": "127.0.0.1",
        "PORT": str(live_replica.port),
        "NAME": connections["default"].settings_dict["NAME"],
        "OPTIONS": {**original.get("OPTIONS", {}), "connect_timeout": 1},
    }
    settings.READ_REPLICAS = ["replica"]
    settings.REPLICA_MAX_LAG_SECONDS = 30
    replica_health.reset()
    try:
        yield live_replica
    finally:
        replica_health.reset()
        replica.close()
        replica.settings_dict = original
