"""Issue 18, the trader's admin: the trading page (liability per selection, market and event),
suspend / reopen, the change-odds page and its history, the market page's read-only status and
locked kind / line, and settling a three-market event through the confirmation page."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from casino import services
from casino.exceptions import MarketSuspended
from casino.models import BetLeg, Market, OddsChange, Payout, Selection, SportEvent, Sportsbet
from casino.selectors import trading
from casino.services.sportsbook import create_match_event
from core.models import AuditLog
from tests.conftest import _group_client
from tests.helpers.sportsbook import bet, make_event, market_form, selections

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def event(db):
    return make_event()  # odds 2.00 / 3.50 / 4.00


def trading_url(event) -> str:
    return reverse("admin:casino_sportevent_trading", args=[event.pk])


def odds_url(selection) -> str:
    return reverse("admin:casino_selection_change_odds", args=[selection.pk])


def market_url(market) -> str:
    return reverse("admin:casino_market_change", args=[market.pk])


def hand_built_accumulator(player, legs: list[Selection], stake: str) -> Sportsbet:
    """An open accumulator written directly (stake, combined price, one BetLeg per event)."""
    odds = D("1.00")
    for leg in legs:
        odds *= leg.odds
    acca = Sportsbet.objects.create(
        player=player,
        kind=Sportsbet.Kind.ACCUMULATOR,
        selection=None,
        odds=odds.quantize(D("0.01")),
        stake=D(stake),
        idempotency_key=uuid.uuid4().hex,
    )
    for leg in legs:
        BetLeg.objects.create(bet=acca, selection=leg, event=leg.market.event, odds=leg.odds)
    return acca


@pytest.fixture
def book(event, player, other_player):
    """Singles and one accumulator on ``event`` (and another match): the liability worked by hand."""
    other = make_event(name="Other FC vs Leg United", odds=("2.50", "3.00", "2.80"))
    home, draw, _ = selections(event)
    other_home = selections(other)[0]
    bet(player, home, "10.00")  # 20.00 - 10.00 = 10.00
    bet(other_player, home, "3.33")  # 6.66 - 3.33 = 3.33
    bet(other_player, draw, "5.00")  # 17.50 - 5.00 = 12.50
    lost = bet(player, draw, "7.00")  # not open: not counted
    Sportsbet.objects.filter(pk=lost.pk).update(status=Sportsbet.Status.LOST)
    # 4.00 at 2.00 x 2.50 = 5.00: 20.00 - 4.00 = 16.00 against home AND against the other match's home.
    hand_built_accumulator(player, [home, other_home], "4.00")
    closed = hand_built_accumulator(other_player, [draw, other_home], "2.00")  # settled: not counted
    Sportsbet.objects.filter(pk=closed.pk).update(status=Sportsbet.Status.LOST)
    return other


# --- liability --------------------------------------------------------------------------------
def test_liability_counts_open_singles_and_each_accumulator_leg(event, book, django_assert_max_num_queries):
    home, draw, away = selections(event)
    with django_assert_max_num_queries(4):
        report = trading.event_liability(event=event)
        rows = {row.selection.pk: row for market in report.markets for row in market.selections}
    assert (rows[home.pk].singles, rows[home.pk].singles_liability) == (2, D("13.33"))
    assert (rows[home.pk].accumulators, rows[home.pk].accumulators_liability) == (1, D("16.00"))
    assert rows[home.pk].liability == D("29.33") and rows[home.pk].singles_stakes == D("13.33")
    assert (rows[draw.pk].singles, rows[draw.pk].liability) == (1, D("12.50"))
    assert (rows[away.pk].singles, rows[away.pk].liability) == (0, D("0.00"))
    (market,) = report.markets
    assert market.liability == report.liability == D("41.83")
    assert market.worst_selection.selection == home and market.bets == 4

    other = trading.event_liability(event=book)
    other_home = selections(book)[0]
    assert {r.selection.pk: r.liability for r in other.markets[0].selections}[other_home.pk] == D("16.00")
    assert other.liability == D("16.00")


def test_the_trading_page_shows_the_figures_to_a_trader(trader_client, event, book):
    home, draw, away = selections(event)
    Selection.objects.filter(pk=home.pk).update(max_liability=D("100.00"))
    response = trader_client.get(trading_url(event))
    assert response.status_code == 200
    body = response.content.decode()
    assert f'data-testid="liability-{home.pk}">€29.33<' in body
    assert f'data-testid="liability-{draw.pk}">€12.50<' in body
    assert f'data-testid="liability-{away.pk}">€0.00<' in body
    market = event.markets.get()
    assert f'data-testid="market-liability-{market.pk}">€41.83<' in body
    assert 'data-testid="event-liability">€41.83<' in body
    assert "counts its full" in body and "against each of its legs" in body  # the page says how accumulators count
    assert "29.3% used" in body
    assert f'data-testid="suspend-{market.pk}"' in body and f'data-testid="change-odds-{home.pk}"' in body
    changelist = trader_client.get(reverse("admin:casino_sportevent_changelist")).content.decode()
    assert trading_url(event) in changelist


# --- permissions ------------------------------------------------------------------------------------
def test_view_only_staff_see_the_page_but_cannot_trade(client, event):
    support = _group_client(client, "support", "sam")
    market = event.markets.get()
    home = selections(event)[0]
    body = support.get(trading_url(event)).content.decode()
    assert 'data-testid="trading"' in body
    assert f'data-testid="suspend-{market.pk}"' not in body and f'data-testid="change-odds-{home.pk}"' not in body
    assert support.post(reverse("admin:casino_market_suspend", args=[market.pk])).status_code == 403
    assert support.get(odds_url(home)).status_code == 403
    assert support.post(odds_url(home), {"odds": "9.00", "expected_version": "0"}).status_code == 403
    response = support.post(
        reverse("admin:casino_market_changelist"), {"action": "suspend_selected", "_selected_action": [market.pk]}
    )
    assert response.status_code in (200, 302)  # the action is not offered: nothing happens
    assert Market.objects.get(pk=market.pk).status == Market.Status.OPEN
    assert Selection.objects.get(pk=home.pk).odds == D("2.00") and not AuditLog.objects.exists()


def test_staff_without_permissions_get_403_and_anonymous_the_login(client, event):
    market = event.markets.get()
    home = selections(event)[0]
    clerk = User.objects.create_user(username="clerk", password="x-very-long-pass", is_staff=True)
    client.force_login(clerk)
    assert client.get(trading_url(event)).status_code == 403
    assert client.post(reverse("admin:casino_market_suspend", args=[market.pk])).status_code == 403
    assert client.get(odds_url(home)).status_code == 403
    client.logout()
    for url in (trading_url(event), odds_url(home)):
        assert client.get(url).status_code == 302  # to the admin login
    assert client.post(reverse("admin:casino_market_suspend", args=[market.pk])).status_code == 302
    assert Market.objects.get(pk=market.pk).status == Market.Status.OPEN


def test_unknown_ids_are_404(trader_client):
    assert trader_client.get(reverse("admin:casino_sportevent_trading", args=[999999])).status_code == 404
    assert trader_client.get(reverse("admin:casino_selection_change_odds", args=[999999])).status_code == 404
    assert trader_client.post(reverse("admin:casino_market_suspend", args=[999999])).status_code == 404


# --- suspend / reopen ---------------------------------------------------------------------------
def test_a_trader_suspends_and_reopens_a_market(trader_client, event, player):
    market = event.markets.get()
    home = selections(event)[0]
    suspend = reverse("admin:casino_market_suspend", args=[market.pk])
    assert trader_client.get(suspend).status_code == 405  # a POST only

    response = trader_client.post(suspend, follow=True)
    assert response.redirect_chain == [(trading_url(event), 302)]
    body = response.content.decode()
    assert "suspended." in body and f'data-testid="reopen-{market.pk}"' in body
    assert Market.objects.get(pk=market.pk).status == Market.Status.SUSPENDED
    assert AuditLog.objects.get(action="sportsbook.suspend_market").actor == trader_client.user
    with pytest.raises(MarketSuspended):
        bet(player, home, "5.00")

    trader_client.post(reverse("admin:casino_market_reopen", args=[market.pk]))
    assert Market.objects.get(pk=market.pk).status == Market.Status.OPEN
    assert AuditLog.objects.get(action="sportsbook.reopen_market").actor == trader_client.user


def test_suspend_and_reopen_actions_on_the_market_list(trader_client):
    event = create_match_event(
        name="A vs B", home="A", away="B", odds=("2", "3", "4"), extra_markets={"btts": ("2", "2")}
    )
    ids = list(event.markets.values_list("pk", flat=True))
    url = reverse("admin:casino_market_changelist")
    response = trader_client.post(url, {"action": "suspend_selected", "_selected_action": ids}, follow=True)
    assert "Suspended 2 markets." in response.content.decode()
    assert set(Market.objects.values_list("status", flat=True)) == {Market.Status.SUSPENDED}
    trader_client.post(url, {"action": "reopen_selected", "_selected_action": ids[:1]})
    assert dict(Market.objects.values_list("pk", "status")) == {ids[0]: "open", ids[1]: "suspended"}


def test_a_settled_events_market_is_not_suspended_from_the_admin(trader_client, event):
    market = event.markets.get()
    services.settle_event(event=event, result={market.pk: "void"})
    response = trader_client.post(reverse("admin:casino_market_suspend", args=[market.pk]), follow=True)
    assert response.status_code == 200 and "is settled" in response.content.decode()
    assert Market.objects.get(pk=market.pk).status == Market.Status.OPEN


# --- prices -------------------------------------------------------------------------------------
def test_a_trader_changes_the_odds_and_sees_the_history(trader_client, event):
    home = selections(event)[0]
    page = trader_client.get(odds_url(home)).content.decode()
    assert 'data-testid="current-odds">2.00<' in page and "No price changes yet." in page
    assert 'name="expected_version" value="0"' in page

    response = trader_client.post(odds_url(home), {"odds": "2.25", "expected_version": "0"})
    assert response.status_code == 302 and response.url == trading_url(event)
    assert Selection.objects.get(pk=home.pk).odds == D("2.25")
    change = OddsChange.objects.get()
    assert (change.old_odds, change.new_odds, change.changed_by) == (D("2.00"), D("2.25"), trader_client.user)
    assert AuditLog.objects.get(action="sportsbook.change_odds").actor == trader_client.user

    history = trader_client.get(odds_url(home)).content.decode()
    assert 'data-testid="odds-history"' in history and "2.25" in history and "tina" in history
    assert 'data-testid="odds-history"' in trader_client.get(trading_url(event)).content.decode()
    changes = trader_client.get(reverse("admin:casino_oddschange_changelist")).content.decode()
    assert "2.25" in changes
    assert trader_client.get(reverse("admin:casino_oddschange_add")).status_code == 403


@pytest.mark.parametrize(
    ("odds", "message"),
    [
        ("1.00", "above 1.00"),
        ("1000.50", "at most 1000.00"),
        ("2.555", "at most two decimals"),
        ("abc", "Enter odds above 1.00"),
        ("", "This field is required"),
    ],
)
def test_bad_odds_are_a_form_error_and_change_nothing(trader_client, event, odds, message):
    home = selections(event)[0]
    response = trader_client.post(odds_url(home), {"odds": odds, "expected_version": "0"})
    assert response.status_code == 422 and message in response.content.decode()
    assert Selection.objects.get(pk=home.pk).odds == D("2.00") and not OddsChange.objects.exists()


def test_a_price_changed_meanwhile_is_not_overwritten(trader_client, staff, event):
    home = selections(event)[0]
    services.change_odds(selection=home, odds="1.90", actor=staff)  # another trader, after the page loaded
    response = trader_client.post(odds_url(home), {"odds": "2.25", "expected_version": "0"})
    assert response.status_code == 422 and "changed by somebody else" in response.content.decode()
    assert Selection.objects.get(pk=home.pk).odds == D("1.90") and OddsChange.objects.count() == 1


def test_odds_of_a_settled_event_cannot_change(trader_client, event):
    home = selections(event)[0]
    services.settle_event(event=event, result={event.markets.get().pk: home.pk})
    assert "its prices are history" in trader_client.get(odds_url(home)).content.decode()
    response = trader_client.post(odds_url(home), {"odds": "2.25", "expected_version": str(home.version)})
    assert response.status_code == 422 and "is settled" in response.content.decode()
    assert Selection.objects.get(pk=home.pk).odds == D("2.00")


# --- the market page --------------------------------------------------------------------------------


def test_the_market_page_keeps_the_status_and_saves_prices_through_the_service(trader_client, staff, event):
    market = event.markets.get()
    form = market_form(market)  # the page as loaded
    services.suspend_market(market=market, actor=staff)  # then somebody suspends it
    page = trader_client.get(market_url(market)).content.decode()
    assert 'name="status"' not in page and "Suspended" in page  # read-only

    form |= {
        "name": "Full time",
        "selections-0-odds": "2.20",
        "selections-1-max_liability": "250.00",
        "selections-1-liability_mode": "overbook",
    }
    response = trader_client.post(market_url(market), form)
    assert response.status_code == 302, response.content.decode()[:2000]
    stored = Market.objects.get(pk=market.pk)
    assert (stored.name, stored.status) == ("Full time", Market.Status.SUSPENDED)  # the save did not reopen it
    home, draw, _ = selections(event)
    assert home.odds == D("2.20") and (draw.max_liability, draw.liability_mode) == (D("250.00"), "overbook")
    change = OddsChange.objects.get()
    assert (change.selection_id, change.old_odds, change.new_odds) == (home.pk, D("2.00"), D("2.20"))
    assert change.changed_by == trader_client.user
    limit = AuditLog.objects.get(action="sportsbook.set_max_liability")  # through the liability service
    assert limit.actor == trader_client.user and limit.target == f"selection:{draw.pk}"


@pytest.mark.parametrize(
    ("field", "value"),
    [("selections-0-odds", "1.00"), ("selections-0-odds", "5000"), ("selections-0-max_liability", "-5")],
)
def test_bad_inline_values_are_form_errors(trader_client, event, field, value):
    market = event.markets.get()
    response = trader_client.post(market_url(market), market_form(market, **{field: value}))
    assert response.status_code == 200 and "errornote" in response.content.decode()
    assert Selection.objects.get(pk=selections(event)[0].pk).odds == D("2.00") and not OddsChange.objects.exists()


def test_kind_and_line_lock_once_the_market_has_bets(trader_client, event, player):
    market = event.markets.get()
    page = trader_client.get(market_url(market)).content.decode()
    assert 'name="kind"' in page and 'name="line"' in page
    bad = trader_client.post(market_url(market), market_form(market, kind="over_under"))
    assert bad.status_code == 200 and "needs a goals line" in bad.content.decode()

    bet(player, selections(event)[0])
    page = trader_client.get(market_url(market)).content.decode()
    assert 'name="kind"' not in page and "kind and goals line are locked" in page
    response = trader_client.post(market_url(market), market_form(market, kind="btts"))
    assert response.status_code == 200 and "Kind would have changed" in response.content.decode()
    assert Market.objects.get(pk=market.pk).kind == Market.Kind.MATCH_RESULT


def test_the_event_page_edits_its_markets_without_touching_their_status(trader_client, staff, event):
    market = event.markets.get()
    services.suspend_market(market=market, actor=staff)
    data = {
        "name": event.name,
        "sport": event.sport,
        "starts_at_0": event.starts_at.strftime("%Y-%m-%d"),
        "starts_at_1": event.starts_at.strftime("%H:%M:%S"),
        "markets-TOTAL_FORMS": "2",
        "markets-INITIAL_FORMS": "1",
        "markets-MIN_NUM_FORMS": "0",
        "markets-MAX_NUM_FORMS": "1000",
        "markets-0-id": market.pk,
        "markets-0-event": event.pk,
        "markets-0-name": "Match result (90 min)",
        "markets-0-kind": "match_result",
        "markets-0-line": "",
        "markets-0-max_stake": "300.00",
        "markets-1-event": event.pk,
        "markets-1-name": "Over/under 3.5 goals",
        "markets-1-kind": "over_under",
        "markets-1-line": "3.5",
        "markets-1-max_stake": "100.00",
    }
    response = trader_client.post(reverse("admin:casino_sportevent_change", args=[event.pk]), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    first, added = event.markets.order_by("id")
    assert (first.name, first.max_stake, first.status) == ("Match result (90 min)", D("300.00"), "suspended")
    assert (added.kind, added.line, added.status) == ("over_under", D("3.5"), "open")


# --- settling a three-market event ------------------------------------------------------------------
def test_settling_a_three_market_event_reviews_each_market_then_settles(trader_client, player, other_player):
    event = create_match_event(
        name="Three FC vs Markets United",
        home="Three FC",
        away="Markets United",
        odds=("2.00", "3.40", "3.80"),
        starts_at=timezone.now() + timezone.timedelta(hours=3),
        extra_markets={"over_under": ("1.90", "1.90"), "btts": ("1.80", "2.00")},
    )
    result_market, goals, btts = event.markets.order_by("id")
    home = result_market.selections.order_by("id").first()
    over, under = goals.selections.order_by("id")
    yes = btts.selections.order_by("id").first()
    bet(player, home, "10.00")  # wins 20.00
    bet(other_player, over, "10.00")  # loses
    bet(player, under, "5.00")  # wins 9.50
    bet(other_player, yes, "4.00")  # void: refund 4.00
    url = reverse("admin:casino_sportevent_settle", args=[event.pk])

    page = trader_client.get(url).content.decode()
    for market in (result_market, goals, btts):
        assert f'name="market_{market.pk}"' in page
    assert "Over/under 2.5 goals" in page and "Both teams to score" in page

    missing = trader_client.post(url, {f"market_{result_market.pk}": str(home.pk), f"market_{goals.pk}": str(under.pk)})
    assert missing.status_code == 422 and 'data-testid="settle-confirm"' not in missing.content.decode()

    choice = {
        f"market_{result_market.pk}": str(home.pk),
        f"market_{goals.pk}": str(under.pk),
        f"market_{btts.pk}": "void",
    }
    review = trader_client.post(url, choice)
    body = review.content.decode()
    assert review.status_code == 200 and 'data-testid="settle-confirm"' in body
    assert "<strong>Three FC</strong> wins @ 2.00" in body and "<strong>Under 2.5</strong> wins @ 1.90" in body
    assert "<strong>Void</strong>: every stake refunded" in body
    assert f'data-testid="preview-to-pay-{result_market.pk}">€20.00<' in body
    assert f'data-testid="preview-to-pay-{goals.pk}">€9.50<' in body
    assert f'data-testid="preview-to-pay-{btts.pk}">€4.00<' in body
    assert 'data-testid="preview-total">€33.50<' in body and "3 payouts to queue" in body
    for name, value in choice.items():
        assert f'name="{name}" value="{value}"' in body  # every choice rides along, hidden
    assert SportEvent.objects.get(pk=event.pk).status == SportEvent.Status.OPEN and not Payout.objects.exists()

    done = trader_client.post(url, {**choice, "confirm": "Settle event"})
    assert done.status_code == 302
    assert SportEvent.objects.get(pk=event.pk).status == SportEvent.Status.SETTLED
    assert sorted(Payout.objects.values_list("amount", flat=True)) == [D("4.00"), D("9.50"), D("20.00")]
    assert AuditLog.objects.get(action="sportsbook.settle_event").actor == trader_client.user
