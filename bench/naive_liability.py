"""The NAIVE liability counters, for the liability_storm scenario only (never used by the app).

Both keep a selection's liability in ONE row that every bet writes, in the bet's transaction:
the selection's ``LiabilityShard`` number 0, so the table, the bet and its transaction are the
app's own and the only difference measured is one hot row against K shards. The bench swaps
one of them in for ``casino.services.liability.reserve`` inside the worker processes of that
round; ``place_sportsbet`` is otherwise unchanged.

* ``reserve_versioned``, THE naive design (the target's baseline): the house's way to change an
  aggregate (CONVENTIONS, ``core.versioning``): read the total, check the limit, write it back
  only if nobody wrote since (a compare-and-set; a lost race is ``ConcurrencyConflict``, and
  the bet's own ``retry_on_conflict`` re-runs the whole bet with jittered backoff, at most
  ``CONFLICT_RETRY_ATTEMPTS`` times). The seeds' hot aggregate: bursts turn into conflicts.
  The total is its own version (it only grows while the storm runs: no settlement, no
  cash-out), so ``reserved = <what was read>`` is the version check.
* ``reserve_locked``, the strongest single-row design: one conditional in-place UPDATE
  (``reserved = reserved + x WHERE reserved + x <= limit``), the app's strict statement with
  K = 1: no lost race, every bet queues on the row lock until the bet before commits.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import connection

from casino.exceptions import LiabilityLimitReached
from casino.models import Selection
from casino.models.sportsbook import LiabilityShard
from core import metrics
from core.exceptions import ConcurrencyConflict

SHARD = LiabilityShard._meta.db_table
SELECTION = Selection._meta.db_table
LABEL = "bench.naive_liability"


def prepare(*, selection_id: int) -> None:
    """The one counter row (shard 0) of the selection."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {SHARD} (selection_id, shard, reserved) VALUES (%s, 0, 0) "  # noqa: S608 - meta
            "ON CONFLICT (selection_id, shard) DO NOTHING",
            [selection_id],
        )


def reserve_versioned(*, selection: Selection, exposure: Decimal, odds: Decimal | None = None) -> None:
    """Read the selection's total, refuse if ``total + exposure`` is over the limit, else write
    ``total + exposure`` if the row still holds ``total`` (``ConcurrencyConflict`` if not: the
    caller's retry re-runs the bet)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT ls.id, ls.reserved, s.max_liability FROM {SHARD} ls "  # noqa: S608 - meta
            f"JOIN {SELECTION} s ON s.id = ls.selection_id WHERE ls.selection_id = %s AND ls.shard = 0",
            [selection.pk],
        )
        row_id, total, limit = cursor.fetchone()
        if total + exposure > limit:
            raise LiabilityLimitReached("The naive counter is full.")
        cursor.execute(
            f"UPDATE {SHARD} SET reserved = %s WHERE id = %s AND reserved = %s",  # noqa: S608 - meta
            [total + exposure, row_id, total],
        )
        if cursor.rowcount != 1:
            metrics.record("conflict", LABEL, selection.pk)
            raise ConcurrencyConflict(label=LABEL, pk=selection.pk)


def reserve_locked(*, selection: Selection, exposure: Decimal, odds: Decimal | None = None) -> None:
    """Add ``exposure`` to the selection's single counter row in place, or refuse (every bet on
    the selection waits for the one before it to commit)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {SHARD} ls SET reserved = ls.reserved + %(x)s FROM {SELECTION} s "  # noqa: S608 - meta
            "WHERE s.id = ls.selection_id AND ls.selection_id = %(selection)s AND ls.shard = 0 "
            "AND ls.reserved + %(x)s <= s.max_liability RETURNING ls.reserved",
            {"selection": selection.pk, "x": exposure},
        )
        if cursor.fetchone() is None:
            raise LiabilityLimitReached("The naive counter is full.")


RESERVE = {"naive": reserve_versioned, "locked": reserve_locked}
