"""Create the database named in DATABASE_URL if it does not exist yet."""

import os
import sys

import dj_database_url
import psycopg

cfg = dj_database_url.parse(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/casino"))
name = cfg["NAME"]
conninfo = {k: v for k, v in {
    "host": cfg.get("HOST") or "127.0.0.1", "port": cfg.get("PORT") or 5432,
    "user": cfg.get("USER") or "postgres", "password": cfg.get("PASSWORD") or None, "dbname": "postgres",
}.items() if v is not None}
with psycopg.connect(**conninfo, autocommit=True) as conn:
    exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
    if not exists:
        conn.execute(f'CREATE DATABASE "{name}"')
        print(f"created database {name}")
sys.exit(0)
