"""Issue 18, trading: several markets per event, suspend / reopen a market, change a price with history.

The services (``casino.services.markets``) and the bet's check of the market's status under
its share lock; races with real threads against PostgreSQL.
"""

from __future__ import annotations

import time
import uuid
from decimal import Decimal

import pytest
from django.db import close_old_connections
from django.utils import timezone

from accounts.models import LedgerTransaction
from accounts.selectors import balance_of
from casino import services
from casino.exceptions import AlreadySettled, InvalidOdds, MarketSuspended, OddsChanged, SelectionChanged
from casino.models import Market, OddsChange, Selection, SportEvent, Sportsbet
from casino.services import sportsbook
from casino.services.markets import parse_odds
from casino.services.sportsbook import create_match_event
from core.models import AuditLog
from tests.conftest import run_in_threads
from tests.factories import PlayerFactory, StaffFactory
from tests.helpers.db import in_thread, while_uncommitted
from tests.helpers.sportsbook import bet, make_event, result_for, selections

D = Decimal
EXTRA = {"over_under": ("1.90", "1.90"), "btts": ("1.80", "2.00")}


def three_market_event(name: str = "Three FC vs Markets United") -> SportEvent:
    return create_match_event(
        name=name,
        home="Three FC",
        away="Markets United",
        odds=("2.00", "3.40", "3.80"),
        starts_at=timezone.now() + timezone.timedelta(hours=24),
        extra_markets=EXTRA,
    )


def market_of(event: SportEvent) -> Market:
    return event.markets.get()


# --- several markets per event -----------------------------------------------------------------
@pytest.mark.django_db
def test_extra_markets_add_over_under_and_both_teams_to_score():
    event = three_market_event()
    markets = list(event.markets.order_by("id"))
    assert [(m.kind, m.name, m.line) for m in markets] == [
        ("match_result", "Match result", None),
        ("over_under", "Over/under 2.5 goals", D("2.5")),
        ("btts", "Both teams to score", None),
    ]
    assert [(s.name, s.odds) for s in markets[1].selections.order_by("id")] == [
        ("Over 2.5", D("1.90")),
        ("Under 2.5", D("1.90")),
    ]
    assert [(s.name, s.odds) for s in markets[2].selections.order_by("id")] == [("Yes", D("1.80")), ("No", D("2.00"))]
    assert all(m.status == Market.Status.OPEN for m in markets)


@pytest.mark.django_db
def test_without_extra_markets_an_event_has_only_the_match_result():
    event = make_event()
    assert market_of(event).kind == Market.Kind.MATCH_RESULT and len(selections(event)) == 3
    with pytest.raises(ValueError, match="corners"):
        create_match_event(name="x", home="a", away="b", odds=("2", "3", "4"), extra_markets={"corners": ("2", "2")})
    assert not SportEvent.objects.filter(name="x").exists()


@pytest.mark.django_db
def test_a_three_market_event_settles_with_a_result_per_market(player):
    event = three_market_event()
    result_market, goals, btts = event.markets.order_by("id")
    over = goals.selections.order_by("id").first()
    yes = btts.selections.order_by("id").first()
    on_over = bet(player, over, "10.00")
    on_yes = bet(player, yes, "10.00")
    home = result_market.selections.order_by("id").first()
    report = services.settle_event(event=event, result={result_market.pk: home.pk, goals.pk: over.pk, btts.pk: "void"})
    assert (report.won, report.lost, report.void) == (1, 0, 1)
    on_over.refresh_from_db()
    on_yes.refresh_from_db()
    assert (on_over.status, on_yes.status) == (Sportsbet.Status.WON, Sportsbet.Status.VOID)
    assert report.queued_amount == D("19.00") + D("10.00")


# --- suspend / reopen ---------------------------------------------------------------------------
@pytest.mark.django_db
def test_suspend_and_reopen_are_versioned_audited_and_idempotent():
    staff = StaffFactory()
    market = market_of(make_event())
    version = market.version

    suspended = services.suspend_market(market=market, actor=staff)
    stored = Market.objects.get(pk=market.pk)
    assert suspended.status == stored.status == Market.Status.SUSPENDED and stored.version == version + 1
    assert market.status == Market.Status.SUSPENDED  # the caller's instance follows
    log = AuditLog.objects.get(action="sportsbook.suspend_market")
    assert log.actor == staff and log.target == f"market:{market.pk}" and log.details["before"] == "open"

    again = services.suspend_market(market=market, actor=staff)  # a no-op returning it
    assert again.status == Market.Status.SUSPENDED and Market.objects.get(pk=market.pk).version == version + 1
    assert AuditLog.objects.filter(action="sportsbook.suspend_market").count() == 1

    services.reopen_market(market=market, actor=staff)
    services.reopen_market(market=market, actor=staff)
    stored = Market.objects.get(pk=market.pk)
    assert stored.status == Market.Status.OPEN and stored.version == version + 2
    assert AuditLog.objects.filter(action="sportsbook.reopen_market").count() == 1


@pytest.mark.django_db
def test_a_settled_events_market_is_not_suspended():
    staff = StaffFactory()
    event = make_event()
    services.settle_event(event=event, result=result_for(event, "void"))
    with pytest.raises(AlreadySettled):
        services.suspend_market(market=market_of(event), actor=staff)
    assert Market.objects.get(pk=market_of(event).pk).status == Market.Status.OPEN
    assert not AuditLog.objects.filter(action="sportsbook.suspend_market").exists()


@pytest.mark.django_db
def test_a_suspended_market_refuses_bets_and_moves_nothing(player):
    staff = StaffFactory()
    event = three_market_event()
    result_market, goals, _ = event.markets.order_by("id")
    services.suspend_market(market=result_market, actor=staff)
    home = result_market.selections.order_by("id").first()
    ledger_rows = LedgerTransaction.objects.count()

    with pytest.raises(MarketSuspended):
        bet(player, home, "10.00")
    assert balance_of(player=player) == D("100.00")
    assert not Sportsbet.objects.exists() and LedgerTransaction.objects.count() == ledger_rows

    # The event's other markets still take bets; reopened, this one does again.
    bet(player, goals.selections.order_by("id").first(), "5.00")
    services.reopen_market(market=result_market, actor=staff)
    bet(player, home, "10.00")
    assert balance_of(player=player) == D("85.00") and Sportsbet.objects.count() == 2


# --- prices ------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_change_odds_writes_the_history_and_open_bets_keep_their_price(player):
    staff = StaffFactory()
    home, _, _ = selections(make_event())
    placed = bet(player, home, "10.00")
    version = home.version

    changed = services.change_odds(selection=home, odds="2.40", actor=staff)
    stored = Selection.objects.get(pk=home.pk)
    assert changed.odds == stored.odds == D("2.40") and stored.version == version + 1
    change = OddsChange.objects.get(selection=home)
    assert (change.old_odds, change.new_odds, change.changed_by) == (D("2.00"), D("2.40"), staff)
    log = AuditLog.objects.get(action="sportsbook.change_odds")
    assert log.actor == staff and (log.details["old"], log.details["new"]) == ("2.00", "2.40")
    placed.refresh_from_db()
    assert placed.odds == D("2.00")

    services.change_odds(selection=home, odds=D("2.4"), actor=staff)  # the same price: nothing to record
    assert OddsChange.objects.count() == 1 and Selection.objects.get(pk=home.pk).version == version + 1
    services.change_odds(selection=home, odds="1.95", actor=staff, expected_version=version + 1)
    assert list(OddsChange.objects.values_list("old_odds", "new_odds")) == [
        (D("2.40"), D("1.95")),
        (D("2.00"), D("2.40")),
    ]


@pytest.mark.parametrize(
    "odds",
    ["1.00", "1", "0.50", "-2", "0", "1000.01", "2.345", "abc", "", "NaN", "inf", "1e3", " ", "2,50", "٢.٥", 2.5, True,
     D("1.001"), D("Infinity"), D("1E+30"), None],
)  # fmt: skip
@pytest.mark.django_db
def test_bad_odds_are_a_typed_error_and_write_nothing(odds):
    staff = StaffFactory()
    home, _, _ = selections(make_event())
    with pytest.raises(InvalidOdds) as excinfo:
        services.change_odds(selection=home, odds=odds, actor=staff)
    assert excinfo.value.field == "odds" and excinfo.value.message
    assert Selection.objects.get(pk=home.pk).odds == D("2.00") and not OddsChange.objects.exists()
    assert not AuditLog.objects.exists()


@pytest.mark.parametrize(("raw", "parsed"), [("1.01", "1.01"), ("1000", "1000.00"), (" 2.5 ", "2.50"), (3, "3.00")])
def test_good_odds_parse_to_two_places(raw, parsed):
    assert parse_odds(raw) == D(parsed) and parse_odds(raw).as_tuple().exponent == -2


@pytest.mark.django_db
def test_a_stale_version_or_a_settled_market_refuses_the_change():
    staff = StaffFactory()
    event = make_event()
    home, draw, _ = selections(event)
    services.change_odds(selection=home, odds="2.10", actor=staff)
    with pytest.raises(SelectionChanged):
        services.change_odds(selection=home, odds="2.20", actor=staff, expected_version=home.version - 1)
    assert Selection.objects.get(pk=home.pk).odds == D("2.10")

    services.settle_event(event=event, result=result_for(event, home))
    with pytest.raises(AlreadySettled):
        services.change_odds(selection=draw, odds="5.00", actor=staff)
    assert Selection.objects.get(pk=draw.pk).odds == D("3.50") and OddsChange.objects.count() == 1


@pytest.mark.django_db
def test_a_slip_holding_the_old_price_gets_odds_changed_and_moves_nothing(player):
    staff = StaffFactory()
    home, _, _ = selections(make_event())
    services.change_odds(selection=home, odds="1.80", actor=staff)
    ledger_rows = LedgerTransaction.objects.count()

    with pytest.raises(OddsChanged, match="changed from 2.00 to 1.80"):
        bet(player, home, "10.00", expected_odds=D("2.00"))
    assert balance_of(player=player) == D("100.00")
    assert not Sportsbet.objects.exists() and LedgerTransaction.objects.count() == ledger_rows

    placed = bet(player, home, "10.00", expected_odds=D("1.80"))
    assert placed.odds == D("1.80") and balance_of(player=player) == D("90.00")


# --- races (real threads, PostgreSQL) -------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_bets_racing_a_suspension_are_placed_before_it_committed_or_refused(assert_reconciles):
    """Proves: with 8 bets racing a suspension, every bet either committed (having started before the
    suspension committed) or got MarketSuspended; none is placed once the suspension committed."""
    staff = StaffFactory()
    event = make_event()
    home, _, _ = selections(event)
    market = market_of(event)
    players = [PlayerFactory(balance="20.00") for _ in range(8)]
    started: dict[int, object] = {}
    suspended_at: dict[str, object] = {}

    def work(i: int):
        if i == 0:
            time.sleep(0.01)
            done = services.suspend_market(market=market, actor=staff)
            suspended_at["t"] = timezone.now()  # after its commit
            return done
        time.sleep(0.004 * i)  # spread the bets around the suspension
        started[i] = timezone.now()
        return bet(players[i - 1], home, "5.00")

    results = run_in_threads(9, work)
    assert isinstance(results[0], Market) and results[0].status == Market.Status.SUSPENDED
    placed = [r for r in results[1:] if isinstance(r, Sportsbet)]
    refused = [r for r in results[1:] if isinstance(r, MarketSuspended)]
    assert len(placed) + len(refused) == 8, results
    for i, result in enumerate(results[1:], start=1):
        if isinstance(result, Sportsbet):
            assert started[i] < suspended_at["t"]  # it had begun before the suspension was visible
            assert balance_of(player=players[i - 1]) == D("15.00")
        else:
            assert balance_of(player=players[i - 1]) == D("20.00")
    assert Sportsbet.objects.count() == len(placed)
    with pytest.raises(MarketSuspended):  # and from now on, nobody
        bet(players[0], home, "1.00")
    assert_reconciles()


@pytest.mark.django_db(transaction=True)
def test_a_bet_starting_while_a_suspension_is_uncommitted_waits_and_is_refused(player):
    """Proves: a bet that locks the market after the suspension's UPDATE waits for its commit and
    then sees the suspension (the status is read under the same share lock), never a stale 'open'."""
    staff = StaffFactory()
    home, _, _ = selections(make_event())

    waited, outcome = while_uncommitted(
        lambda: services.suspend_market(market=home.market, actor=staff), lambda: bet(player, home, "10.00")
    )

    assert waited, outcome  # blocked on the market row
    assert isinstance(outcome, MarketSuspended), outcome
    assert balance_of(player=player) == D("100.00") and not Sportsbet.objects.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("action", ["suspend", "change_odds"])
def test_a_trader_change_waits_for_a_bet_in_flight(action, monkeypatch, player):
    """Proves: a bet that has passed its checks and read its price (holding the market's share lock)
    commits, at that price, before a suspension or a price change started meanwhile can commit;
    the change then applies to the next bet."""
    staff = StaffFactory()
    home, _, _ = selections(make_event())  # home at 2.00
    trader = {
        "suspend": lambda: services.suspend_market(market=home.market, actor=staff),
        "change_odds": lambda: services.change_odds(selection=home, odds="2.50", actor=staff),
    }[action]
    real = sportsbook._check_odds
    state: dict[str, object] = {}

    def check_then_change(**kwargs):
        real(**kwargs)
        if "thread" in state:  # the next bet below
            return
        state["thread"], state["box"] = in_thread(trader)
        state["thread"].join(0.7)
        state["waited"] = state["thread"].is_alive()

    monkeypatch.setattr(sportsbook, "_check_odds", check_then_change)
    placed = bet(player, home, "10.00", key=uuid.uuid4().hex, expected_odds="2.00")
    state["thread"].join(10)
    close_old_connections()
    assert state["waited"] is True
    assert not isinstance(state["box"]["result"], BaseException), state["box"]
    placed = Sportsbet.objects.get(pk=placed.pk)
    assert (placed.status, placed.odds) == (Sportsbet.Status.OPEN, D("2.00"))
    assert balance_of(player=player) == D("90.00")
    if action == "suspend":
        assert Market.objects.get(pk=home.market_id).status == Market.Status.SUSPENDED
        with pytest.raises(MarketSuspended):
            bet(player, home, "10.00")
    else:
        history = OddsChange.objects.get(selection=home)
        assert (history.old_odds, history.new_odds) == (D("2.00"), D("2.50"))
        assert bet(player, home, "10.00").odds == D("2.50")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("seen", [None, "2.00"])
def test_a_bet_starting_while_a_price_change_is_uncommitted_waits_for_the_new_price(seen, player):
    """Proves: a bet that starts while a trader's price change is written but not committed waits
    for it and then prices at the new odds: placed at 2.50 when the slip named no price, and
    OddsChanged (nothing moved) when it showed the old 2.00. Never the old price after the change."""
    staff = StaffFactory()
    home, _, _ = selections(make_event())  # home at 2.00

    waited, outcome = while_uncommitted(
        lambda: services.change_odds(selection=home, odds="2.50", actor=staff),
        lambda: bet(player, home, "10.00", expected_odds=seen),
    )

    assert waited, outcome  # blocked on the market row, not pricing at the old odds
    if seen is None:
        assert isinstance(outcome, Sportsbet), outcome
        assert Sportsbet.objects.get().odds == D("2.50")
        assert balance_of(player=player) == D("90.00")
    else:
        assert isinstance(outcome, OddsChanged), outcome
        assert balance_of(player=player) == D("100.00") and not Sportsbet.objects.exists()
