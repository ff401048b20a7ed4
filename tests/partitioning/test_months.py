"""Rows of two months land in their own partitions, the books reconcile across them, and a
spin's keys are still unique per session (issue 20)."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from accounts import services as wallet
from accounts.models import LedgerEntry
from casino import services
from casino.models import GameSession, Spin
from core import partitions
from tests.partitioning.support import mid_month, this_month, where

pytestmark = [pytest.mark.django_db, pytest.mark.partitioning]


@pytest.fixture
def last_month():
    month = partitions.add_months(this_month(), -1)
    partitions.ensure_partitions(months_ahead=0, now=mid_month(month))  # the migration made this month on
    return month


def test_a_spin_and_a_ledger_entry_of_two_months_sit_in_their_months_partitions(
    player, fruit, clock, last_month, assert_reconciles
):
    clock(mid_month(last_month))
    wallet.deposit(player=player, amount="50", idempotency_key="then")
    old = services.open_and_feed(player=player, game=fruit, amount="20", idempotency_key="feed-then")
    first = services.spin(session=GameSession(pk=old.pk), stake=fruit.min_stake, idempotency_key="s1")
    clock(None)
    # a spin played today in the session opened last month stays in the session's month
    later = services.spin(session=GameSession(pk=old.pk), stake=fruit.min_stake, idempotency_key="s2")
    services.leave(session=old)
    wallet.deposit(player=player, amount="7", idempotency_key="now")
    new = services.open_and_feed(player=player, game=fruit, amount="5", idempotency_key="feed-now")
    today = services.spin(session=GameSession(pk=new.pk), stake=fruit.min_stake, idempotency_key="s1")

    then_spins, now_spins = (partitions.partition_name("casino_spin", m) for m in (last_month, this_month()))
    assert (first.session_month, later.session_month, today.session_month) == (last_month, last_month, this_month())
    assert [where("casino_spin", s.pk) for s in (first, later, today)] == [then_spins, then_spins, now_spins]

    then_entries, now_entries = (
        partitions.partition_name("accounts_ledgerentry", m) for m in (last_month, this_month())
    )
    by_key = {
        e.transaction.idempotency_key: where("accounts_ledgerentry", e.pk)
        for e in LedgerEntry.objects.filter(account=f"player:{player.pk}").select_related("transaction")
    }
    assert by_key[f"deposit:{player.pk}:then"] == then_entries
    assert by_key[f"deposit:{player.pk}:now"] == now_entries
    assert (
        partitions.default_partition_rows("casino_spin")
        == partitions.default_partition_rows("accounts_ledgerentry")
        == 0
    )

    report = assert_reconciles()  # balances = sums of entries across both months' partitions
    assert report.default_partition_rows == {"accounts_ledgerentry": 0, "casino_spin": 0}


def test_a_replayed_spin_returns_the_first_and_the_database_refuses_a_second_row(player, fruit):
    session = services.open_and_feed(player=player, game=fruit, amount="10", idempotency_key="f")
    first = services.spin(session=GameSession(pk=session.pk), stake=fruit.min_stake, idempotency_key="again")
    replay = services.spin(session=GameSession(pk=session.pk), stake=fruit.min_stake, idempotency_key="again")
    assert replay.pk == first.pk and Spin.objects.filter(session=session).count() == 1
    # below the service: the same (session, key), or the same (session, nonce), is refused
    row = Spin.objects.get(pk=first.pk)
    for key, nonce in (("again", 99), ("other", first.nonce)):
        with pytest.raises(IntegrityError), transaction.atomic():
            Spin.objects.create(
                session_id=session.pk,
                session_month=row.session_month,
                idempotency_key=key,
                nonce=nonce,
                stake=Decimal("0.10"),
                stops=[0, 0, 0],
                symbols=["a", "b", "c"],
                balance_after=Decimal("0"),
            )
    assert Spin.objects.filter(session=session).count() == 1


def test_the_session_spin_list_reads_the_sessions_month_only(player, fruit):
    session = services.open_and_feed(player=player, game=fruit, amount="10", idempotency_key="f")
    for n in range(3):
        services.spin(session=GameSession(pk=session.pk), stake=fruit.min_stake, idempotency_key=f"k{n}")
    session.refresh_from_db()
    spins = Spin.objects.of_session(session).order_by("-id")
    assert [s.idempotency_key for s in spins] == ["k2", "k1", "k0"]
    assert partitions.scanned_relations(spins) == {partitions.partition_name("casino_spin", this_month())}
    # without the month every partition is read: what the filter saves
    everywhere = partitions.scanned_relations(Spin.objects.filter(session=session))
    assert len(everywhere) > 1 and partitions.default_partition_name("casino_spin") in everywhere


def test_the_spin_hot_path_keeps_six_statements(player, fruit, django_assert_max_num_queries):
    session = services.open_and_feed(player=player, game=fruit, amount="10", idempotency_key="f")
    services.spin(session=GameSession(pk=session.pk), stake=fruit.min_stake, idempotency_key="warm")
    with django_assert_max_num_queries(6) as queries:
        services.spin(session=GameSession(pk=session.pk), stake=fruit.min_stake, idempotency_key="counted")
    insert = next(q["sql"] for q in queries.captured_queries if q["sql"].startswith('INSERT INTO "casino_spin"'))
    assert '"session_month"' in insert


def test_the_replay_lookup_in_the_spin_read_is_pruned_to_the_sessions_month(player, fruit):
    from casino.services import sessions

    session = services.open_and_feed(player=player, game=fruit, amount="10", idempotency_key="f")
    params = {"key": "none", "session": session.pk, "player": player.pk, "gate_now": session.created_at}
    with connection.cursor() as cur:
        cur.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) " + sessions._SPIN_READ, params)
        plan = "\n".join(row[0] for row in cur.fetchall())
    month = partitions.partition_name("casino_spin", this_month())
    scans = [line for line in plan.splitlines() if " on casino_spin_" in line]
    executed = [line for line in scans if "never executed" not in line]
    assert len(scans) > 1 and len(executed) == 1 and month in executed[0], plan
