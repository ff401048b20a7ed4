"""report_page: the finance report over 90 days of a ledger of >= 10^6 entries (issue 19).

Target: the report page (admin, ``admin:reports_dailyfigure_report``) for a 90-day range answers
in p95 <= 200 ms; and the roll-up's cost per day of data (seconds per day, per 10^5 entries).

The ledger is written by PostgreSQL itself (``INSERT ... SELECT generate_series``, chunks of
100,000 transactions, each chunk one statement writing the transactions and their entries),
``created_at`` spread evenly over the last ``DAYS`` days, with the kinds and legs the services
write, so the roll-up finds every product: per 20 transactions, 14 spins in 200 game sessions on
the demo games (stake 1.00 session -> house; one in three wins 2.50 house -> session), 2 sportsbet
stakes (10.00 player -> sportsbook), 1 payout (15.00 sportsbook -> player), 1 deposit (50.00
cash -> player), 1 withdrawal (30.00 player -> cash) and 1 promotion code paid as cash (5.00
promotions -> player). The players' and sessions' stored balances are then moved by what their
entries add up to, so the books stay valid: the scenario ends with the ledger reconciliation.

Then, after ``VACUUM ANALYZE``:
1. ``reports.services.roll_up()`` from an empty roll-up: every day of the data (the first run
   on a new installation, or a full rebuild), timed; then a second run (the steady state: today
   and yesterday only), timed.
2. The report page for the last 90 days, requested ``N`` times (50; ``--quick``: 20) after 5
   warm-up requests, in this process through ``django.test.Client`` logged in as a member of the
   ``finance`` group (the whole Django stack: middleware, session, admin, form, selectors,
   liabilities, the SVG charts, the template; no network, no gunicorn). p50 / p95 / max, the
   queries per page and whether any touched the ledger; the same for its CSV export.
"""

from __future__ import annotations

import contextlib
import time
from datetime import timedelta
from decimal import Decimal

from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext

from bench.common import Config, make_players, ms, percentile, reset_data
from bench.report import load_average

DAYS = 92  # the data: 90 days of the report plus the two before it
REPORT_DAYS = 90
PLAYERS = 200
SESSIONS = 200
FEED = Decimal("1000.00")
DEPOSIT = Decimal("100.00")
CHUNK = 100_000
WARMUP = 5
AMOUNTS = {
    "stake": Decimal("1.00"),
    "win": Decimal("2.50"),
    "bet": Decimal("10.00"),
    "payout": Decimal("15.00"),
    "dep": Decimal("50.00"),
    "wd": Decimal("30.00"),
    "bonus": Decimal("5.00"),
}

BULK_SQL = """
WITH g AS (
    SELECT i, i %% 20 AS r,
           (%(sids)s::bigint[])[1 + (i / 20) %% %(k)s] AS sid,
           (%(pids)s::bigint[])[1 + (i / 20) %% %(np)s] AS pid,
           %(start)s::timestamptz + (i::float8 / %(total)s) * %(span)s::interval AS at
      FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS i
), tx AS (
    INSERT INTO accounts_ledgertransaction (kind, idempotency_key, reference, description, created_at, updated_at)
    SELECT CASE WHEN r < 14 THEN 'spin' WHEN r < 16 THEN 'bet_stake' WHEN r = 16 THEN 'payout'
                WHEN r = 17 THEN 'deposit' WHEN r = 18 THEN 'withdrawal' ELSE 'redemption' END,
           'reportbench:' || i,
           CASE WHEN r < 14 THEN 'session:' || sid ELSE 'player:' || pid END,
           'report bench', at, at
      FROM g
 RETURNING id, kind, reference, idempotency_key, created_at
), legs AS (
    SELECT id, kind, reference AS acct, created_at,
           (split_part(idempotency_key, ':', 2)::bigint / 20) %% 3 = 0 AS won
      FROM tx
)
INSERT INTO accounts_ledgerentry (transaction_id, account, amount, created_at, updated_at)
SELECT l.id, CASE WHEN v.account = 'own' THEN l.acct ELSE v.account END, v.amount, l.created_at, l.created_at
  FROM legs l
  JOIN (VALUES
        ('spin', 'own', -%(stake)s::numeric, false), ('spin', 'system:house', %(stake)s::numeric, false),
        ('spin', 'system:house', -%(win)s::numeric, true), ('spin', 'own', %(win)s::numeric, true),
        ('bet_stake', 'own', -%(bet)s::numeric, false), ('bet_stake', 'system:sportsbook', %(bet)s::numeric, false),
        ('payout', 'system:sportsbook', -%(payout)s::numeric, false), ('payout', 'own', %(payout)s::numeric, false),
        ('deposit', 'system:cash', -%(dep)s::numeric, false), ('deposit', 'own', %(dep)s::numeric, false),
        ('withdrawal', 'own', -%(wd)s::numeric, false), ('withdrawal', 'system:cash', %(wd)s::numeric, false),
        ('redemption', 'system:promotions', -%(bonus)s::numeric, false),
        ('redemption', 'own', %(bonus)s::numeric, false)
       ) AS v(kind, account, amount, only_won)
    ON v.kind = l.kind AND (NOT v.only_won OR l.won)
"""

# The stored balances follow the entries just written (one set-based UPDATE each).
SETTLE_SQL = """
WITH n AS (
    SELECT substring(e.account FROM %(pattern)s)::bigint AS key, SUM(e.amount) AS net
      FROM accounts_ledgerentry e JOIN accounts_ledgertransaction t ON t.id = e.transaction_id
     WHERE t.description = 'report bench' AND e.account LIKE %(like)s
     GROUP BY 1
)
UPDATE {table} s SET balance = s.balance + n.net, version = s.version + 1 FROM n WHERE s.{key} = n.key
"""

TABLES = ("accounts_ledgertransaction", "accounts_ledgerentry", "accounts_account", "casino_gamesession")


def _settle() -> None:
    with connection.cursor() as cur:
        for table in TABLES:
            cur.execute(f"VACUUM ANALYZE {table}")
        with contextlib.suppress(DatabaseError):  # CHECKPOINT needs a superuser: measure anyway
            cur.execute("CHECKPOINT")


def _world() -> tuple[list[int], list[int]]:
    """Players (their deposits through the service) and open, fed game sessions on the demo games."""
    from casino import services
    from casino.demo import load_demo_games

    games = load_demo_games()
    players = make_players(PLAYERS, prefix="report", deposit=DEPOSIT)
    gamblers = make_players(SESSIONS, prefix="reportslots", deposit=FEED)
    sessions = []
    for i, player in enumerate(gamblers):
        session = services.open_session(player=player, game=games[i % len(games)])
        services.feed(session=session, amount=FEED, idempotency_key=f"report-seed-{session.pk}")
        sessions.append(session.pk)
    return [p.pk for p in players], sessions


def _store_ledger(*, pids: list[int], sids: list[int], transactions: int) -> dict:
    from django.utils import timezone

    now = timezone.now()
    span_s = DAYS * 86400 - 600  # the last transaction ten minutes ago
    start = now - timedelta(seconds=DAYS * 86400)
    from core import partitions

    partitions.ensure_partitions(months_ahead=DAYS // 28 + 1, now=start)  # months back: not in the default
    t0 = time.monotonic()
    with connection.cursor() as cur:
        for lo in range(0, transactions, CHUNK):
            hi = min(transactions, lo + CHUNK) - 1
            cur.execute(
                BULK_SQL,
                {"sids": sids, "k": len(sids), "pids": pids, "np": len(pids), "start": start, "total": transactions,
                 "span": f"{span_s} seconds", "lo": lo, "hi": hi, **AMOUNTS},
            )  # fmt: skip
        for table, key, prefix in (
            ("accounts_account", "user_id", "player:"),
            ("casino_gamesession", "id", "session:"),
        ):
            cur.execute(
                SETTLE_SQL.format(table=table, key=key), {"pattern": f"^{prefix}([0-9]+)$", "like": f"{prefix}%"}
            )
        insert_s = time.monotonic() - t0
        _settle()
        cur.execute("SELECT count(*) FROM accounts_ledgertransaction")
        stored_tx = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM accounts_ledgerentry")
        stored_entries = cur.fetchone()[0]
    return {
        "transactions_stored": stored_tx,
        "entries_stored": stored_entries,
        "insert_s": round(insert_s, 1),
        "insert_and_vacuum_s": round(time.monotonic() - t0, 1),
    }


def _finance_client():
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.test import Client

    from accounts.models import User

    call_command("setup_groups", verbosity=0)
    user = User.objects.create_user(username="bench-finance", password=None, is_staff=True)
    user.groups.add(Group.objects.get(name="finance"))
    client = Client()
    client.force_login(user)
    return client


def _time_requests(client, url: str, count: int) -> dict:
    for _ in range(WARMUP):
        response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}")
    latencies = []
    for _ in range(count):
        t0 = time.perf_counter()
        response = client.get(url)
        latencies.append(time.perf_counter() - t0)
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}")
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    sql = [q["sql"] for q in queries.captured_queries]
    return {
        "requests": count,
        "p50_ms": ms(percentile(latencies, 50)),
        "p95_ms": ms(percentile(latencies, 95)),
        "max_ms": ms(max(latencies)),
        "queries": len(sql),
        "ledger_queries": sum("accounts_ledger" in s for s in sql),
        "bytes": len(response.content),
    }


def run(config: Config) -> dict:
    from django.urls import reverse
    from django.utils import timezone

    from accounts.reconcile import reconcile
    from reports import services
    from reports.models import DailyFigure

    transactions = config.n(420_000, 60_000)  # ~2.47 entries each: >= 10^6 entries at full size
    requests = config.n(50, 20)
    reset_data()
    pids, sids = _world()
    stored = _store_ledger(pids=pids, sids=sids, transactions=transactions)

    t0 = time.monotonic()
    first = services.roll_up()
    first_s = time.monotonic() - t0
    t0 = time.monotonic()
    steady = services.roll_up()
    steady_s = time.monotonic() - t0
    entries = stored["entries_stored"]
    days = len(first.days)

    today = timezone.localdate()
    date_from = today - timedelta(days=REPORT_DAYS - 1)
    url = f"{reverse('admin:reports_dailyfigure_report')}?date_from={date_from.isoformat()}&date_to={today.isoformat()}"
    client = _finance_client()
    load_before = load_average()
    page = _time_requests(client, url, requests)
    export = _time_requests(client, url + "&format=csv", requests)
    report = reconcile()
    return {
        **stored,
        "days_of_data": DAYS,
        "rollup": {
            "days": days,
            "rows": DailyFigure.objects.count(),
            "seconds": round(first_s, 2),
            "s_per_day": round(first_s / days, 4) if days else None,
            "s_per_100k_entries": round(first_s / entries * 100_000, 3) if entries else None,
            "steady_days": len(steady.days),
            "steady_seconds": round(steady_s, 3),
        },
        "report_days": REPORT_DAYS,
        "page": {**page, "load_average": load_before},
        "csv": export,
        "ledger_reconciles": report.ok,
    }
