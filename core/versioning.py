"""The one optimistic-concurrency primitive for versioned aggregates.

Writes are conditional: ``UPDATE … SET …, version = version + 1 WHERE id = %s
AND version = %s``. Zero rows updated means somebody else wrote first: a typed
``ConcurrencyConflict``. ``retry_on_conflict`` re-runs a whole operation (which
re-reads state) a bounded number of times with jittered exponential backoff.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.db import OperationalError, models
from django.db.models import F

from core import metrics
from core.exceptions import ConcurrencyConflict

T = TypeVar("T")


def versioned_update(model: type[models.Model], *, pk, version: int, **values) -> int:
    """Apply ``values`` to row ``pk`` only if it is still at ``version``.

    Returns the new version. Raises ``ConcurrencyConflict`` when the row moved on
    (or no longer exists).
    """
    updated = model._default_manager.filter(pk=pk, version=version).update(version=F("version") + 1, **values)
    if updated != 1:
        label = model._meta.label_lower
        metrics.record("conflict", label, pk)
        raise ConcurrencyConflict(label=label, pk=pk)
    return version + 1


def retry_on_conflict(
    operation: Callable[[], T],
    *,
    attempts: int | None = None,
    base_delay: float = 0.005,
    max_delay: float = 0.25,
) -> T:
    """Run ``operation`` until it does not raise ``ConcurrencyConflict``.

    ``operation`` must re-read what it decides on (it is called afresh each time)
    and should be its own ``transaction.atomic()`` block. After ``attempts``
    tries the last conflict propagates to the caller.
    """
    attempts = attempts or settings.CONFLICT_RETRY_ATTEMPTS
    for attempt in range(1, attempts + 1):
        try:
            return operation()
        except OperationalError as exc:
            if not _is_lost_race(exc):
                raise
            conflict = ConcurrencyConflict(label=f"postgresql.{_sqlstate(exc)}")
            metrics.record("conflict", conflict.label)
            if attempt == attempts:
                metrics.record("exhausted", conflict.label)
                raise conflict from exc
            metrics.record("retry", conflict.label)
            _backoff(attempt, base_delay, max_delay)
        except ConcurrencyConflict as conflict:
            if attempt == attempts:
                metrics.record("exhausted", conflict.label, conflict.pk)
                raise
            metrics.record("retry", conflict.label, conflict.pk)
            _backoff(attempt, base_delay, max_delay)
    raise AssertionError("unreachable")


# PostgreSQL's own lost races: a deadlock victim or a serialization failure. The
# transaction (or savepoint) is rolled back, so re-running the operation is safe.
LOST_RACE_SQLSTATES = {"40P01", "40001"}


def _sqlstate(exc: BaseException) -> str:
    return getattr(exc.__cause__, "sqlstate", None) or ""


def _is_lost_race(exc: BaseException) -> bool:
    return _sqlstate(exc) in LOST_RACE_SQLSTATES


def _backoff(attempt: int, base_delay: float, max_delay: float) -> None:
    ceiling = min(max_delay, base_delay * (2 ** (attempt - 1)))
    time.sleep(random.uniform(0, ceiling))  # noqa: S311 - jitter, not security
