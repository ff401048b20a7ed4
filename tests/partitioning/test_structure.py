"""The history tables really are PostgreSQL declarative partitioned tables, by month (issue 20)."""

import pytest
from django.conf import settings
from django.db import connection

from core import partitions
from tests.partitioning.support import partition_names, this_month

pytestmark = [pytest.mark.django_db, pytest.mark.partitioning]

TABLES = {"accounts_ledgerentry": "created_at", "casino_spin": "session_month"}


def query(sql: str, params=()) -> list[tuple]:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def test_the_settings_name_both_tables_and_their_keys():
    assert settings.PARTITIONED_TABLES == TABLES


@pytest.mark.parametrize(("table", "column"), TABLES.items())
def test_each_table_is_range_partitioned_on_its_month_column(table, column):
    rows = query(
        "SELECT p.partstrat, a.attname FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
        "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = p.partattrs[0] WHERE c.relname = %s",
        [table],
    )
    assert rows == [("r", column)]  # RANGE on the month column
    assert partitions.is_partitioned(table)


@pytest.mark.parametrize("table", TABLES)
def test_monthly_partitions_exist_from_this_month_three_ahead_and_a_default(table):
    names = partition_names(table)
    wanted = {partitions.partition_name(table, partitions.add_months(this_month(), n)) for n in range(4)}
    assert wanted <= names
    assert partitions.default_partition_name(table) in names
    # pg_inherits agrees: every one is a child of the table, and each month's bounds are one month
    children = dict(
        query(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = %s::regclass",
            [table],
        )
    )
    assert set(children) == names
    assert children[partitions.default_partition_name(table)] == "DEFAULT"
    month = this_month()
    bounds = children[partitions.partition_name(table, month)]
    assert f"FROM ('{month:%Y-%m-%d}" in bounds
    assert f"TO ('{partitions.add_months(month, 1):%Y-%m-%d}" in bounds


@pytest.mark.parametrize(
    ("constraint", "columns"),
    [
        ("accounts_ledgerentry_pkey", ["id", "created_at"]),
        ("casino_spin_pkey", ["id", "session_month"]),
        # the spin's keys stay per session: session_month is a function of the session
        ("spin_idempotency_per_session", ["session_id", "idempotency_key", "session_month"]),
        ("spin_nonce_per_session", ["session_id", "nonce", "session_month"]),
    ],
)
def test_unique_keys_hold_the_partition_key(constraint, columns):
    rows = query(
        "SELECT array_agg(a.attname ORDER BY k.n) FROM pg_constraint c "
        "CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, n) "
        "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum WHERE c.conname = %s "
        "GROUP BY c.oid",
        [constraint],
    )
    assert rows == [(columns,)]


def test_the_foreign_keys_from_the_history_tables_stay_and_none_point_at_them():
    outgoing = query(
        "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint "
        "WHERE contype = 'f' AND conrelid IN ('accounts_ledgerentry'::regclass, 'casino_spin'::regclass) "
        "AND conparentid = 0"
    )
    assert sorted(outgoing) == [
        ("accounts_ledgerentry", "accounts_ledgertransaction"),
        ("casino_spin", "casino_gamesession"),
    ]
    incoming = query(
        "SELECT conname FROM pg_constraint WHERE contype = 'f' "
        "AND confrelid IN ('accounts_ledgerentry'::regclass, 'casino_spin'::regclass)"
    )
    assert incoming == []


def test_ledger_transactions_stay_one_plain_table_with_a_globally_unique_key():
    assert not partitions.is_partitioned("accounts_ledgertransaction")
    unique = query(
        "SELECT count(*) FROM pg_constraint WHERE conrelid = 'accounts_ledgertransaction'::regclass "
        "AND contype = 'u' AND conkey = ARRAY[(SELECT attnum FROM pg_attribute WHERE "
        "attrelid = 'accounts_ledgertransaction'::regclass AND attname = 'idempotency_key')]::int2[]"
    )
    assert unique == [(1,)]


@pytest.mark.parametrize("table", TABLES)
def test_ids_come_from_a_sequence_owned_by_the_column(table):
    (sequence,) = query("SELECT pg_get_serial_sequence(%s, 'id')", [table])[0]
    assert sequence == f"public.{table}_id_seq"
