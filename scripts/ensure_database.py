"""Create the database named in DATABASE_URL if it does not exist yet (`make db`).

scripts/ensure_services.py already does this for a local server; this covers a server on another
machine, as the URL's own role. A failure is one line on stderr saying what to do.
"""

import os
import sys

import dj_database_url
import psycopg
from psycopg import sql

cfg = dj_database_url.parse(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/casino"))
name = cfg["NAME"]
conninfo = {k: v for k, v in {
    "host": cfg.get("HOST") or "127.0.0.1", "port": cfg.get("PORT") or 5432,
    "user": cfg.get("USER") or "postgres", "password": cfg.get("PASSWORD") or None, "dbname": "postgres",
    "connect_timeout": 10,
}.items() if v is not None}  # fmt: skip
try:
    with psycopg.connect(**conninfo, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"created database {name}")
except psycopg.Error as exc:
    detail = " ".join(str(exc).split())
    where = f"{conninfo['host']}:{conninfo['port']}"
    print(f"ERROR: could not make sure the database {name} exists on {where} ({detail}): check DATABASE_URL, "
          f"or create it there as a superuser.", file=sys.stderr)  # fmt: skip
    sys.exit(1)
sys.exit(0)
