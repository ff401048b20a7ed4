"""The app through PgBouncer in transaction pooling (issue 20), against the real pooler.

- The bank-invariant workload (tests/system/workload.py) runs with 200 client threads, each with its
  own Django connection to PgBouncer, over 20 server connections: every invariant holds, and
  PgBouncer's console and PostgreSQL's pg_stat_activity, sampled during the run, show at most 20
  server connections for 200 clients.
- What transaction pooling changes for Django, shown on a pool small enough to be deterministic:
  PgBouncer keeps each client's TimeZone (Django sets UTC on connect; another client's SET on the same
  server connection does not leak into it), and server-side cursors must be off (a cursor declared
  in one transaction is gone when the next transaction gets another server connection).
"""

from __future__ import annotations

import os
import threading

import psycopg
import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connections

from tests.scale.conftest import PRIMARY
from tests.system.workload import Workload

pytestmark = [pytest.mark.pgbouncer]

CLIENTS = 200  # client threads (199 players and the trader), each with its own connection
POOL_SIZE = 20
OPS = int(os.environ.get("PGBOUNCER_WORKLOAD_OPS", "5000"))
SEED = int(os.environ.get("SYSTEM_SEED", "20250601"))


@pytest.fixture
def through_pgbouncer(pgbouncer, transactional_db):
    """From here on, every thread's "default" connection goes to the pooler: the settings dict that
    each thread's connection is made from is switched in place, and put back at the end."""
    shared = connections["default"].settings_dict
    assert shared is connections.settings["default"], "threads would not share the pooled settings"
    saved = dict(shared)
    connections["default"].close()
    shared.update(pgbouncer.settings_dict(saved))
    try:
        yield pgbouncer
    finally:
        connections["default"].close()
        shared.clear()
        shared.update(saved)


class PoolWatch(threading.Thread):
    """Samples PgBouncer's console (SHOW POOLS, SHOW CLIENTS) and PostgreSQL's pg_stat_activity for one
    database every 50 ms: the most server connections, clients and waiting clients seen."""

    def __init__(self, pooler, dbname: str):
        super().__init__(daemon=True)
        self.pooler, self.dbname = pooler, dbname
        self.halt = threading.Event()
        self.samples = 0
        self.max_servers = self.max_clients = self.max_waiting = self.max_backends = 0
        self.client_ports: set = set()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with self.pooler.console() as console, psycopg.connect(**PRIMARY, dbname="postgres") as pg:
                pg.autocommit = True
                while not self.halt.wait(0.05):
                    self._sample(console, pg)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc

    def _sample(self, console, pg) -> None:
        cursor = console.execute("SHOW POOLS")
        names = [c.name for c in cursor.description]
        for row in cursor.fetchall():
            pool = dict(zip(names, row, strict=True))
            if pool["database"] != self.dbname:
                continue
            servers = sum(pool[k] for k in ("sv_active", "sv_idle", "sv_used", "sv_tested", "sv_login"))
            self.max_servers = max(self.max_servers, servers)
            self.max_clients = max(self.max_clients, pool["cl_active"] + pool["cl_waiting"])
            self.max_waiting = max(self.max_waiting, pool["cl_waiting"])
        cursor = console.execute("SHOW CLIENTS")
        names = [c.name for c in cursor.description]
        for row in cursor.fetchall():
            client = dict(zip(names, row, strict=True))
            if client["database"] == self.dbname:
                self.client_ports.add((client["addr"], client["port"], client["connect_time"]))
        backends = pg.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [self.dbname]).fetchone()[0]
        self.max_backends = max(self.max_backends, backends)
        self.samples += 1


def _xacts(pooler, dbname: str) -> int:
    rows = [row for row in pooler.show("STATS") if row["database"] == dbname]
    return int(rows[0]["total_xact_count"]) if rows else 0


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_bank_workload_holds_through_pgbouncer_with_200_clients_on_20_server_connections(through_pgbouncer, capsys):
    """200 threads, each its own client of PgBouncer, share 20 server connections: no balance goes
    negative, money is conserved, reconcile is clean, and the pooler never opened a 21st connection."""
    pooler = through_pgbouncer
    dbname = connections["default"].settings_dict["NAME"]
    xacts_before = _xacts(pooler, dbname)
    watch = PoolWatch(pooler, dbname)
    watch.start()
    try:
        workload = Workload(seed=SEED, ops=OPS, workers=CLIENTS, players=96)
        workload.setup()
        workload.run()
        finished = workload.finish(payout_timeout=60)
        problems, figures = workload.final_problems()
    finally:
        watch.halt.set()
        watch.join(timeout=10)
    xacts = _xacts(pooler, dbname) - xacts_before
    with capsys.disabled():
        print(
            f"\n{workload.summary()}; drained in {finished['drained_in']:.1f}s\n"
            f"pgbouncer: {watch.samples} samples, at most {watch.max_servers} server connections "
            f"({watch.max_backends} backends in pg_stat_activity) for at most {watch.max_clients} clients "
            f"({watch.max_waiting} waiting), {len(watch.client_ports)} distinct clients, {xacts} transactions"
        )

    assert watch.error is None, watch.error
    # The workload's invariants, as in tests/system/test_bank_invariants.py.
    workload.assert_held(problems)
    assert workload.checker.samples >= 3 and workload.checker.statement_reads >= 3
    assert figures["spins"] > 100 and figures["payouts"] > 0
    # The pooler's side: 200 clients at once over at most 20 server connections, and PostgreSQL agrees.
    assert watch.samples >= 20
    assert watch.max_servers <= POOL_SIZE, f"{watch.max_servers} server connections"
    assert watch.max_backends <= POOL_SIZE, f"{watch.max_backends} PostgreSQL backends on {dbname}"
    assert watch.max_clients >= CLIENTS, f"at most {watch.max_clients} clients at once"
    assert len(watch.client_ports) >= CLIENTS
    assert watch.max_servers >= POOL_SIZE // 2  # the pool was really used, not one connection
    assert xacts >= OPS, f"PgBouncer counted {xacts} transactions"


# --- what transaction pooling changes for Django -------------------------------------------------
@pytest.fixture(scope="module")
def small_pool(pgbouncer_factory):
    """A pooler with one server connection per database: every client shares it."""
    return pgbouncer_factory(pool_size=1)


@pytest.fixture(scope="module")
def pair_pool(pgbouncer_factory):
    return pgbouncer_factory(pool_size=2)


@pytest.fixture
def pooled_alias():
    """Alias "direct" (a test mirror of "default") through a given pooler, for this thread only."""
    conn = connections["direct"]
    original = conn.settings_dict

    def through(pooler, **extra):
        conn.close()
        conn.settings_dict = {**pooler.settings_dict(connections["default"].settings_dict), **extra}
        return conn

    yield through
    conn.close()
    conn.settings_dict = original


@pytest.mark.django_db(transaction=True, databases=["default", "direct"])
def test_pgbouncer_keeps_each_clients_time_zone_on_a_shared_server_connection(small_pool, pooled_alias):
    """One server connection, two clients: Django's UTC and another client's Tokyo never mix."""
    from django.db.models.functions import Now

    django_conn = pooled_alias(small_pool)
    dbname = django_conn.settings_dict["NAME"]
    with django_conn.cursor() as cursor:  # connecting sets TIME ZONE 'UTC' (the server says Etc/UTC)
        cursor.execute("SELECT current_setting('TimeZone')")
        assert cursor.fetchone()[0] == "UTC"
    with psycopg.connect(host="127.0.0.1", port=small_pool.port, user="postgres", dbname=dbname) as other:
        other.autocommit = True
        other.execute("SET TIME ZONE 'Asia/Tokyo'")  # on the same (only) server connection
        with django_conn.cursor() as cursor:
            cursor.execute("SELECT current_setting('TimeZone'), now()::text")
            zone, shown = cursor.fetchone()
        assert zone == "UTC" and shown.endswith("+00")
        assert other.execute("SELECT current_setting('TimeZone')").fetchone()[0] == "Asia/Tokyo"
        # The ORM's datetimes are aware UTC through the pooler.
        stamp = ContentType.objects.using("direct").annotate(at=Now()).values_list("at", flat=True).first()
        assert stamp.utcoffset().total_seconds() == 0
    servers = [row for row in small_pool.show("SERVERS") if row["database"] == dbname]
    assert len(servers) == 1


@pytest.mark.django_db(transaction=True, databases=["default", "direct"])
@pytest.mark.parametrize("server_side_cursors", [False, True], ids=["disabled", "enabled"])
def test_server_side_cursors_do_not_survive_transaction_pooling(pair_pool, pooled_alias, server_side_cursors):
    """``.iterator()`` while another client holds the server connection the cursor was declared on:
    with DISABLE_SERVER_SIDE_CURSORS (the pooled settings) it reads every row; with server-side cursors
    its next FETCH lands on the other server connection, where the cursor does not exist."""
    from django.db import DatabaseError

    conn = pooled_alias(pair_pool, DISABLE_SERVER_SIDE_CURSORS=not server_side_cursors)
    dbname = conn.settings_dict["NAME"]
    expected = ContentType.objects.using("direct").count()
    assert expected >= 3
    rows = ContentType.objects.using("direct").order_by("id").iterator(chunk_size=1)
    first = next(rows)  # the cursor is declared (if server-side) and its first row fetched
    with psycopg.connect(host="127.0.0.1", port=pair_pool.port, user="postgres", dbname=dbname) as other:
        other.execute("SELECT 1")  # a transaction left open: it holds the last-used server connection
        if server_side_cursors:  # (Django's error; closing the cursor then fails the same way, unwrapped)
            with pytest.raises((DatabaseError, psycopg.Error), match="cursor .* does not exist"):
                list(rows)
        else:
            assert len([first, *rows]) == expected
        other.rollback()
