"""The daily roll-up (issue 19): every figure of a hand-built day, idempotency, a late day,
two runs at once, and the roll-up reconciling with the ledger after random operations."""

from __future__ import annotations

import contextlib
import random
import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from accounts import services as accounts
from accounts.models import LedgerTransaction
from casino import services as casino
from casino.models import Game, GameSession, Vendor
from core.exceptions import DomainError
from promotions import services as promotions
from reports import reconcile, selectors, services
from reports.exceptions import InvalidReportRange
from reports.models import DailyFigure, RollupState
from tests.conftest import run_in_threads
from tests.factories import PlayerFactory
from tests.helpers.codes import make_code
from tests.helpers.slots import force_reels
from tests.helpers.sportsbook import make_event, result_for, selections

D = Decimal
WIN = ("cherry", "cherry", "cherry")  # pays 2x
LOSE = ("lemon", "lemon", "lemon")  # pays nothing


def make_game(vendor: Vendor, slug: str) -> Game:
    return Game.objects.create(
        slug=slug,
        name=slug.title(),
        vendor=vendor,
        min_stake=D("0.10"),
        max_stake=D("10.00"),
        reels=[["cherry", "lemon", "plum"]] * 3,
        paytable=[{"line": ["cherry", "cherry", "cherry"], "pays": 2}],
    )


def today():
    return services.local_day(timezone.now())


def figures_of(**filters) -> dict:
    """{(product, game slug or None): (stakes, wins, bonus_cost, deposits, withdrawals, transactions)}"""
    rows = DailyFigure.objects.filter(**filters).select_related("game")
    return {
        (r.product, r.game.slug if r.game else None): (
            r.stakes,
            r.wins,
            r.bonus_cost,
            r.deposits,
            r.withdrawals,
            r.transactions,
        )
        for r in rows
    }


def snapshot() -> list[tuple]:
    """The roll-up's rows without their ids and computed_at."""
    return list(
        DailyFigure.objects.order_by("day", "product", "game_id").values_list(
            "day",
            "product",
            "game_id",
            "vendor_id",
            "stakes",
            "wins",
            "bonus_cost",
            "deposits",
            "withdrawals",
            "transactions",
        )
    )


# --- a hand-built day ------------------------------------------------------------------------
@pytest.fixture
def hand_built_day(db, monkeypatch):
    """Player A: deposits 100 + 50, withdraws 30, redeems a 5.00 cash code; plays G1 (vendor V1,
    a 10 % win boost): 1.00 won 2.00 (+0.20 boost), 1.00 lost; plays G2 (vendor V2): a free spin
    at 0.50 won 1.00, 2.00 lost, 1.00 won 2.00; bets 10.00 at 2.00 (won, paid 20.00) and 5.00 at
    4.00 (lost). Player B: redeems a 10.00 bonus code (1x wagering), feeds it into G2, stakes
    5.00 + 5.00 of bonus money, wins 10.00 twice, leaves: the 20.00 bonus converts to cash."""
    v1, v2 = Vendor.objects.create(slug="v1", name="Vendor One"), Vendor.objects.create(slug="v2", name="Vendor Two")
    g1, g2 = make_game(v1, "g-one"), make_game(v2, "g-two")
    now = timezone.now()
    promotions.add_vendor_promotion(
        vendor=v1, kind="win_boost", starts_at=now - timedelta(minutes=1), ends_at=now + timedelta(days=1), percent=10
    )
    a = PlayerFactory(balance="100.00")
    accounts.deposit(player=a, amount=D("50.00"), idempotency_key="dep-a")
    accounts.withdraw(player=a, amount=D("30.00"), idempotency_key="wd-a")
    make_code("CASH5", bonus_amount=D("5.00"))
    promotions.redeem(player=a, code="CASH5")

    session = casino.open_and_feed(player=a, game=g1, amount=D("10.00"), idempotency_key="feed-a1")
    force_reels(monkeypatch, *WIN)
    casino.spin(session=session, stake=D("1.00"), idempotency_key="a1-1")
    force_reels(monkeypatch, *LOSE)
    casino.spin(session=session, stake=D("1.00"), idempotency_key="a1-2")
    casino.leave(session=GameSession.objects.get(pk=session.pk))

    casino.grant_free_spins(player=a, game=g2, count=1, stake=D("0.50"), source_key="test-fs")
    session = casino.open_and_feed(player=a, game=g2, amount=D("10.00"), idempotency_key="feed-a2")
    force_reels(monkeypatch, *WIN)
    casino.spin(session=session, idempotency_key="a2-free", free_spin=True)
    force_reels(monkeypatch, *LOSE)
    casino.spin(session=session, stake=D("2.00"), idempotency_key="a2-1")
    force_reels(monkeypatch, *WIN)
    casino.spin(session=session, stake=D("1.00"), idempotency_key="a2-2")
    casino.leave(session=GameSession.objects.get(pk=session.pk))

    event = make_event()
    home, _draw, away = selections(event)
    casino.place_sportsbet(player=a, selection=home, stake="10.00", idempotency_key="bet-1")
    casino.place_sportsbet(player=a, selection=away, stake="5.00", idempotency_key="bet-2")
    casino.settle_event(event=event, result=result_for(event, home))
    casino.pay_out_player(player=a)

    b = PlayerFactory()
    make_code(
        "BONUS10",
        bonus_amount=D("10.00"),
        pays_as="bonus",
        wagering_multiple=1,
        bonus_max_stake=D("5.00"),
        bonus_valid_days=7,
    )
    promotions.redeem(player=b, code="BONUS10")
    session = casino.open_and_feed(player=b, game=g2, amount=D("10.00"), idempotency_key="feed-b", use_bonus=True)
    force_reels(monkeypatch, *WIN)
    casino.spin(session=session, stake=D("5.00"), idempotency_key="b-1")
    casino.spin(session=session, stake=D("5.00"), idempotency_key="b-2")
    casino.leave(session=GameSession.objects.get(pk=session.pk))
    return {"g1": g1, "g2": g2, "v1": v1, "v2": v2}


#               (product, game):      stakes    wins      bonus     deposits   withdrawals  transactions
EXPECTED = {
    ("slots", "g-one"): (D("2.00"), D("2.00"), D("0.20"), D("0"), D("0"), 2),
    ("slots", "g-two"): (D("13.00"), D("22.00"), D("1.00"), D("0"), D("0"), 5),
    ("sportsbook", None): (D("15.00"), D("20.00"), D("0"), D("0"), D("0"), 3),
    # 5.00 code as cash + 20.00 bonus converted; the 10.00 bonus grant is not a cost (1 transaction).
    ("promotions", None): (D("0"), D("0"), D("25.00"), D("0"), D("0"), 3),
    ("payments", None): (D("0"), D("0"), D("0"), D("150.00"), D("30.00"), 3),
}


@pytest.mark.django_db
def test_every_figure_of_a_hand_built_day(hand_built_day):
    run = services.roll_up()

    day = today()
    assert day in run.days and run.through_tx == LedgerTransaction.objects.order_by("-id").first().pk
    assert figures_of(day=day) == EXPECTED
    g1 = DailyFigure.objects.get(day=day, game=hand_built_day["g1"])
    assert (g1.vendor_id, g1.ggr, g1.ngr) == (hand_built_day["v1"].pk, D("0.00"), D("-0.20"))

    report = selectors.report(date_from=day - timedelta(days=2), date_to=day)
    assert [r.day for r in report.rows] == [day - timedelta(days=2), day - timedelta(days=1), day]
    assert report.rows[0].stakes == D("0.00") and report.rows[0].transactions == 0
    t = report.totals
    assert (t.stakes, t.wins, t.ggr, t.bonus_cost, t.ngr) == (
        D("30.00"),
        D("44.00"),
        D("-14.00"),
        D("26.20"),
        D("-40.20"),
    )
    assert (t.deposits, t.withdrawals, t.transactions) == (D("150.00"), D("30.00"), 16)
    assert report.rows[-1].as_dict() == {"day": day, **t.as_dict()}
    assert {r.key: r.bonus_cost for r in report.by_product} == {
        "slots": D("1.20"),
        "sportsbook": D("0.00"),
        "promotions": D("25.00"),
        "payments": D("0.00"),
    }
    assert [(r.label, r.vendor, r.stakes, r.wins) for r in report.by_game] == [
        ("G-One", "Vendor One", D("2.00"), D("2.00")),
        ("G-Two", "Vendor Two", D("13.00"), D("22.00")),
    ]
    only_g2 = selectors.report(date_from=day, date_to=day, game_id=hand_built_day["g2"].pk)
    assert (only_g2.totals.stakes, only_g2.totals.bonus_cost, only_g2.totals.transactions) == (D("13.00"), D("1.00"), 5)
    sportsbook = selectors.report(date_from=day, date_to=day, product="sportsbook")
    assert (sportsbook.totals.ggr, [r.key for r in sportsbook.by_product]) == (D("-5.00"), ["sportsbook"])
    assert reconcile.reconcile_rollup().ok


@pytest.mark.django_db
def test_liabilities_are_a_snapshot_of_the_live_tables(monkeypatch):
    player = PlayerFactory(balance="100.00")
    event = make_event()
    home, _draw, away = selections(event)
    casino.place_sportsbet(player=player, selection=home, stake="10.00", idempotency_key="l-1")  # 2.00: 20.00
    casino.place_sportsbet(player=player, selection=away, stake="3.33", idempotency_key="l-2")  # 4.00: 13.32
    promotions.grant_bonus(
        player=player,
        amount=D("7.00"),
        wagering_multiple=1,
        expires_at=timezone.now() + timedelta(days=1),
        max_stake=D("5.00"),
        source_key="l-bonus",
    )
    game = make_game(Vendor.objects.create(slug="lv", name="L"), "l-game")
    casino.open_and_feed(player=player, game=game, amount=D("12.00"), idempotency_key="l-feed", use_bonus=True)
    owed = selectors.liabilities()
    # 12.00 fed: 86.67 cash in the account covers it all (cash first), the bonus stays in its grant.
    assert (owed.queued_payouts, owed.open_bets_potential_returns) == (D("0.00"), D("33.32"))
    assert (owed.open_bonus_money, owed.money_in_machines) == (D("7.00"), D("12.00"))

    casino.settle_event(event=event, result=result_for(event, home))  # the 20.00 payout waits: player in a machine
    owed = selectors.liabilities()
    assert (owed.queued_payouts, owed.open_bets_potential_returns) == (D("20.00"), D("0.00"))
    assert owed.total == D("39.00")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("offset_from", "offset_to", "message"),
    [(1, 0, "not be after"), (-366, 0, "at most 366 days")],
)
def test_a_bad_range_is_a_typed_error(offset_from, offset_to, message):
    day = today()
    with pytest.raises(InvalidReportRange, match=message) as info:
        selectors.report(date_from=day + timedelta(days=offset_from), date_to=day + timedelta(days=offset_to))
    assert isinstance(info.value, DomainError)
    assert len(selectors.report(date_from=day - timedelta(days=365), date_to=day).rows) == 366
    with pytest.raises(DomainError, match="no such product"):
        selectors.report(date_from=day, date_to=day, product="poker")


# --- idempotency and the watermark -----------------------------------------------------------
@pytest.mark.django_db
def test_rolling_up_twice_changes_nothing(hand_built_day):
    first = services.roll_up()
    rows = snapshot()
    computed = set(DailyFigure.objects.values_list("computed_at", flat=True))

    second = services.roll_up()

    assert snapshot() == rows, "a second run recomputes to the same rows"
    assert second.through_tx == first.through_tx
    assert second.days == [today() - timedelta(days=1), today()], "only today and yesterday again"
    assert set(DailyFigure.objects.values_list("computed_at", flat=True)) != computed
    state = RollupState.objects.get()
    assert (state.rolled_through_tx, state.last_run_days) == (first.through_tx, 2)
    # recompute_days of the same days: the same rows again.
    services.recompute_days(days=[today()])
    assert snapshot() == rows


@pytest.mark.django_db
def test_a_late_day_is_recomputed_by_the_next_run():
    """A transaction stamped 10 days ago but committed after a run (raw UPDATE of created_at
    simulates it): the next run recomputes that day, and only the new days besides today and
    yesterday; an untouched old day keeps its rows."""
    player = PlayerFactory(balance="40.00")
    old_tx = accounts.deposit(player=player, amount=D("5.00"), idempotency_key="old-1")
    twenty_days_ago = timezone.now() - timedelta(days=20)
    LedgerTransaction.objects.filter(pk=old_tx.pk).update(created_at=twenty_days_ago)
    services.roll_up()
    old_day = services.local_day(twenty_days_ago)
    old_computed = DailyFigure.objects.get(day=old_day).computed_at

    late = accounts.deposit(player=player, amount=D("7.50"), idempotency_key="late-1")
    ten_days_ago = timezone.now() - timedelta(days=10)
    LedgerTransaction.objects.filter(pk=late.pk).update(created_at=ten_days_ago)
    late_day = services.local_day(ten_days_ago)
    stale = reconcile.reconcile_rollup(date_from=late_day, date_to=late_day)
    assert not stale.ok and "payments deposits: roll-up 0.00, ledger 7.50" in stale.mismatches[0]

    run = services.roll_up()

    assert run.days == [late_day, today() - timedelta(days=1), today()]
    assert figures_of(day=late_day) == {("payments", None): (D("0"), D("0"), D("0"), D("7.50"), D("0"), 1)}
    assert DailyFigure.objects.get(day=old_day).computed_at == old_computed, "an untouched day is not recomputed"
    assert reconcile.reconcile_rollup().ok
    assert reconcile.reconcile_rollup(date_from=late_day, date_to=late_day).ok


# --- concurrency ---------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_two_roll_ups_at_once_serialise_on_the_lock():
    """Proves: two concurrent runs both succeed and leave exactly one run's rows (no duplicate
    rows, no unique violation), and a run waits while another holds the roll-up lock."""
    player = PlayerFactory(balance="60.00")
    for i in range(5):
        tx = accounts.deposit(player=player, amount=D("1.00"), idempotency_key=f"c-{i}")
        LedgerTransaction.objects.filter(pk=tx.pk).update(created_at=timezone.now() - timedelta(days=i * 3))

    results = run_in_threads(2, lambda i: services.roll_up())
    assert not [r for r in results if isinstance(r, BaseException)], results
    rows = snapshot()
    assert sum(1 for row in rows if row[1] == "payments") == 5
    assert reconcile.reconcile_rollup().ok

    # The lock is really taken: while this connection holds it, a run in a thread waits.
    with connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_lock(%s)", [services.LOCK_KEY])
    done = threading.Event()

    def run():
        try:
            services.roll_up()
            done.set()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    try:
        time.sleep(1.0)
        assert not done.is_set(), "the second run must wait for the lock"
    finally:
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_unlock(%s)", [services.LOCK_KEY])
    thread.join(timeout=30)
    assert done.is_set()
    assert snapshot() == rows


# --- reconcile against the ledger after random operations ---------------------------------------
def _random_operations(rng: random.Random, monkeypatch) -> None:
    vendor = Vendor.objects.create(slug="rv", name="Random Vendor")
    games = [make_game(vendor, "r-one"), make_game(Vendor.objects.create(slug="rw", name="W"), "r-two")]
    now = timezone.now()
    promotions.add_vendor_promotion(
        vendor=vendor,
        kind="win_boost",
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(days=1),
        percent=15,
    )
    make_code("RCASH", bonus_amount=D("3.00"))
    make_code("RBONUS", bonus_amount=D("4.00"), pays_as="bonus", wagering_multiple=1, bonus_max_stake=D("2.00"),
              bonus_valid_days=7)  # fmt: skip
    players = [PlayerFactory(balance=str(rng.randint(20, 80))) for _ in range(4)]
    events = [make_event(name=f"E{i}") for i in range(3)]
    for step in range(60):
        player = rng.choice(players)
        op = rng.choice(["deposit", "withdraw", "play", "play", "bet", "redeem", "free"])
        try:
            if op == "deposit":
                accounts.deposit(player=player, amount=D(rng.randint(1, 30)), idempotency_key=f"r-d-{step}")
            elif op == "withdraw":
                accounts.withdraw(player=player, amount=D(rng.randint(1, 10)), idempotency_key=f"r-w-{step}")
            elif op == "redeem":
                promotions.redeem(player=player, code=rng.choice(["RCASH", "RBONUS"]))
            elif op == "free":
                casino.grant_free_spins(
                    player=player, game=rng.choice(games), count=2, stake=D("0.50"), source_key=f"r-fs-{step}"
                )
            elif op == "bet":
                selection = rng.choice(selections(rng.choice(events)))
                casino.place_sportsbet(
                    player=player, selection=selection, stake=str(rng.randint(1, 5)), idempotency_key=f"r-b-{step}"
                )
            else:
                session = casino.open_and_feed(
                    player=player,
                    game=rng.choice(games),
                    amount=D(rng.randint(2, 6)),
                    idempotency_key=f"r-f-{step}",
                    use_bonus=rng.random() < 0.5,
                )
                for n in range(rng.randint(1, 4)):
                    force_reels(monkeypatch, *rng.choice([WIN, LOSE, LOSE]))
                    free = rng.random() < 0.3
                    with contextlib.suppress(DomainError):  # no free spin left, not enough money
                        casino.spin(session=session, stake=D("1.00"), idempotency_key=f"r-s-{step}-{n}", free_spin=free)
                casino.leave(session=GameSession.objects.get(pk=session.pk))
        except DomainError:
            pass  # refused (not enough money, limits): nothing moved
    for event in events:
        home = selections(event)[rng.randrange(3)]
        casino.settle_event(
            event=event, result=result_for(event, home) if rng.random() < 0.8 else result_for(event, "void")
        )
    for session in GameSession.objects.filter(status=GameSession.Status.OPEN):
        casino.leave(session=session)
    for player in players:
        casino.pay_out_player(player=player)
    # Spread the day's transactions over the last 30 days (as if they had happened then).
    ids = list(LedgerTransaction.objects.values_list("pk", flat=True))
    for pk in ids:
        LedgerTransaction.objects.filter(pk=pk).update(
            created_at=now - timedelta(days=rng.randrange(30), hours=rng.randrange(24))
        )


@pytest.mark.django_db
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_roll_up_reconciles_with_the_ledger_after_random_operations(seed, monkeypatch):
    rng = random.Random(seed)
    _random_operations(rng, monkeypatch)
    services.roll_up()
    assert reconcile.reconcile_rollup().ok, reconcile.reconcile_rollup().lines()

    kinds = set(LedgerTransaction.objects.values_list("kind", flat=True))
    assert {"deposit", "spin", "bet_stake", "payout", "redemption", "bonus_grant"} <= kinds
    first, last = today() - timedelta(days=31), today()
    for _ in range(10):
        a = first + timedelta(days=rng.randrange(32))
        b = a + timedelta(days=rng.randrange((last - a).days + 1))
        result = reconcile.reconcile_rollup(date_from=a, date_to=b)
        assert result.ok, result.lines()
        report = selectors.report(date_from=a, date_to=b)
        ledger_totals = result.totals("ledger")
        for name in ("stakes", "wins", "bonus_cost", "deposits", "withdrawals", "transactions"):
            assert getattr(report.totals, name) == ledger_totals[name], (a, b, name)
        assert sum((r.stakes for r in report.rows), D("0")) == report.totals.stakes


@pytest.mark.django_db
def test_reconcile_catches_a_roll_up_that_differs_from_the_ledger(hand_built_day):
    services.roll_up()
    assert reconcile.reconcile_rollup().ok
    day = today()
    DailyFigure.objects.filter(day=day, game=hand_built_day["g1"]).update(wins=D("2.01"))
    result = reconcile.reconcile_rollup()
    assert not result.ok
    assert "slots wins: roll-up 24.01, ledger 24.00" in result.mismatches
    assert any("net of system:house" in line for line in result.mismatches)
    assert result.lines()[-1].startswith("FAILED")
    services.recompute_days(days=[day])
    assert reconcile.reconcile_rollup().ok, "recomputing the day repairs it"
