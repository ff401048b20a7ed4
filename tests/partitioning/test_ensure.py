"""Partitions are made ahead, idempotently, also by two makers at once; rows that reached a
DEFAULT partition (their month had none) are reported by reconcile and moved by the next run."""

import re
from datetime import date

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from accounts import services as wallet
from accounts.models import LedgerEntry
from accounts.reconcile import reconcile
from casino import services
from casino.models import GameSession, Spin
from core import partitions, tasks
from tests.conftest import run_in_threads
from tests.factories import PlayerFactory
from tests.partitioning.support import mid_month, partition_names, this_month, where

pytestmark = [pytest.mark.django_db, pytest.mark.partitioning]

FAR = date(2041, 3, 1)  # a month no other test touches


def names(table: str, first: date, count: int) -> list[str]:
    return [partitions.partition_name(table, partitions.add_months(first, n)) for n in range(count)]


def test_ensure_creates_this_month_and_the_months_ahead_once():
    created = partitions.ensure_partitions(months_ahead=3, now=mid_month(FAR))
    assert created == names("accounts_ledgerentry", FAR, 4) + names("casino_spin", FAR, 4)
    assert set(created) <= partition_names("accounts_ledgerentry") | partition_names("casino_spin")
    assert partitions.ensure_partitions(months_ahead=3, now=mid_month(FAR)) == []  # idempotent
    # one more month ahead makes just that one
    assert partitions.ensure_partitions(months_ahead=4, now=mid_month(FAR)) == [
        partitions.partition_name("accounts_ledgerentry", partitions.add_months(FAR, 4)),
        partitions.partition_name("casino_spin", partitions.add_months(FAR, 4)),
    ]


def test_a_made_partition_has_the_parents_indexes_constraints_and_bounds():
    partitions.ensure_partitions(months_ahead=0, now=mid_month(FAR))
    name = partitions.partition_name("casino_spin", FAR)
    with connection.cursor() as cur:
        cur.execute(
            "SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE relname = %s",
            [name],
        )
        assert cur.fetchone()[0] == "FOR VALUES FROM ('2041-03-01') TO ('2041-04-01')"
        cur.execute(
            "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_inherits h "
            "ON h.inhrelid = c.oid WHERE i.indrelid = %s::regclass",
            [name],
        )
        attached_indexes = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM pg_index WHERE indrelid = 'casino_spin'::regclass")
        assert attached_indexes == cur.fetchone()[0]  # every parent index has its child here
        cur.execute("SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'c'", [name])
        assert {"spin_stake_non_negative", "spin_win_non_negative"} <= {row[0] for row in cur.fetchall()}


def test_the_celery_task_ensures_partitions(settings):
    settings.PARTITION_MONTHS_AHEAD = 2  # the migration made this month and 3 ahead
    assert tasks.ensure_partitions.delay().get() == []  # eager in the tests
    settings.PARTITION_MONTHS_AHEAD = 5
    plus_four = partitions.add_months(this_month(), 4)
    assert tasks.ensure_partitions.delay().get() == names("accounts_ledgerentry", plus_four, 2) + names(
        "casino_spin", plus_four, 2
    )


def test_rows_of_a_month_without_partition_wait_in_the_default_and_move_on_ensure(player, fruit, clock):
    """A month with no partition (the beat task did not run): its rows go to the DEFAULT
    partition, reconcile says so (no crash), and ensure_partitions moves them, unchanged."""
    clock(mid_month(FAR))
    wallet.deposit(player=player, amount="12.34", idempotency_key="far")
    session = services.open_and_feed(player=player, game=fruit, amount="5", idempotency_key="far-feed")
    spin = services.spin(session=GameSession(pk=session.pk), stake=fruit.min_stake, idempotency_key="far-spin")
    clock(None)
    entries = list(LedgerEntry.objects.filter(created_at__gte=mid_month(FAR)).order_by("id").values())
    spins = list(Spin.objects.filter(pk=spin.pk).values())
    assert len(entries) >= 4 and spin.session_month == FAR
    assert {where("accounts_ledgerentry", e["id"]) for e in entries} == {"accounts_ledgerentry_default"}
    assert where("casino_spin", spin.pk) == "casino_spin_default"

    report = reconcile()
    assert not report.ok
    assert report.default_partition_rows == {"accounts_ledgerentry": len(entries), "casino_spin": 1}
    assert "MISSING PARTITION casino_spin: 1 rows in its default partition (casino_spin_default)" in "\n".join(
        report.lines()
    )
    with pytest.raises(CommandError, match="default partition"):
        call_command("partitions")

    created = partitions.ensure_partitions(months_ahead=0)  # now: this month (exists) + the stray month
    assert created == [
        partitions.partition_name("accounts_ledgerentry", FAR),
        partitions.partition_name("casino_spin", FAR),
    ]
    assert {where("accounts_ledgerentry", e["id"]) for e in entries} == {f"accounts_ledgerentry_p{FAR:%Y%m}"}
    assert where("casino_spin", spin.pk) == f"casino_spin_p{FAR:%Y%m}"
    assert list(LedgerEntry.objects.filter(created_at__gte=mid_month(FAR)).order_by("id").values()) == entries
    assert list(Spin.objects.filter(pk=spin.pk).values()) == spins
    assert reconcile().ok
    call_command("partitions")  # clean again: no error


def test_the_command_lists_partitions_with_rows(player, capsys):
    call_command("partitions", "--exact")
    out = capsys.readouterr().out
    month = partitions.partition_name("accounts_ledgerentry", this_month())
    line = next(line for line in out.splitlines() if line.startswith(month))
    assert line.endswith(" 2 rows")  # the player's opening deposit: two legs
    assert re.search(r"^casino_spin_default +DEFAULT  0 rows$", out, re.MULTILINE)


@pytest.mark.parametrize("ahead", ["-1", "121"])
def test_the_command_refuses_a_silly_months_ahead(ahead):
    with pytest.raises(CommandError):
        call_command("partitions", "--ensure", "--months-ahead", ahead)


def drop_partitions(made: list[str]) -> None:
    """Committed DDL (transaction=True tests): leave the test database's partitions as they were."""
    with connection.cursor() as cur:
        for name in made:
            cur.execute(f"DROP TABLE IF EXISTS {name}")


@pytest.mark.django_db(transaction=True)
def test_two_makers_at_once_create_each_partition_once():
    """Proves the advisory lock + re-check: two threads ensure the same months at the same
    instant; both finish without error and each partition is made once, by one of them."""
    month = date(2043, 7, 1)
    made = names("accounts_ledgerentry", month, 3) + names("casino_spin", month, 3)
    try:
        results = run_in_threads(2, lambda i: partitions.ensure_partitions(months_ahead=2, now=mid_month(month)))
        assert not [r for r in results if isinstance(r, BaseException)], results
        assert sorted(results[0] + results[1]) == sorted(made)
    finally:
        drop_partitions(made)


@pytest.mark.django_db(transaction=True)
def test_making_partitions_while_players_play_loses_and_refuses_nothing(fruit, assert_reconciles):
    """Proves ATTACH (and moving rows out of the default partition) runs beside live writes:
    four threads deposit and spin while a fifth makes partitions of four months that had rows
    waiting in the default partition; no write fails, every row is where it belongs."""
    months = [date(2045, m, 1) for m in (1, 2, 3, 4)]
    with connection.cursor() as cur:  # stray rows: a balanced pair between system accounts, per month
        for n, month in enumerate(months):
            at = mid_month(month)
            cur.execute(
                "WITH tx AS (INSERT INTO accounts_ledgertransaction (kind, idempotency_key, reference, description, "
                "created_at, updated_at) VALUES ('adjustment', %s, '', '', %s, %s) RETURNING id) "
                "INSERT INTO accounts_ledgerentry (transaction_id, account, amount, created_at, updated_at) "
                "SELECT tx.id, a, v, %s, %s FROM tx, "
                "(VALUES ('system:cash', -1.00), ('system:house', 1.00)) AS l(a, v)",
                [f"stray-{n}", at, at, at, at],
            )
    assert partitions.default_partition_rows("accounts_ledgerentry") == 8
    players = [PlayerFactory(balance="100.00") for _ in range(4)]
    sessions = [services.open_and_feed(player=p, game=fruit, amount="50", idempotency_key="feed") for p in players]
    made = [
        name for month in months for name in names("accounts_ledgerentry", month, 1) + names("casino_spin", month, 1)
    ]

    def work(i: int):
        if i == 4:
            return [partitions.ensure_partitions(months_ahead=0, now=mid_month(month)) for month in months]
        for n in range(15):
            wallet.deposit(player=players[i], amount="1", idempotency_key=f"live-{n}")
            services.spin(session=GameSession(pk=sessions[i].pk), stake=fruit.min_stake, idempotency_key=f"s{n}")
        return "played"

    try:
        results = run_in_threads(5, work)
        assert results[:4] == ["played"] * 4, results
        assert sorted(sum(results[4], [])) == sorted(made)
        assert partitions.default_partition_rows("accounts_ledgerentry") == 0
        assert Spin.objects.count() == 60
        assert_reconciles()
    finally:
        drop_partitions(made)
