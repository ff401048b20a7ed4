"""The NAIVE liability counter, for the liability_storm scenario only (never used by the app).

One counter row per selection that every bet writes, in the bet's transaction:
``UPDATE ... SET reserved = reserved + x WHERE ... AND reserved + x <= limit``. It is
the selection's ``LiabilityShard`` number 0 (the same table and the same conditional
UPDATE as the app's strict mode, with K = 1), so the only difference measured is one hot
row against K shards. The bench swaps it in for ``casino.services.liability.reserve`` inside
the worker processes of the naive rounds; ``place_sportsbet`` is otherwise unchanged.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import connection

from casino.exceptions import LiabilityLimitReached
from casino.models import Selection
from casino.models.sportsbook import LiabilityShard

SHARD = LiabilityShard._meta.db_table
SELECTION = Selection._meta.db_table


def prepare(*, selection_id: int) -> None:
    """The one counter row (shard 0) of the selection."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {SHARD} (selection_id, shard, reserved) VALUES (%s, 0, 0) "  # noqa: S608 - meta
            "ON CONFLICT (selection_id, shard) DO NOTHING",
            [selection_id],
        )


def reserve(*, selection: Selection, exposure: Decimal, odds: Decimal | None = None) -> None:
    """Add ``exposure`` to the selection's single counter row, or refuse (a hot row: every bet
    on the selection waits for the one before it to commit)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {SHARD} ls SET reserved = ls.reserved + %(x)s FROM {SELECTION} s "  # noqa: S608 - meta
            "WHERE s.id = ls.selection_id AND ls.selection_id = %(selection)s AND ls.shard = 0 "
            "AND ls.reserved + %(x)s <= s.max_liability RETURNING ls.reserved",
            {"selection": selection.pk, "x": exposure},
        )
        if cursor.fetchone() is None:
            raise LiabilityLimitReached("The naive counter is full.")
