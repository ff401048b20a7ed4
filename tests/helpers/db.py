"""Database helpers for tests: which database served a block's queries (issue 20's router
tests); a write held uncommitted while another thread acts (lock-ordering races)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import close_old_connections, connection, connections, transaction


class Served:
    """The SQL each alias ran inside the block, logged without connecting anew (the replica may be
    down): ``served.on("replica", "accounts_ledgerentry")``, ``served.primary``, ``served.replica``."""

    ALIASES = ("default", "replica")

    def __enter__(self):
        self._debug = {}
        for alias in self.ALIASES:
            conn = connections[alias]
            self._debug[alias] = conn.force_debug_cursor
            conn.force_debug_cursor = True
            conn.queries_log.clear()
        return self

    def __exit__(self, *exc):
        self.logs = {}
        for alias in self.ALIASES:
            conn = connections[alias]
            self.logs[alias] = [q["sql"] for q in conn.queries_log]
            conn.force_debug_cursor = self._debug[alias]

    @property
    def primary(self) -> list[str]:
        return self.logs["default"]

    @property
    def replica(self) -> list[str]:
        return self.logs["replica"]

    def on(self, alias: str, table: str) -> bool:
        return any(f'"{table}"' in sql for sql in self.logs[alias])


def in_thread(target: Callable[[], object]) -> tuple[threading.Thread, dict]:
    """Start ``target`` on its own thread and database connection; its result (or the exception
    it raised) lands in the dict under "result"."""
    box: dict[str, object] = {}

    def work():
        try:
            box["result"] = target()
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            box["result"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=work)
    thread.start()
    return thread, box


def while_uncommitted(
    write: Callable[[], object], act: Callable[[], object], *, wait: float = 0.7
) -> tuple[bool, object]:
    """Run ``write`` in a transaction on one thread and hold it uncommitted; meanwhile run ``act``
    on another thread (each its own connection). Returns (whether ``act`` was still waiting after
    ``wait`` seconds, i.e. blocked behind the write; what ``act`` returned or raised once the write
    committed)."""
    written, release = threading.Event(), threading.Event()

    def hold():
        with transaction.atomic():
            write()
            written.set()
            release.wait(10)

    holder, held = in_thread(hold)
    assert written.wait(10), f"the write did not happen: {held.get('result')!r}"
    actor, acted = in_thread(act)
    actor.join(wait)
    waited = actor.is_alive()
    release.set()
    holder.join(10)
    actor.join(10)
    close_old_connections()
    return waited, acted.get("result")
