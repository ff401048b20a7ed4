"""Counters for optimistic-concurrency conflicts and retries.

Kept in two places: an in-process counter (read by benchmarks inside one
process) and Redis (read by staff pages across web and worker processes).
Redis is best effort: a metric must never break a money operation.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from functools import lru_cache

import redis
from django.conf import settings

log = logging.getLogger(__name__)

_local = Counter()
_lock = threading.Lock()

REDIS_HASH = "casino:metrics"
REDIS_EVENTS = "casino:metrics:events"
EVENTS_KEPT = 10_000


@lru_cache(maxsize=1)
def _redis():
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=0.5, socket_connect_timeout=0.5)


def record(event: str, label: str, pk=None) -> None:
    """Count ``event`` ("conflict", "retry", "exhausted") for aggregate ``label``."""
    key = f"{event}:{label}"
    with _lock:
        _local[key] += 1
    try:
        pipe = _redis().pipeline(transaction=False)
        pipe.hincrby(REDIS_HASH, key, 1)
        pipe.lpush(REDIS_EVENTS, f"{time.time():.6f}|{event}|{label}|{'' if pk is None else pk}")
        pipe.ltrim(REDIS_EVENTS, 0, EVENTS_KEPT - 1)
        pipe.execute()
    except Exception:  # noqa: BLE001 - metrics are best effort by design
        log.debug("metrics: redis unavailable", exc_info=True)


def local_counts() -> dict[str, int]:
    with _lock:
        return dict(_local)


def reset_local() -> None:
    with _lock:
        _local.clear()


def shared_counts() -> dict[str, int]:
    """Counters since start across all processes (empty if Redis is down)."""
    try:
        raw = _redis().hgetall(REDIS_HASH)
    except Exception:  # noqa: BLE001
        return {}
    return {k.decode(): int(v) for k, v in raw.items()}


def recent_events(limit: int = 1000) -> list[tuple[float, str, str, str]]:
    """Newest first: (unix time, event, aggregate label, pk)."""
    try:
        raw = _redis().lrange(REDIS_EVENTS, 0, limit - 1)
    except Exception:  # noqa: BLE001
        return []
    events = []
    for item in raw:
        ts, event, label, pk = item.decode().split("|", 3)
        events.append((float(ts), event, label, pk))
    return events
