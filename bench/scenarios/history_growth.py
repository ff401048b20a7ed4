"""history_growth: does a spin slow down as the history grows? (issue 14)

The p50 of ``casino.services.spin``, one caller, no contention (so the figure is
the statements' own cost, not a queue): first on an empty database, then after
10^6 spins (``--quick``: 150,000) with their ledger transactions and entries
have been stored for OTHER sessions, then ``VACUUM ANALYZE``d (the state
autovacuum leaves a table in) and checkpointed; the empty database gets the same
before the first measurement (no autovacuum nor checkpoint I/O inside either).
Target: full/empty p50 <= 1.2. The load average at each measurement is recorded:
the two are minutes apart, so run it on an idle machine.

The history is written by PostgreSQL itself (``INSERT … SELECT generate_series``,
chunks of 100,000 spins, each chunk one statement writing the spins, one ledger
transaction per spin and its two entries), for 200 sessions opened and fed through
the services beforehand; every bulk spin is a losing spin at the minimum stake
(session -> house), each spin's ``balance_after`` is the session's running
balance, and the sessions' balance, totals, spin count and version are then moved
by what their spins took. So the books stay valid: the scenario ends with the
ledger reconciliation (``accounts.reconcile``) and reports it.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections import Counter
from decimal import Decimal

from django.db import DatabaseError, connection

from bench.common import Config, demo_game, make_players, ms, percentile, reset_data
from bench.report import load_average
from casino import services
from casino.models import GameSession

SESSIONS = 200  # the other players, each with an open session the history belongs to
CHUNK = 100_000
FEED = Decimal("1000.00")
WARMUP = 30

BULK_SQL = """
WITH g AS (
    SELECT i, (%(sids)s::bigint[])[1 + i %% %(k)s] AS sid, i / %(k)s + 1 AS nth,
           now() - (%(total)s - i) * interval '50 milliseconds' AS at
      FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS i
), sp AS (
    INSERT INTO casino_spin
           (created_at, updated_at, session_id, session_month, idempotency_key, stake, win, boost, stops, symbols,
            balance_after, free_spin)
    SELECT at, at, sid, date_trunc('month', s.created_at AT TIME ZONE 'UTC')::date, 'bulk-' || i, %(stake)s, 0, 0,
           '[1, 2, 3]', '["bulk", "bulk", "bulk"]', %(feed)s - nth * %(stake)s, false
      FROM g JOIN casino_gamesession s ON s.id = g.sid
 RETURNING id, session_id, idempotency_key, created_at
), tx AS (
    INSERT INTO accounts_ledgertransaction (kind, idempotency_key, reference, description, created_at, updated_at)
    SELECT 'spin', 'spin:' || session_id || ':' || idempotency_key, 'spin:' || id, %(description)s,
           created_at, created_at
      FROM sp
 RETURNING id, idempotency_key, created_at
), legs AS (
    INSERT INTO accounts_ledgerentry (transaction_id, account, amount, created_at, updated_at)
    SELECT tx.id, leg.account, leg.amount, tx.created_at, tx.created_at
      FROM tx, LATERAL (VALUES ('session:' || split_part(tx.idempotency_key, ':', 2), -%(stake)s::numeric),
                               ('system:house', %(stake)s::numeric)) AS leg(account, amount)
)
SELECT session_id, count(*) FROM sp GROUP BY session_id
"""

SETTLE_SQL = """
UPDATE casino_gamesession s
   SET version = s.version + 1, balance = s.balance - n.spins * %(stake)s,
       total_staked = s.total_staked + n.spins * %(stake)s, spin_count = s.spin_count + n.spins
  FROM unnest(%(sids)s::bigint[], %(counts)s::bigint[]) AS n(sid, spins)
 WHERE s.id = n.sid
"""

TABLES = ("casino_spin", "accounts_ledgertransaction", "accounts_ledgerentry", "casino_gamesession")


def _settle() -> None:
    """The same footing for both measurements: the tables vacuumed and analysed (the state
    autovacuum leaves them in, and no autovacuum starting mid-measurement), and dirty buffers
    written out, so no checkpoint's I/O lands in a measurement (the history is ~1 GB of WAL)."""
    with connection.cursor() as cur:
        for table in TABLES:
            cur.execute(f"VACUUM ANALYZE {table}")
        with contextlib.suppress(DatabaseError):  # CHECKPOINT needs a superuser: measure anyway
            cur.execute("CHECKPOINT")


def _spin_p50(session_pk: int, stake: Decimal, samples: int) -> dict:
    """``samples`` spins one after the other on one session; p50/p99 of the last ones (warm-up dropped)."""
    _settle()
    session = GameSession(pk=session_pk)
    latencies = []
    for i in range(WARMUP + samples):
        t0 = time.perf_counter()
        services.spin(session=session, stake=stake, idempotency_key=uuid.uuid4().hex)
        if i >= WARMUP:
            latencies.append(time.perf_counter() - t0)
    return {
        "spins": samples,
        "p50_ms": ms(percentile(latencies, 50)),
        "p99_ms": ms(percentile(latencies, 99)),
        "load_average": load_average(),
    }


def _store_history(*, sids: list[int], rows: int, stake: Decimal, description: str) -> dict:
    per_session = Counter()
    from datetime import timedelta

    from django.utils import timezone

    from core import partitions

    # the rows reach back rows x 50 ms: their months need partitions (not the default one)
    partitions.ensure_partitions(months_ahead=2, now=timezone.now() - timedelta(milliseconds=50 * rows))
    t0 = time.monotonic()
    with connection.cursor() as cur:
        for lo in range(0, rows, CHUNK):
            hi = min(rows, lo + CHUNK) - 1
            cur.execute(
                BULK_SQL,
                {"sids": sids, "k": len(sids), "total": rows, "lo": lo, "hi": hi, "stake": stake, "feed": FEED,
                 "description": description},
            )  # fmt: skip
            per_session.update(dict(cur.fetchall()))
        cur.execute(SETTLE_SQL, {"sids": list(per_session), "counts": list(per_session.values()), "stake": stake})
        insert_s = time.monotonic() - t0
        _settle()
        cur.execute("SELECT count(*) FROM casino_spin")
        spins = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM accounts_ledgertransaction")
        transactions = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM accounts_ledgerentry")
        entries = cur.fetchone()[0]
    return {
        "spins_stored": spins,
        "transactions_stored": transactions,
        "entries_stored": entries,
        "insert_s": round(insert_s, 1),
        "insert_and_vacuum_s": round(time.monotonic() - t0, 1),
    }


def run(config: Config) -> dict:
    from accounts.reconcile import reconcile

    rows = config.n(1_000_000, 100_000)
    samples = config.n(2_000, 200)
    reset_data()
    game = demo_game()
    stake = game.min_stake
    if rows // SESSIONS * stake > FEED:
        raise RuntimeError("the history would take the bulk sessions below zero: raise FEED")
    # All sessions exist before the first measurement: the only change between the two is the history.
    measured = make_players(2, prefix="growth", deposit=Decimal("5000.00"))
    others = make_players(SESSIONS, prefix="history", deposit=FEED)
    sessions = []
    for player in [*measured, *others]:
        session = services.open_session(player=player, game=game)
        services.feed(session=session, amount=FEED, idempotency_key=f"seed-{session.pk}")
        sessions.append(session.pk)
    empty = _spin_p50(sessions[0], stake, samples)
    stored = _store_history(sids=sessions[2:], rows=rows, stake=stake, description=f"Spin on {game.name}")
    full = _spin_p50(sessions[1], stake, samples)
    report = reconcile()
    return {
        "history_rows": rows,
        "other_sessions": SESSIONS,
        "empty": empty,
        "full": full,
        **stored,
        "p50_ratio": round(full["p50_ms"] / empty["p50_ms"], 3) if empty["p50_ms"] else None,
        "ledger_reconciles": report.ok,
    }
