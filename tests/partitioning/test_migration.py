"""The migration to partitioned tables loses nothing, and neither does its reverse (issue 20).

In a scratch database of its own (``<database>_mig``, dropped afterwards): ``manage.py migrate``
up to the migrations before partitioning, rows over several months written with raw SQL (as
they were before: no session_month), ``migrate`` forward, every row compared with what was there,
value for value, and where each landed; then ``migrate`` back, and compared again.
"""

import os
import re
import subprocess
import sys
from datetime import UTC, datetime

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from core import partitions

pytestmark = [pytest.mark.django_db, pytest.mark.partitioning, pytest.mark.slow]

SPIN_COLUMNS = (
    "id, created_at, updated_at, idempotency_key, stake, win, boost, stops, symbols, balance_after, free_spin, "
    "session_id, bonus_balance_after, bonus_stake, bonus_win, nonce, boost_percent"
)
ENTRY_COLUMNS = "id, account, amount, created_at, updated_at, transaction_id"
NOW = datetime.now(UTC)
THIS_MONTH = partitions.month_start(NOW)

# When each session opened (UTC instants, written with other offsets where it matters), and its
# spins' times. The partition is the SESSION's month, whenever the spin was played.
SESSIONS = {
    "old": ("2019-12-31 23:59:59.999999+00", ["2020-01-01 00:00:01+00", "2020-01-02 10:00:00+00"]),
    "january": ("2025-01-10 10:00:00+00", ["2025-01-10 10:00:01+00", "2025-01-10 10:00:02+00"]),
    # 1 November 00:30 in Paris is still 31 October in UTC: an October session
    "eve": ("2026-11-01 00:30:00+01", ["2026-10-31 23:45:00+00", "2026-11-01 00:10:00+00", "2026-11-02 08:00:00+00"]),
    "now": (NOW.isoformat(), [NOW.isoformat()]),
}
EXPECTED_MONTH = {"old": "2019-12-01", "january": "2025-01-01", "eve": "2026-10-01", "now": f"{THIS_MONTH:%Y-%m-%d}"}
# Ledger entries on both sides of month boundaries: (created_at, expected partition month).
ENTRY_TIMES = [
    ("2026-10-31 23:59:59.999999+00", "202610"),
    ("2026-11-01 00:00:00+00", "202611"),
    ("2026-11-01 00:59:59+01", "202610"),  # 31 October 23:59:59 UTC
    ("2024-02-29 12:00:00+00", "202402"),
    (NOW.isoformat(), f"{THIS_MONTH:%Y%m}"),
]


@pytest.fixture
def scratch():
    """A fresh database next to the test database, and a way to run manage.py against it."""
    db = connection.settings_dict
    name = re.sub(r"^test_", "", db["NAME"]) + "_mig"
    server = {"host": db["HOST"], "port": db["PORT"], "user": db["USER"], "password": db["PASSWORD"] or None}
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    env = {k: v for k, v in os.environ.items() if k not in ("DIRECT_DATABASE_URL", "REPLICA_DATABASE_URL")}
    env["DATABASE_URL"] = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{name}"

    def manage(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    conn = psycopg.connect(dbname=name, autocommit=True, **server)
    conn.execute("SET TimeZone = 'UTC'")
    try:
        yield conn, manage
    finally:
        conn.close()
        with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fill(conn) -> dict[str, int]:
    """Players, a game, sessions and spins, ledger transactions and entries, as raw SQL of the
    schema before partitioning. Returns the session ids by name."""
    one = lambda sql, params=(): conn.execute(sql, params).fetchone()[0]  # noqa: E731
    players = [
        one(
            "INSERT INTO accounts_user (password, is_superuser, username, first_name, last_name, email, is_staff, "
            "is_active, date_joined, odds_format) VALUES ('!', false, %s, '', '', '', false, true, now(), 'decimal') "
            "RETURNING id",
            [f"mig{i}"],
        )
        for i in range(len(SESSIONS))
    ]
    for player in players:
        conn.execute(
            "INSERT INTO accounts_account (version, created_at, updated_at, balance, user_id) "
            "VALUES (0, now(), now(), 0, %s)",
            [player],
        )
    game = one(
        "INSERT INTO casino_game (created_at, updated_at, slug, name, description, min_stake, max_stake, reels, "
        "paytable, is_active) VALUES (now(), now(), 'mig', 'Mig', '', 0.10, 5.00, '[[\"a\"]]', '[]', true) "
        "RETURNING id"
    )
    sessions = {}
    for player, (label, (opened, spins)) in zip(players, SESSIONS.items(), strict=True):
        sessions[label] = one(
            "INSERT INTO casino_gamesession (created_at, updated_at, version, player_id, game_id, status, balance, "
            "total_fed, total_staked, total_won, cashed_out, spin_count, last_activity_at, closed_at, close_reason) "
            "VALUES (%s, %s, 1, %s, %s, 'closed', 0, 0, 0, 0, 0, %s, %s, %s, 'left') RETURNING id",
            [opened, opened, player, game, len(spins), spins[-1], spins[-1]],
        )
        for n, at in enumerate(spins, start=1):
            conn.execute(
                "INSERT INTO casino_spin (created_at, updated_at, session_id, idempotency_key, stake, win, boost, "
                "stops, symbols, balance_after, free_spin, bonus_stake, bonus_win, bonus_balance_after, nonce, "
                "boost_percent) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [at, at, sessions[label], f"k{n}", f"{n}.10", f"{n * 3}.50", "0.35" if n == 2 else "0.00",
                 f"[{n}, 2, 3]", '["cherry", "bell", "seven"]', "12.34", n == 3, "0.05", "0.00", "1.00",
                 None if label == "old" else n, "10.00" if n == 2 else "0"],
            )  # fmt: skip
    # a row written with an explicit id above the identity: the new sequence must continue after it
    conn.execute(
        f"INSERT INTO casino_spin ({SPIN_COLUMNS}) SELECT 5000, created_at, updated_at, 'explicit', stake, win, "  # noqa: S608
        f"boost, stops, symbols, balance_after, free_spin, session_id, bonus_balance_after, bonus_stake, bonus_win, "
        f"NULL, boost_percent FROM casino_spin WHERE session_id = %s LIMIT 1",
        [sessions["january"]],
    )
    for i, (at, _) in enumerate(ENTRY_TIMES):
        tx = one(
            "INSERT INTO accounts_ledgertransaction (kind, idempotency_key, reference, description, created_at, "
            "updated_at) VALUES ('deposit', %s, '', '', %s, %s) RETURNING id",
            [f"mig-{i}", at, at],
        )
        for account, amount in ((f"player:{players[0]}", f"{i + 1}.25"), ("system:cash", f"-{i + 1}.25")):
            conn.execute(
                "INSERT INTO accounts_ledgerentry (transaction_id, account, amount, created_at, updated_at) "
                "VALUES (%s, %s, %s, %s, %s)",
                [tx, account, amount, at, at],
            )
    return sessions


def rows(conn, table: str, columns: str) -> list[str]:
    return [r[0] for r in conn.execute(f"SELECT ROW({columns})::text FROM {table} ORDER BY id")]  # noqa: S608


def test_partitioning_and_back_keeps_every_row(scratch):
    conn, manage = scratch
    manage("migrate", "accounts", "0006_bonus_money", "--noinput")
    manage("migrate", "casino", "0010_sportsbook_depth", "--noinput")
    sessions = fill(conn)
    spins, entries = rows(conn, "casino_spin", SPIN_COLUMNS), rows(conn, "accounts_ledgerentry", ENTRY_COLUMNS)
    assert len(spins) == 9 and len(entries) == 10

    manage("migrate", "--noinput")
    assert partitions_of(conn, "casino_spin") and partitions_of(conn, "accounts_ledgerentry")
    assert rows(conn, "casino_spin", SPIN_COLUMNS) == spins  # every spin, value for value
    assert rows(conn, "accounts_ledgerentry", ENTRY_COLUMNS) == entries
    # each spin in its session's month's partition, whenever it was played
    for label, session in sessions.items():
        placed = conn.execute(
            "SELECT DISTINCT session_month::text, tableoid::regclass::text FROM casino_spin WHERE session_id = %s",
            [session],
        ).fetchall()
        month = EXPECTED_MONTH[label]
        assert placed == [(month, f"casino_spin_p{month[:4]}{month[5:7]}")], label
    # each ledger entry in its own UTC month's partition, either side of midnight
    for i, (_, month) in enumerate(ENTRY_TIMES):
        placed = conn.execute(
            "SELECT DISTINCT e.tableoid::regclass::text FROM accounts_ledgerentry e "
            "JOIN accounts_ledgertransaction t ON t.id = e.transaction_id WHERE t.idempotency_key = %s",
            [f"mig-{i}"],
        ).fetchall()
        assert placed == [(f"accounts_ledgerentry_p{month}",)], ENTRY_TIMES[i]
    for table in ("casino_spin", "accounts_ledgerentry"):
        assert conn.execute(f"SELECT count(*) FROM {table}_default").fetchone()[0] == 0  # noqa: S608
        # this month and three ahead exist whatever the data
        for n in range(4):
            assert partitions.partition_name(table, partitions.add_months(THIS_MONTH, n)) in partitions_of(conn, table)
    # ids continue after every stored one (5000 was written by hand)
    assert next_id(conn, sessions["now"], month=THIS_MONTH) > 5000
    spins, entries = rows(conn, "casino_spin", SPIN_COLUMNS), rows(conn, "accounts_ledgerentry", ENTRY_COLUMNS)

    manage("migrate", "casino", "0010_sportsbook_depth", "--noinput")
    manage("migrate", "accounts", "0006_bonus_money", "--noinput")
    assert not partitions_of(conn, "casino_spin") and not partitions_of(conn, "accounts_ledgerentry")
    assert rows(conn, "casino_spin", SPIN_COLUMNS) == spins
    assert rows(conn, "accounts_ledgerentry", ENTRY_COLUMNS) == entries
    for table in ("casino_spin", "accounts_ledgerentry"):
        identity = conn.execute(
            "SELECT attidentity FROM pg_attribute WHERE attrelid = %s::regclass AND attname = 'id'", [table]
        ).fetchone()[0]
        assert identity == "d"  # GENERATED BY DEFAULT AS IDENTITY, as Django made it
    top = max(int(r.split(",")[0].strip("(")) for r in spins)
    assert next_id(conn, sessions["now"]) > top

    manage("migrate", "--noinput")  # and forward again
    assert len(rows(conn, "casino_spin", SPIN_COLUMNS)) == len(spins) + 1


def partitions_of(conn, table: str) -> set[str]:
    return {
        r[0]
        for r in conn.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass",
            [table],
        )
    }


def next_id(conn, session: int, *, month=None) -> int:
    """The id the table gives a new spin (inserted without one, as the app does)."""
    month_column, month_value = (", session_month", ", %s") if month else ("", "")
    params = [session, *([month] if month else [])]
    return conn.execute(
        f"INSERT INTO casino_spin (created_at, updated_at, session_id, idempotency_key, stake, win, boost, stops, "  # noqa: S608
        f"symbols, balance_after, free_spin{month_column}) VALUES (now(), now(), %s, 'new' || random()::text, 1, 0, "
        f"0, '[]', '[]', 0, false{month_value}) RETURNING id",
        params,
    ).fetchone()[0]
