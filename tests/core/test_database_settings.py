"""The database tier chosen by environment (issue 20): settings are read in a fresh process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRINT = (
    "import django, json; django.setup(); from django.conf import settings as s; "
    "d = s.DATABASES; print(json.dumps({a: {'port': d[a]['PORT'], 'name': d[a]['NAME'], "
    "'ssc': d[a].get('DISABLE_SERVER_SIDE_CURSORS'), 'prep': d[a]['OPTIONS'].get('prepare_threshold', 'unset')} "
    "for a in d} | {'replicas': s.READ_REPLICAS, 'lock': s.SESSION_LOCK_ALIAS}))"
)


def settings_with(argv0: str = "-c", extra_args=(), **env) -> dict:
    environ = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
    environ |= {"DJANGO_SETTINGS_MODULE": "casino.settings"} | env
    code = f"import sys; sys.argv = [{argv0!r}, *{list(extra_args)!r}]; " + PRINT
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environ, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_one_database_by_default():
    got = settings_with(DATABASE_URL="postgres://postgres@127.0.0.1:5432/casino_x")
    assert got["replicas"] == [] and got["lock"] == "default"
    for alias in ("default", "direct", "replica"):
        assert (got[alias]["port"], got[alias]["name"]) == (5432, "casino_x")
    assert got["default"]["ssc"] is False and got["default"]["prep"] == "unset"


def test_behind_a_transaction_pooler_no_server_cursors_nor_prepared_statements():
    got = settings_with(
        DATABASE_URL="postgres://postgres@127.0.0.1:6432/casino_x",
        DIRECT_DATABASE_URL="postgres://postgres@127.0.0.1:5432/casino_x",
        REPLICA_DATABASE_URL="postgres://postgres@127.0.0.1:5433/casino_x",
    )
    assert got["default"]["port"] == 6432 and got["default"]["ssc"] is True and got["default"]["prep"] is None
    assert got["direct"]["port"] == 5432 and got["lock"] == "direct"
    assert got["replica"]["port"] == 5433 and got["replicas"] == ["replica"]


@pytest.mark.parametrize("command", ["migrate", "showmigrations", "makemigrations"])
def test_schema_commands_run_on_the_direct_connection(command):
    got = settings_with(
        "manage.py",
        [command],
        DATABASE_URL="postgres://postgres@127.0.0.1:6432/casino_x",
        DIRECT_DATABASE_URL="postgres://postgres@127.0.0.1:5432/casino_x",
    )
    assert got["default"]["port"] == 5432 and got["default"]["ssc"] is False


def test_other_commands_use_the_pooler():
    got = settings_with(
        "manage.py",
        ["reconcile"],
        DATABASE_URL="postgres://postgres@127.0.0.1:6432/casino_x",
        DIRECT_DATABASE_URL="postgres://postgres@127.0.0.1:5432/casino_x",
    )
    assert got["default"]["port"] == 6432
