"""Monthly partitions of the history tables (issue 20): PostgreSQL declarative RANGE partitioning.

``settings.PARTITIONED_TABLES`` names each partitioned table and its key column
(``accounts_ledgerentry`` by ``created_at``, ``casino_spin`` by ``session_month``). Each has one
partition per UTC month, ``<table>_pYYYYMM``, and a DEFAULT partition, ``<table>_default``: the
safety net that takes a row whose month has no partition yet, so an insert never fails for it.
A row there is a missing partition (``reconcile`` reports it); ``ensure_partitions`` moves such rows
into the partition it creates for their month.

``ensure_partitions`` (the beat task ``core.tasks.ensure_partitions``, ``manage.py partitions
--ensure``) creates the partitions of this month and ``PARTITION_MONTHS_AHEAD`` months ahead. It
is safe to run twice or concurrently (an advisory lock per table, then a re-check). A new
partition is made as a plain table and ATTACHed: that holds SHARE UPDATE EXCLUSIVE on the parent
(reads and writes go on) and ACCESS EXCLUSIVE on the default partition only while it is checked
to hold no row of the new month, with a short ``lock_timeout`` so that it never queues the app
behind a long query (it gives up, and the next run tries again: it works months ahead).

This module is generic (the base layer): it knows tables and columns from settings, no model.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from django.conf import settings
from django.db import connections, transaction
from django.db.models import QuerySet
from django.utils import timezone

log = logging.getLogger(__name__)

DEFAULT_SUFFIX = "_default"
LOCK_TIMEOUT = "5s"
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


@dataclass(frozen=True)
class Partition:
    table: str
    name: str
    bounds: str  # PostgreSQL's own text, e.g. "FOR VALUES FROM ('2026-11-01') TO ('2026-12-01')" or "DEFAULT"
    rows: int
    exact: bool  # rows counted, not the planner's estimate

    @property
    def is_default(self) -> bool:
        return self.bounds == "DEFAULT"


def partitioned_tables() -> dict[str, str]:
    """{table: partition key column} from settings, names checked (they go into DDL)."""
    tables = dict(getattr(settings, "PARTITIONED_TABLES", {}))
    for name in (*tables, *tables.values()):
        if not _NAME.match(name):
            raise ValueError(f"not a plain identifier: {name!r}")
    return tables


def month_start(value: date | datetime) -> date:
    """The first day of ``value``'s month, in UTC for an aware datetime."""
    if isinstance(value, datetime):
        if timezone.is_aware(value):
            value = value.astimezone(UTC)
        value = value.date()
    return value.replace(day=1)


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def partition_name(table: str, month: date) -> str:
    return f"{table}_p{month:%Y%m}"


def default_partition_name(table: str) -> str:
    return f"{table}{DEFAULT_SUFFIX}"


def is_partitioned(table: str, *, using: str = "default") -> bool:
    with connections[using].cursor() as cur:
        cur.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
            "WHERE c.relname = %s AND pg_table_is_visible(c.oid))",
            [table],
        )
        return cur.fetchone()[0]


def partitions(*, exact: bool = False, using: str = "default") -> list[Partition]:
    """Every partition of every partitioned table, by table and month (the default last).
    ``rows`` is the planner's estimate (``reltuples``, -1 before the first ANALYZE: shown as 0)
    unless ``exact``, which counts each partition (a full scan: for an operator, not a page)."""
    tables = partitioned_tables()
    out: list[Partition] = []
    with connections[using].cursor() as cur:
        for table in tables:
            cur.execute(
                """
                SELECT c.relname, pg_get_expr(c.relpartbound, c.oid), GREATEST(c.reltuples, 0)::bigint
                FROM pg_inherits i
                JOIN pg_class c ON c.oid = i.inhrelid
                JOIN pg_class p ON p.oid = i.inhparent
                WHERE p.relname = %s AND pg_table_is_visible(p.oid)
                ORDER BY pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT', c.relname
                """,
                [table],
            )
            for name, bounds, estimate in cur.fetchall():
                rows = estimate
                if exact:
                    cur.execute(f'SELECT count(*) FROM "{name}"')  # noqa: S608 - a name from the catalog
                    rows = cur.fetchone()[0]
                out.append(Partition(table=table, name=name, bounds=bounds, rows=rows, exact=exact))
    return out


def default_partition_rows(table: str, *, using: str = "default") -> int | None:
    """Rows in ``table``'s DEFAULT partition (exact; it should hold none), or None when the
    table is not partitioned or has no default partition."""
    default = _default_partition(table, using=using)
    if default is None:
        return None
    with connections[using].cursor() as cur:
        cur.execute(f'SELECT count(*) FROM "{default}"')  # noqa: S608 - a name from the catalog
        return cur.fetchone()[0]


def ensure_partitions(*, months_ahead: int | None = None, now: datetime | None = None) -> list[str]:
    """Create the monthly partitions of every partitioned table, this month (UTC) through
    ``months_ahead`` months ahead (``settings.PARTITION_MONTHS_AHEAD``), and one for every month
    that has rows waiting in a DEFAULT partition (they are moved into it, in the same transaction).

    Returns the names created (empty when all exist: safe to run again). One transaction per
    partition, so a lock timeout on one leaves the others made; a table that is not partitioned
    (its migration not applied yet) is skipped.
    """
    if months_ahead is None:
        months_ahead = getattr(settings, "PARTITION_MONTHS_AHEAD", 3)
    first = month_start(now or timezone.now())
    wanted = [add_months(first, n) for n in range(months_ahead + 1)]
    created: list[str] = []
    for table, column in partitioned_tables().items():
        if not is_partitioned(table):
            log.warning("%s is not partitioned: no partitions made", table)
            continue
        months = sorted(set(wanted) | set(_months_in_default(table, column)))
        for month in months:
            if (name := _create_month(table, column, month)) is not None:
                created.append(name)
    if created:
        log.info("partitions created: %s", ", ".join(created))
    return created


def explain(queryset: QuerySet, *, analyze: bool = False) -> str:
    """PostgreSQL's plan of ``queryset`` as text (what the bench prints: e.g. the monthly
    statement, ``accounts.selectors.wallet.statement(player=..., month=...)``, reads one
    partition). ``analyze`` runs the query (EXPLAIN ANALYZE)."""
    return queryset.explain(analyze=True) if analyze else queryset.explain()


def scanned_relations(queryset: QuerySet) -> set[str]:
    """The tables (partitions) ``queryset``'s plan reads: after pruning, one month's partition
    for a one-month statement."""
    plan = json.loads(queryset.explain(format="json"))
    found: set[str] = set()

    def walk(node: dict) -> None:
        if "Relation Name" in node:
            found.add(node["Relation Name"])
        for child in node.get("Plans", []):
            walk(child)

    for entry in plan if isinstance(plan, list) else [plan]:
        walk(entry["Plan"])
    return found


# --- internals -----------------------------------------------------------------------------


def _default_partition(table: str, *, using: str = "default") -> str | None:
    with connections[using].cursor() as cur:
        cur.execute(
            "SELECT d.relname FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
            "JOIN pg_class d ON d.oid = p.partdefid WHERE c.relname = %s AND pg_table_is_visible(c.oid)",
            [table],
        )
        row = cur.fetchone()
    return row[0] if row else None


def _column_type(cur, table: str, column: str) -> str:
    cur.execute(
        "SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
        "WHERE a.attrelid = %s::regclass AND a.attname = %s AND NOT a.attisdropped",
        [table, column],
    )
    return cur.fetchone()[0]


def _bound(column_type: str, month: date) -> str:
    """A partition bound literal for ``month``'s first instant (UTC for a timestamp with time zone)."""
    if column_type == "date":
        return f"'{month:%Y-%m-%d}'"
    if column_type == "timestamp with time zone":
        return f"'{month:%Y-%m-%d} 00:00:00+00'"
    raise ValueError(f"monthly partitions need a date or timestamptz key, not {column_type}")


def _month_expr(column: str, column_type: str) -> str:
    """SQL for the first day of the UTC month of ``column``."""
    value = f"({column} AT TIME ZONE 'UTC')" if column_type == "timestamp with time zone" else column
    return f"date_trunc('month', {value})::date"


def _months_in_default(table: str, column: str) -> list[date]:
    default = _default_partition(table)
    if default is None:
        return []
    with connections["default"].cursor() as cur:
        expr = _month_expr(column, _column_type(cur, table, column))
        cur.execute(f'SELECT DISTINCT {expr} FROM "{default}"')  # noqa: S608 - names from settings/catalog
        return [row[0] for row in cur.fetchall()]


def _create_month(table: str, column: str, month: date) -> str | None:
    """Create ``table``'s partition for ``month`` unless it exists; rows of that month waiting in
    the default partition move into it. One transaction; returns the name if it was created."""
    name = partition_name(table, month)
    with transaction.atomic(using="default"), connections["default"].cursor() as cur:
        cur.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
        # One maker per table at a time (the beat task and an operator's command may meet).
        cur.execute("SELECT pg_advisory_xact_lock(hashtext('core.partitions'), hashtext(%s))", [table])
        cur.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
        if cur.fetchone()[0]:
            return None
        column_type = _column_type(cur, table, column)
        lower, upper = _bound(column_type, month), _bound(column_type, add_months(month, 1))
        default = _default_partition(table)
        # Parent first, then the default partition: the order ATTACH takes them in.
        cur.execute(f'LOCK TABLE "{table}" IN SHARE UPDATE EXCLUSIVE MODE')
        if default is not None:
            cur.execute(f'LOCK TABLE "{default}" IN ACCESS EXCLUSIVE MODE')
        cur.execute(f'CREATE TABLE "{name}" (LIKE "{table}" INCLUDING DEFAULTS INCLUDING CONSTRAINTS)')
        if default is not None:
            columns = ", ".join(f'"{c}"' for c in _columns(cur, table))
            cur.execute(
                f"""
                WITH moved AS (
                    DELETE FROM "{default}" WHERE "{column}" >= {lower} AND "{column}" < {upper}
                    RETURNING {columns}
                )
                INSERT INTO "{name}" ({columns}) SELECT {columns} FROM moved
                """  # noqa: S608 - names from settings and the catalog, bounds from dates
            )
            if cur.rowcount:
                log.warning("%s: moved %s rows from %s into %s", table, cur.rowcount, default, name)
        cur.execute(f'ALTER TABLE "{table}" ATTACH PARTITION "{name}" FOR VALUES FROM ({lower}) TO ({upper})')
    return name


def _columns(cur, table: str) -> list[str]:
    cur.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped "
        "ORDER BY attnum",
        [table],
    )
    return [row[0] for row in cur.fetchall()]
