"""scale_tier: the database tier of issue 20 (PgBouncer + a streaming read replica) against none.

Two sides, the same machine, the same run, interleaved A B B A (each side's figures are the mean of
its two rounds, as ``spin_storm`` does: this machine drifts between runs):

- A: 2 gunicorn instances + 2 Celery workers straight to PostgreSQL (what ``scale_out`` runs);
- B: the same, with ``DATABASE_URL`` through PgBouncer in transaction pooling (``scripts/pgbouncer.sh``,
  pool 20), ``DIRECT_DATABASE_URL`` to the primary and ``REPLICA_DATABASE_URL`` to a streaming replica
  made with ``pg_basebackup`` (``scripts/replica.sh``), which ``core.db_router`` reads statements from.

The bench uses its own ports and directories (PgBouncer 6441, replica 5441 in
/var/lib/postgresql/15/casino_bench_replica; ``BENCH_PGBOUNCER_PORT``, ``BENCH_REPLICA_PORT``,
``BENCH_REPLICA_DIR``), so it never meets the tests' or a developer's. The replica is made once and
torn down at the end (``finally``); PgBouncer runs only during B rounds (its idle server
connections would otherwise sit on the primary while side A is counted).

Each round starts from emptied tables (the replica replays the flush) and runs a steady mix: most
clients spin over HTTP (the htmx spin, one logged-in player each, spread over both web instances),
the others load their statement page (``GET /wallet/statement/``) over and over; these players
never write, so no read-your-writes pin keeps them on the primary and on side B the page may be read
from the replica. Their ledgers hold entries over the last few months (raw SQL, balanced
deposit/withdrawal pairs that leave the balance unmoved). Meanwhile other players leave their
sessions at a steady rate and the two Celery workers pay their queued sportsbet winnings.

Every web instance has one thread per client it serves (the load generator spreads the clients
evenly), so side A holds one primary connection per web thread, which is what a pooler is for: the
primary's connections are sampled through the run (``pg_stat_activity``) and the peak reported.

Measured per round: spins/s and spin p50/p99, statement pages/s and p50/p99, payout latency, the
CPU seconds and share of the machine per tier (web, Celery, primary backends of the bench database
plus the WAL sender feeding the replica, the replica's whole process tree, PgBouncer, the load
generators), the peak number of server connections on the primary (and on the replica), and, on
side B, how many transactions the replica served (its ``pg_stat_database``: proof that the reads
went there). On 2 shared cores the extra processes of side B compete with the web tier for the same
CPU, so B may well be slower here: the CPU shares say where the time went.

Then partition pruning: ``EXPLAIN (COSTS OFF)`` of the statement page's query for one past month
(``accounts.selectors.wallet.statement(player=..., month=...)``, first page) for a player whose
entries span four months; the partitions of each partitioned table the plan scans, against those
that exist. The check: the statement's ledger entries are read from exactly one partition.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from django.conf import settings
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from bench.celery_worker import Worker
from bench.common import Config, make_players, percentile, reset_data
from bench.scenarios.http import WARMUP, prepare, shared_paths
from bench.scenarios.scale_out import leave_steadily, payout_latencies, prepare_leavers, wait_for_payouts
from bench.web import TICKS, CpuMeter, Gunicorn, bench_backends, process_tree, run_loadgen, session_cookie
from casino.models import Payout
from core.partitions import add_months, ensure_partitions, month_start, scanned_relations

REPO = Path(__file__).resolve().parents[2]
ROUNDS = ("A", "B", "B", "A")
WEB_INSTANCES, WEB_WORKERS = 2, 2  # per instance; threads per worker: enough for one per client
SERVER_TIERS = ("web", "celery", "postgres", "replica", "pgbouncer")
READERS_SHARE = 4  # one client in four reads statements, the others spin
HISTORY_MONTHS = 4  # the readers' ledgers span this month and the three before
HISTORY_PAIRS = 15  # deposit/withdrawal pairs per reader and month
HISTORY_AMOUNT = Decimal("10.00")
# Our own ports and directories: never the ones the tests (or a developer's `make run`) use.
PGBOUNCER_PORT = int(os.environ.get("BENCH_PGBOUNCER_PORT", "6441"))
PGBOUNCER_POOL = 20
REPLICA_PORT = int(os.environ.get("BENCH_REPLICA_PORT", "5441"))
REPLICA_DIR = os.environ.get("BENCH_REPLICA_DIR", "/var/lib/postgresql/15/casino_bench_replica")
PGBOUNCER_DIR = os.environ.get(
    "BENCH_PGBOUNCER_DIR", str(Path(tempfile.gettempdir()) / f"bench-pgbouncer-{PGBOUNCER_PORT}")
)
REPLICA_SLOT = re.sub(r"[^a-z0-9_]", "_", Path(REPLICA_DIR).name.lower())  # as scripts/replica.sh names it

# Balanced pairs over past months: a deposit (cash -> player) then a withdrawal (player -> cash) of
# the same amount, so every transaction sums to zero and the player's balance is unmoved (the
# ledger still reconciles). The timestamps put each pair in its month (UTC, as the partitions are).
HISTORY_SQL = """
WITH g AS (
    SELECT uid, m, j, kind,
           ((date_trunc('month', now() AT TIME ZONE 'UTC') - make_interval(months => m)) AT TIME ZONE 'UTC')
             + make_interval(hours => j, mins => CASE kind WHEN 'withdrawal' THEN 1 ELSE 0 END) AS at
      FROM unnest(%(uids)s::bigint[]) AS uid,
           generate_series(0, %(months)s - 1) AS m,
           generate_series(0, %(pairs)s - 1) AS j,
           unnest(ARRAY['deposit', 'withdrawal']) AS kind
), tx AS (
    INSERT INTO accounts_ledgertransaction (kind, idempotency_key, reference, description, created_at, updated_at)
    SELECT kind, 'bench-history:' || uid || ':' || m || ':' || j || ':' || kind, '', 'Bench history', at, at
      FROM g
 RETURNING id, kind, idempotency_key, created_at
)
INSERT INTO accounts_ledgerentry (transaction_id, account, amount, created_at, updated_at)
SELECT tx.id, leg.account, leg.amount, tx.created_at, tx.created_at
  FROM tx, LATERAL (VALUES
           ('player:' || split_part(tx.idempotency_key, ':', 2),
            CASE tx.kind WHEN 'deposit' THEN 1 ELSE -1 END * %(amount)s::numeric),
           ('system:cash', CASE tx.kind WHEN 'deposit' THEN -1 ELSE 1 END * %(amount)s::numeric)
       ) AS leg(account, amount)
"""

CONNECTIONS_SQL = """
SELECT count(*) FILTER (WHERE backend_type = 'client backend'),
       count(*) FILTER (WHERE backend_type = 'client backend' AND state IS DISTINCT FROM 'idle')
  FROM pg_stat_activity
 WHERE datname = %s AND pid <> pg_backend_pid()
"""


# --- the tier: PgBouncer and the replica, through the scripts ----------------------------------------
def _with_port(url: str, port: int) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"{parts.hostname}:{port}"
    return urlunsplit(parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host))


def _connect(url: str, **kwargs) -> psycopg.Connection:
    return psycopg.connect(url.replace("postgres://", "postgresql://", 1), autocommit=True, **kwargs)


class Tier:
    """PgBouncer (transaction pooling) and a streaming replica of the primary, on the bench's own
    ports and directories; ``start`` is idempotent (both scripts are), ``stop`` tears both down."""

    def __init__(self, direct_url: str):
        self.direct_url = direct_url
        self.dbname = urlsplit(direct_url).path.strip("/")
        self.replica_url = _with_port(direct_url, REPLICA_PORT)
        self.pooled_url = _with_port(direct_url, PGBOUNCER_PORT)
        self.env_vars = {
            "PGBOUNCER_PORT": str(PGBOUNCER_PORT),
            "PGBOUNCER_POOL_SIZE": str(PGBOUNCER_POOL),
            "PGBOUNCER_MAX_CLIENTS": "1000",
            "PGBOUNCER_DIR": PGBOUNCER_DIR,
            "PGBOUNCER_DBNAME": self.dbname,
            "REPLICA_PORT": str(REPLICA_PORT),
            "REPLICA_DIR": REPLICA_DIR,
        }
        self.started = False

    def _script(self, name: str, *args: str, timeout: float = 600) -> str:
        done = subprocess.run(
            ["bash", str(REPO / "scripts" / name), *args],
            cwd=REPO,
            env=os.environ | self.env_vars,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"scripts/{name} {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
        return done.stdout

    def start(self) -> Tier:
        """Make the replica (it streams through every round: side A simply does not read from it)."""
        self.started = True
        self._script("replica.sh", "create")
        return self

    def pool_up(self) -> None:
        """PgBouncer for one side-B round. It is stopped after the round: its idle server connections
        (kept for ``server_idle_timeout``) would otherwise count on the primary during side A."""
        out = self._script("pgbouncer.sh", "start", self.dbname)
        urls = re.findall(r"postgres(?:ql)?://\S+", out)
        if urls:
            self.pooled_url = urls[-1]

    def pool_down(self) -> None:
        self._script("pgbouncer.sh", "stop")

    def stop(self) -> None:
        if not self.started:
            return
        errors = []
        for script, command in (("pgbouncer.sh", "stop"), ("replica.sh", "teardown")):
            try:
                self._script(script, command)
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                errors.append(str(exc))
        if errors:
            print("[bench] scale_tier teardown:", *errors, sep="\n", flush=True)

    def env(self) -> dict[str, str]:
        """What the web and Celery processes of side B get."""
        return {
            "DATABASE_URL": self.pooled_url,
            "DIRECT_DATABASE_URL": self.direct_url,
            "REPLICA_DATABASE_URL": self.replica_url,
        }

    @staticmethod
    def _pidfile(path: Path) -> int | None:
        try:
            return int(path.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def replica_pids(self) -> list[int]:
        """The replica's postmaster and everything under it (startup/recovery, WAL receiver, backends)."""
        pid = self._pidfile(Path(REPLICA_DIR) / "postmaster.pid")
        return process_tree(pid) if pid else []

    def pgbouncer_pids(self) -> list[int]:
        for candidate in sorted(Path(PGBOUNCER_DIR).glob("*.pid")):
            if (pid := self._pidfile(candidate)) and Path(f"/proc/{pid}").exists():
                return [pid]
        return []

    def walsender_pids(self) -> list[int]:
        """The primary's WAL sender streaming to our replica: the active pid of its slot (replica.sh names
        the slot after the replica's directory)."""
        with _connect(self.direct_url) as conn:
            row = conn.execute(
                "SELECT active_pid FROM pg_replication_slots WHERE slot_name = %s AND active", [REPLICA_SLOT]
            ).fetchone()
        return [row[0]] if row and row[0] else []

    def wait_caught_up(self, timeout: float = 60.0) -> float:
        """Until the replica has replayed everything the primary wrote so far; returns the seconds waited."""
        t0 = time.monotonic()
        with _connect(self.direct_url) as primary, _connect(self.replica_url, dbname="postgres") as replica:
            target = primary.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
            while True:
                behind = replica.execute(
                    "SELECT pg_wal_lsn_diff(%s::pg_lsn, pg_last_wal_replay_lsn()) > 0", [str(target)]
                ).fetchone()[0]
                if not behind:
                    return round(time.monotonic() - t0, 2)
                if time.monotonic() - t0 > timeout:
                    raise RuntimeError("the replica did not catch up with the primary")
                time.sleep(0.1)

    def replica_transactions(self) -> int:
        with _connect(self.replica_url) as conn:
            conn.execute("SELECT pg_stat_clear_snapshot()")
            row = conn.execute(
                "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()"
            ).fetchone()
        return int(row[0]) if row else 0


# --- one round -----------------------------------------------------------------------------------------
class ConnectionSampler:
    """Server connections to the bench database, sampled every 50 ms: the peak on the primary (and the
    replica). Counted from a connection of its own, which it leaves out."""

    def __init__(self, dbname: str, urls: dict[str, str]):
        self.dbname, self.urls = dbname, urls
        self.peak = {name: {"connections": 0, "busy": 0} for name in urls}
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        conns = {name: _connect(url) for name, url in self.urls.items()}
        try:
            while not self.stop_event.is_set():
                for name, conn in conns.items():
                    conn.execute("SELECT pg_stat_clear_snapshot()")
                    total, busy = conn.execute(CONNECTIONS_SQL, [self.dbname]).fetchone()
                    peak = self.peak[name]
                    peak["connections"] = max(peak["connections"], total)
                    peak["busy"] = max(peak["busy"], busy)
                self.stop_event.wait(0.05)
        finally:
            for conn in conns.values():
                conn.close()

    def __enter__(self) -> ConnectionSampler:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop_event.set()
        self.thread.join(timeout=10)


def add_history(users) -> int:
    """The readers' past months. Rows of a month with no partition yet land in the DEFAULT partition;
    ``ensure_partitions`` then makes their month's partition and moves them there (as an operator's
    ``manage.py partitions --ensure`` would)."""
    with connection.cursor() as cur:
        cur.execute(
            HISTORY_SQL,
            {"uids": [u.pk for u in users], "months": HISTORY_MONTHS, "pairs": HISTORY_PAIRS, "amount": HISTORY_AMOUNT},
        )
        rows = cur.rowcount
    ensure_partitions()
    return rows


def prepare_round(config: Config, seconds: float) -> dict:
    from accounts.services import deposit

    reset_data()
    readers_count = max(1, config.workers // READERS_SHARE)
    spin_specs = prepare(config, config.workers - readers_count, with_codes=False)
    readers = make_players(readers_count, prefix="reader")
    entries = add_history(readers)
    for user in readers:  # today's deposit after the history, so the newest entry is the newest money
        deposit(player=user, amount=Decimal("100.00"), idempotency_key=f"bench-reader-{user.pk}")
    statement_path = reverse("statement")
    read_specs = [{"sessionid": session_cookie(u), "paths": {}} for u in readers]
    leavers = prepare_leavers(seconds)
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    return {
        "spin_specs": spin_specs,
        "read_specs": read_specs,
        "statement_path": statement_path,
        "readers": readers,
        "history_entries": entries,
        "leavers": leavers,
    }


def _plans(data: dict, bases: list[str], seconds: float) -> tuple[dict, dict]:
    spin = {
        "kind": "spin",
        "bases": bases,
        "seconds": seconds,
        "procs": min(2, len(data["spin_specs"])),
        "paths": shared_paths(),
        "warmup": WARMUP.get("spin", "page"),
        "clients": data["spin_specs"],
    }
    # The load generator's plain GET of one shared path ("trivial": GET plan["paths"]["trivial"], no
    # HX-Request, so the full page) with each reader's own session cookie: the reader's statement page.
    read = {
        "kind": "trivial",
        "bases": bases,
        "seconds": seconds,
        "procs": min(2, len(data["read_specs"])),
        "paths": {"trivial": data["statement_path"]},
        "warmup": "trivial",
        "clients": data["read_specs"],
    }
    return spin, read


def run_round(config: Config, side: str, tier: Tier, seconds: float) -> dict:
    data = prepare_round(config, seconds)
    clients = len(data["spin_specs"]) + len(data["read_specs"])
    threads = -(-clients // (WEB_INSTANCES * WEB_WORKERS))  # one web thread per client
    # Side A must not inherit a tier from the shell's environment either.
    env = tier.env() if side == "B" else {"DIRECT_DATABASE_URL": "", "REPLICA_DATABASE_URL": ""}
    caught_up_s = tier.wait_caught_up() if side == "B" else None
    webs, workers = [], []
    try:
        if side == "B":
            tier.pool_up()
        for _ in range(WEB_INSTANCES):
            webs.append(Gunicorn(workers=WEB_WORKERS, threads=threads, env=env).start())
        for _ in range(2):
            workers.append(Worker(concurrency=1, env=env).start())
        data["leavers"].settle()
        time.sleep(1.0)
        groups = {
            "web": lambda: [p for w in webs for p in process_tree(w.process.pid)],
            "celery": lambda: [p for w in workers for p in process_tree(w.process.pid)],
            "postgres": bench_backends,
        }
        if side == "B":
            walsenders = tier.walsender_pids()
            groups["postgres"] = lambda: bench_backends() + walsenders
            groups["replica"] = tier.replica_pids
            groups["pgbouncer"] = tier.pgbouncer_pids
        meter = CpuMeter(groups)
        spin_plan, read_plan = _plans(data, [w.base for w in webs], seconds)
        figures: dict[str, dict] = {}

        def load(name: str, plan: dict) -> None:
            figures[name], _ = run_loadgen(plan)

        urls = {"primary": os.environ["DATABASE_URL"]}
        if side == "B":
            urls["replica"] = tier.replica_url
        replica_tx_before = tier.replica_transactions() if side == "B" else None
        loaders = [threading.Thread(target=load, args=(n, p)) for n, p in (("spin", spin_plan), ("read", read_plan))]
        meter.start()
        machine_before, driver_before, t_meter = _machine_busy(), _own_cpu(), time.monotonic()
        with ConnectionSampler(tier.dbname, urls) as sampler:
            for t in loaders:
                t.start()
            time.sleep(2.0 + 0.05 * len(data["spin_specs"]))  # the load generators' warm-up
            leave_steadily(data["leavers"].sessions)
            for t in loaders:
                t.join()
        used = meter.stop()
        window = time.monotonic() - t_meter
        machine_busy = _machine_busy() - machine_before
        driver = _own_cpu() - driver_before
        replica_tx = tier.replica_transactions() - replica_tx_before if side == "B" else None
        wait_for_payouts()
    finally:
        for w in workers:
            w.stop()
        for w in webs:
            w.stop()
        if side == "B":
            tier.pool_down()
    if "spin" not in figures or "read" not in figures:
        raise RuntimeError("a load generator did not report")
    spin, read = figures["spin"], figures["read"]
    used["loadgen"] = round(spin.pop("cpu_s") + read.pop("cpu_s"), 2)
    used["bench driver"] = round(driver, 2)
    # Everything else the machine did meanwhile: other users of these cores (and PostgreSQL's own
    # background processes). Not zero on a shared machine: it says how loaded the run was.
    used["outside the bench"] = round(max(0.0, machine_busy - sum(used.values())), 2)
    elapsed = max(spin["elapsed_s"], read["elapsed_s"])
    capacity = window * (os.cpu_count() or 1)  # the meter's window: warm-up and the leaves included
    leavers = data["leavers"].players
    latencies = payout_latencies(leavers)
    return {
        "side": side,
        "web": f"{WEB_INSTANCES} gunicorn, {WEB_WORKERS} workers x {threads} threads each",
        "spin_clients": len(data["spin_specs"]),
        "read_clients": len(data["read_specs"]),
        "reader_history_entries": data["history_entries"],
        "spin": spin,
        "statement": read,
        "elapsed_s": elapsed,
        "cpu_window_s": round(window, 2),
        "machine_busy_share": round(machine_busy / capacity, 3) if capacity else None,
        "cpu_seconds": used,
        "cpu_share": {k: round(v / capacity, 3) for k, v in used.items()} if capacity else {},
        "peak_connections": sampler.peak,
        "replica_transactions": replica_tx,
        "replica_caught_up_s": caught_up_s,
        "payouts": len(data["leavers"].sessions),
        "paid": len(latencies),
        "left_queued": Payout.objects.filter(state=Payout.State.QUEUED).count(),
        "payout_p50_s": None if not latencies else round(percentile(latencies, 50), 3),
        "payout_p99_s": None if not latencies else round(percentile(latencies, 99), 3),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def _machine_busy() -> float:
    """CPU seconds the whole machine has been busy (all cores, /proc/stat: everything but idle and iowait)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(fields) - fields[3] - fields[4]) / TICKS


def _own_cpu() -> float:
    """This process's own CPU seconds (leaves, sampling, the meter), not its children's."""
    times = os.times()
    return times.user + times.system


def _mean(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return round(sum(values) / len(values), 2) if values else None


def summarise(rounds: list[dict], side: str) -> dict:
    mine = [r for r in rounds if r["side"] == side]
    cpu: dict[str, float] = {}
    for r in mine:
        for group, seconds in r["cpu_seconds"].items():
            cpu[group] = cpu.get(group, 0.0) + seconds
    capacity = sum(r["cpu_window_s"] for r in mine) * (os.cpu_count() or 1)
    requests = sum(r["spin"]["requests"] + r["statement"]["requests"] for r in mine)
    server_cpu = sum(cpu.get(group, 0.0) for group in SERVER_TIERS)
    return {
        "spin_rps": _mean([r["spin"]["ok_rps"] for r in mine]),
        "spin_p50_ms": _mean([r["spin"]["p50_ms"] for r in mine]),
        "spin_p99_ms": _mean([r["spin"]["p99_ms"] for r in mine]),
        "spin_errors": sum(r["spin"]["errors"] for r in mine),
        "statement_rps": _mean([r["statement"]["ok_rps"] for r in mine]),
        "statement_p50_ms": _mean([r["statement"]["p50_ms"] for r in mine]),
        "statement_p99_ms": _mean([r["statement"]["p99_ms"] for r in mine]),
        "statement_errors": sum(r["statement"]["errors"] for r in mine),
        "runs_spin_rps": [r["spin"]["ok_rps"] for r in mine],
        "runs_statement_p99_ms": [r["statement"]["p99_ms"] for r in mine],
        "cpu_seconds": {k: round(v, 2) for k, v in cpu.items()},
        "cpu_share": {k: round(v / capacity, 3) for k, v in cpu.items()} if capacity else {},
        "machine_busy_share": _mean([r["machine_busy_share"] for r in mine]),
        # What a request costs the servers, whatever else the machine was doing: CPU of the tiers
        # (not the load generators, the bench driver or other processes) per request answered.
        "server_cpu_ms_per_request": round(1000 * server_cpu / requests, 2) if requests else None,
        "load_average_1min": [r["load_average"][0] for r in mine],
        "primary_peak_connections": max(r["peak_connections"]["primary"]["connections"] for r in mine),
        "primary_peak_busy": max(r["peak_connections"]["primary"]["busy"] for r in mine),
        "replica_peak_connections": max(
            (r["peak_connections"].get("replica", {}).get("connections", 0) for r in mine), default=0
        ),
        "replica_transactions": sum(r["replica_transactions"] or 0 for r in mine),
        "payout_p99_s": _mean([r["payout_p99_s"] for r in mine]),
        "paid": sum(r["paid"] for r in mine),
        "payouts": sum(r["payouts"] for r in mine),
    }


# --- partition pruning ---------------------------------------------------------------------------------
def partitions() -> dict[str, list[str]]:
    """Partitioned tables of the bench database and their partitions (leaf tables)."""
    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT parent.relname, child.relname
              FROM pg_partitioned_table pt
              JOIN pg_class parent ON parent.oid = pt.partrelid
              JOIN pg_namespace ns ON ns.oid = parent.relnamespace AND ns.nspname = current_schema()
              JOIN pg_inherits i ON i.inhparent = parent.oid
              JOIN pg_class child ON child.oid = i.inhrelid
             ORDER BY 1, 2
            """
        )
        out: dict[str, list[str]] = {}
        for parent, child in cur.fetchall():
            out.setdefault(parent, []).append(child)
    return out


def pruning(player) -> dict:
    from accounts.selectors import wallet
    from accounts.views.wallet import STATEMENT_PAGE_SIZE

    month = add_months(month_start(timezone.now()), -2)  # a whole past month, history on either side
    query = wallet.statement(player=player, month=month)[:STATEMENT_PAGE_SIZE]  # the page's first page
    plan = query.explain(costs=False)
    read = scanned_relations(query)  # the plan's "Relation Name"s (its JSON form)
    existing = partitions()
    scanned = {table: sorted(read.intersection(children)) for table, children in existing.items()}
    entries = existing.get("accounts_ledgerentry", [])
    ledger_scanned = scanned.get("accounts_ledgerentry", [])
    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(DISTINCT date_trunc('month', created_at AT TIME ZONE 'UTC')) FROM accounts_ledgerentry "
            "WHERE account = %s",
            [f"player:{player.pk}"],
        )
        months_with_entries = cur.fetchone()[0]
    return {
        "month": month.isoformat()[:7],
        "query": f"accounts.selectors.wallet.statement(player=<reader>, month=date({month:%Y, %-m}, 1))",
        "plan": plan,
        "months_with_entries": months_with_entries,
        "partitioned_tables": {t: len(c) for t, c in existing.items()},
        "scanned": scanned,
        "ledger_partitions": len(entries),
        "ledger_partitions_scanned": len(ledger_scanned),
        "pruned_to_one": bool(entries) and len(ledger_scanned) == 1,
    }


# --- the scenario --------------------------------------------------------------------------------------
def run(config: Config) -> dict:
    from accounts.models import User
    from accounts.reconcile import reconcile

    seconds = 4 if config.quick else 12
    tier = Tier(os.environ["DATABASE_URL"])
    rounds: list[dict] = []
    try:
        tier.start()
        for side in ROUNDS:
            print(f"[bench] scale_tier round {len(rounds) + 1}/{len(ROUNDS)}: side {side}", flush=True)
            rounds.append(run_round(config, side, tier, seconds))
        # The last round's readers are still there, each with entries over HISTORY_MONTHS months.
        prune = pruning(User.objects.filter(username__startswith="reader").order_by("id").first())
        books = reconcile().ok
    finally:
        tier.stop()
    a, b = summarise(rounds, "A"), summarise(rounds, "B")
    return {
        "sides": {
            "A": "2 web + 2 Celery straight to PostgreSQL",
            "B": f"the same through PgBouncer (transaction pooling, pool {PGBOUNCER_POOL}) + a streaming replica",
        },
        "order": " ".join(ROUNDS),
        "seconds_per_round": seconds,
        "web": rounds[0]["web"],
        "A": a,
        "B": b,
        "spin_ratio_b_over_a": round(b["spin_rps"] / a["spin_rps"], 3) if a["spin_rps"] and b["spin_rps"] else None,
        "statement_p99_ratio_b_over_a": (
            round(b["statement_p99_ms"] / a["statement_p99_ms"], 3)
            if a["statement_p99_ms"] and b["statement_p99_ms"]
            else None
        ),
        "rounds": rounds,
        "pruning": prune,
        "ledger_reconciles": books,
        "settings_replica_pin_seconds": settings.REPLICA_PIN_SECONDS,
    }
