"""Capture the exact SQL one service call sends, and turn it into a pgbench script.

``capture(fn)`` runs ``fn`` with a ``connection.execute_wrapper`` that records
every statement (savepoints included) with its parameters and whether it ran
inside ``transaction.atomic``. ``to_pgbench(...)`` renders each statement with
its literal parameters (psycopg's own client-side binding, as the app sends
them), wraps the atomic block in BEGIN/COMMIT, and swaps the values that must
differ per replayed transaction for pgbench variables:

- ``tokens``: literal text -> pgbench expression (ids and keys; the capture is
  made with distinctive ids so plain text replacement is unambiguous). A
  token inside a string literal becomes a concatenation
  (``'session:' || :sid``);
- optimistic version checks (``"t"."version" = 3`` in an UPDATE's WHERE) read
  the version the same transaction just SELECTed: that SELECT gets
  ``\\gset t_`` and the check becomes ``:t_version``, exactly what the app does;
- ids returned by ``INSERT … RETURNING`` (for ``returning`` tables) are kept
  with ``\\gset t_`` and later uses become ``:t_id``;
- ``keep``: other statements whose result later statements use (a regular
  expression searched in the rendered SQL -> ``\\gset`` prefix), e.g. the free
  limit token a strict redemption claims (``SELECT id FROM promotions_limittoken …
  FOR UPDATE SKIP LOCKED``); the value's literal is then swapped for the
  variable through ``tokens`` (``"9500001": ":promotions_limittoken_id"``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import connection
from psycopg import ClientCursor

QUOTED = re.compile(r"'(?:[^']|'')*'")
# ORM or hand-written SQL alike: quoted or bare names, with or without a table prefix.
UPDATE_TABLE = re.compile(r'^UPDATE "?(\w+)"?')
VERSION_CHECK = re.compile(r'((?:"?\w+"?\.)?"?version"? = )(\d+)')
INSERT_TABLE = re.compile(r'^INSERT INTO "?(\w+)"?')


def _reads(sql: str, table: str) -> bool:
    """A SELECT that reads ``table`` (in its FROM or a JOIN) and returns a version column."""
    return (
        sql.startswith("SELECT ")
        and re.search(rf'\b(?:FROM|JOIN) "?{table}"?(?:[\s)]|$)', sql) is not None
        and re.search(r'(?:^SELECT |, )(?:"?\w+"?\.)?"?version"?(?:,| FROM )', sql) is not None
    )


@dataclass
class Statement:
    sql: str
    params: object
    in_atomic: bool


def capture(fn, *args, **kwargs) -> tuple[object, list[Statement]]:
    statements: list[Statement] = []

    def wrapper(execute, sql, params, many, context):
        if many:
            raise RuntimeError("executemany is not captured")
        statements.append(Statement(sql=sql, params=params, in_atomic=connection.in_atomic_block))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        value = fn(*args, **kwargs)
    return value, statements


def render(statement: Statement) -> str:
    """The statement with its parameters bound client-side, on one line."""
    connection.ensure_connection()
    if statement.params is None:
        sql = statement.sql
    else:
        sql = ClientCursor(connection.connection).mogrify(statement.sql, statement.params)
    return " ".join(sql.split())


def _substitute(sql: str, tokens: dict[str, str]) -> str:
    if not tokens:
        return sql
    bare = re.compile(
        r"(?<![\w.:])(" + "|".join(re.escape(t) for t in sorted(tokens, key=len, reverse=True)) + r")(?![\w.])"
    )
    inner = re.compile("|".join(re.escape(t) for t in sorted(tokens, key=len, reverse=True)))

    def literal(match: re.Match) -> str:
        text = match.group(0)
        body = text[1:-1]
        if not inner.search(body):
            return text
        parts, last = [], 0
        for m in inner.finditer(body):
            if m.start() > last:
                parts.append("'" + body[last : m.start()] + "'")
            parts.append(f"({tokens[m.group(0)]})::text")
            last = m.end()
        if last < len(body):
            parts.append("'" + body[last:] + "'")
        return "(" + " || ".join(parts) + ")"

    out, last = [], 0
    for m in QUOTED.finditer(sql):
        out.append(bare.sub(lambda b: tokens[b.group(1)], sql[last : m.start()]))
        out.append(literal(m))
        last = m.end()
    out.append(bare.sub(lambda b: tokens[b.group(1)], sql[last:]))
    return "".join(out)


def to_pgbench(
    statements: list[Statement],
    *,
    tokens: dict[str, str],
    returning: set[str],
    header: list[str],
    keep: dict[str, str] | None = None,
) -> str:
    lines = [render(s) for s in statements]
    gset: dict[int, str] = {}
    for i, sql in enumerate(lines):
        for pattern, prefix in (keep or {}).items():
            if re.search(pattern, sql):
                gset[i] = prefix
        if (m := UPDATE_TABLE.match(sql)) and " WHERE " in sql:
            table = m.group(1)
            head, where = sql.split(" WHERE ", 1)
            if VERSION_CHECK.search(where):
                reader = next((j for j in range(i - 1, -1, -1) if _reads(lines[j], table)), None)
                if reader is None:
                    raise RuntimeError(f"no SELECT of {table}'s version before its versioned UPDATE: {sql[:300]}")
                gset[reader] = f"{table}_"
                lines[i] = head + " WHERE " + VERSION_CHECK.sub(rf"\g<1>:{table}_version", where)
        elif (m := INSERT_TABLE.match(sql)) and m.group(1) in returning and " RETURNING " in sql:
            gset[i] = f"{m.group(1)}_"
    script = [f"-- {line}" for line in header]
    was_atomic = False
    for i, (statement, sql) in enumerate(zip(statements, lines, strict=True)):
        if statement.in_atomic and not was_atomic:
            script.append("BEGIN;")
        if was_atomic and not statement.in_atomic:
            script.append("COMMIT;")
        was_atomic = statement.in_atomic
        sql = _substitute(sql, tokens)
        script.append(f"{sql} \\gset {gset[i]}" if i in gset else f"{sql};")
    if was_atomic:
        script.append("COMMIT;")
    return "\n".join(script) + "\n"
