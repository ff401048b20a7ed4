"""Which database served the queries of a block (issue 20's router tests)."""

from __future__ import annotations

from django.db import connections


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
