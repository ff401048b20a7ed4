"""Helpers for the partitioned history tests (issue 20)."""

from datetime import UTC, date, datetime

from django.db import connection
from django.utils import timezone

from core import partitions


def where(table: str, pk: int) -> str:
    """The partition that holds row ``pk`` of ``table``."""
    with connection.cursor() as cur:
        cur.execute(f"SELECT tableoid::regclass::text FROM {table} WHERE id = %s", [pk])  # noqa: S608
        return cur.fetchone()[0]


def this_month() -> date:
    return partitions.month_start(timezone.now())


def mid_month(month: date) -> datetime:
    """Noon UTC on the 15th of ``month``: a time to set the clock to."""
    return datetime(month.year, month.month, 15, 12, 0, tzinfo=UTC)


def partition_names(table: str) -> set[str]:
    return {p.name for p in partitions.partitions() if p.table == table}
