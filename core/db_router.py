"""Where a query goes: the primary, or a streaming read replica (issue 20).

Every write goes to the primary ("default"). A read goes to the replica only when all of these hold:

- it runs inside ``replica_reads()``: a read-only page (``settings.REPLICA_READ_VIEWS``: statements,
  histories, reports, admin changelists, marked by ``DatabaseRoutingMiddleware``) or a selector
  decorated ``@replica_selector``;
- a replica is configured (``settings.READ_REPLICAS``, from ``REPLICA_DATABASE_URL``);
- the read is not inside a transaction on the primary (a money transaction reads what it locks);
- the requester is not pinned to the primary: read-your-writes. A browser that sent a write (any
  unsafe method) reads from the primary for ``REPLICA_PIN_SECONDS`` after it, longer than the lag a
  replica may have and still be used. Celery tasks are always pinned;
- the model is one of the apps' own (``REPLICA_APPS``), never the user row, web sessions or the login
  throttle's records;
- the replica answers and is at most ``REPLICA_MAX_LAG_SECONDS`` behind, its WAL receiver streaming
  (``replica_health``: checked at most every ``REPLICA_CHECK_SECONDS`` per process; a replica that
  failed stays out for ``REPLICA_RETRY_SECONDS``).

A query that fails on the replica mid-page (it stopped after the check) does not give a 500: the
middleware marks the replica down and serves the page again from the primary.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass
from functools import wraps

from django.conf import settings
from django.db import DatabaseError, InterfaceError, connections
from django.db.models.query import QuerySet

PRIMARY = "default"
REPLICA_APPS = frozenset({"accounts", "casino", "promotions", "reports"})
PRIMARY_ONLY_MODELS = frozenset({"accounts.user"})

_replica_ok: ContextVar[bool] = ContextVar("replica_ok", default=False)
_pinned: ContextVar[bool] = ContextVar("pinned_to_primary", default=False)
# The replicas this request read from (a set the middleware gives each request).
_used: ContextVar[set | None] = ContextVar("replicas_used", default=None)

# 0 when caught up. A standby whose WAL receiver is not streaming is as far behind as its primary
# has gone since: unknown, so "too far". A server that is not a standby (a test mirror) is current.
LAG_SQL = """
SELECT CASE
  WHEN NOT pg_is_in_recovery() THEN 0
  WHEN NOT EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming') THEN 1e9
  WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
  ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 1e9)
END
"""


@dataclass
class _State:
    usable: bool
    until: float
    lag: float | None
    error: str = ""


class ReplicaHealth:
    """Per process (shared by its threads): is a replica usable now? Cached between checks."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._states: dict[str, _State] = {}

    def is_usable(self, alias: str) -> bool:
        state = self._states.get(alias)
        if state is not None and time.monotonic() < state.until:
            return state.usable
        return self.check(alias).usable

    def check(self, alias: str) -> _State:
        """Ask the replica now (on the calling thread's connection) and remember the answer."""
        try:
            with connections[alias].cursor() as cursor:
                cursor.execute(LAG_SQL)
                lag = float(cursor.fetchone()[0])
        except (DatabaseError, InterfaceError) as exc:
            return self.mark_down(alias, error=str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc))
        usable = lag <= settings.REPLICA_MAX_LAG_SECONDS
        state = _State(usable, time.monotonic() + settings.REPLICA_CHECK_SECONDS, lag, "" if usable else "lagging")
        with self._lock:
            self._states[alias] = state
        return state

    def mark_down(self, alias: str, *, error: str = "failed") -> _State:
        state = _State(False, time.monotonic() + settings.REPLICA_RETRY_SECONDS, None, error)
        with self._lock:
            self._states[alias] = state
        # a broken connection must not be reused when the replica comes back
        with suppress(DatabaseError, InterfaceError):
            connections[alias].close()
        return state

    def state(self, alias: str) -> _State | None:
        return self._states.get(alias)

    def reset(self) -> None:
        with self._lock:
            self._states.clear()


replica_health = ReplicaHealth()


def _routable(model) -> bool:
    meta = model._meta
    return meta.app_label in REPLICA_APPS and meta.label_lower not in PRIMARY_ONLY_MODELS


def read_alias(model=None) -> str:
    """The database a read made now should use."""
    if not _replica_ok.get() or _pinned.get() or not settings.READ_REPLICAS:
        return PRIMARY
    if model is not None and not _routable(model):
        return PRIMARY
    if connections[PRIMARY].in_atomic_block:
        return PRIMARY
    for alias in settings.READ_REPLICAS:
        if replica_health.is_usable(alias):
            used = _used.get()
            if used is not None:
                used.add(alias)
            return alias
    return PRIMARY


@contextmanager
def replica_reads() -> Iterator[None]:
    """Reads inside may go to a replica (when one is configured, current and this requester is not
    pinned). Also a decorator: ``@replica_reads()``."""
    token = _replica_ok.set(True)
    try:
        yield
    finally:
        _replica_ok.reset(token)


def begin_replica_reads():
    """``replica_reads()`` for a span that is not one block (a request's view and its rendering):
    returns the token for ``end_replica_reads``."""
    return _replica_ok.set(True)


def end_replica_reads(token) -> None:
    _replica_ok.reset(token)


def pin_begin():
    """``pinned_to_primary()`` for a span that is not one block (a Celery task): the token."""
    return _pinned.set(True)


def pin_end(token) -> None:
    _pinned.reset(token)


@contextmanager
def pinned_to_primary() -> Iterator[None]:
    """Every read inside goes to the primary, ``replica_reads`` or not."""
    token = _pinned.set(True)
    try:
        yield
    finally:
        _pinned.reset(token)


def replica_selector(func):
    """A read-only selector whose reads may go to a replica. A QuerySet it returns is bound to the
    database chosen at the call (a QuerySet runs later, outside this call)."""

    @wraps(func)
    def wrapper(*args, **kwargs):
        with replica_reads():
            result = func(*args, **kwargs)
            if isinstance(result, QuerySet) and result._db is None:
                result = result.using(read_alias(result.model))
            return result

    wrapper.replica_safe = True
    return wrapper


@contextmanager
def tracking_replicas() -> Iterator[set]:
    """Collect the replicas read from inside (the middleware's fallback needs to know)."""
    used: set = set()
    token = _used.set(used)
    try:
        yield used
    finally:
        _used.reset(token)


class PrimaryReplicaRouter:
    def db_for_read(self, model, **hints):
        instance = hints.get("instance")
        if instance is not None and instance._state.db:
            return instance._state.db  # a related object comes from where its owner came from
        return read_alias(model)

    def db_for_write(self, model, **hints):
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints):
        return True  # every alias holds the same data

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == PRIMARY
