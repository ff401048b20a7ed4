"""Sportsbook services: placing, settling, paying out, cashing out — every rule and bad input."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts import ledger
from accounts.exceptions import InsufficientFunds, PlayerBlocked
from accounts.models import LedgerTransaction
from accounts.selectors import balance_of, ledger_balance
from casino import selectors, services
from casino.demo import DEMO_EVENTS, create_demo_event
from casino.exceptions import (
    AlreadySettled,
    BettingClosed,
    InvalidResult,
    InvalidStake,
    NotCashable,
    OddsChanged,
    PlayerInSession,
)
from casino.models import Payout, Selection, SportEvent, Sportsbet
from core.exceptions import InvalidAmount
from tests.helpers.sportsbook import bet, make_event, make_game, result_for, selections

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(db):
    return make_event()


def nothing_moved(player, balance="100.00"):
    assert balance_of(player=player) == Decimal(balance)
    assert not Sportsbet.objects.filter(player=player).exists()
    assert not LedgerTransaction.objects.filter(kind=LedgerTransaction.Kind.BET_STAKE).exists()


# --- placing ------------------------------------------------------------------------
def test_place_bet_takes_stake_in_one_ledger_transaction(player, event, assert_reconciles):
    home, _, _ = selections(event)
    placed = bet(player, home, "12.50", expected_odds=Decimal("2.00"))

    assert placed.status == Sportsbet.Status.OPEN
    assert placed.odds == Decimal("2.00") and placed.stake == Decimal("12.50")
    assert balance_of(player=player) == Decimal("87.50")
    tx = LedgerTransaction.objects.get(idempotency_key=f"bet:{placed.pk}:stake")
    assert tx.kind == LedgerTransaction.Kind.BET_STAKE
    assert {(e.account, e.amount) for e in tx.entries.all()} == {
        (f"player:{player.pk}", Decimal("-12.50")),
        (ledger.SYSTEM_SPORTSBOOK, Decimal("12.50")),
    }
    assert_reconciles()


def test_repeated_key_places_one_bet(player, event):
    home, _, _ = selections(event)
    first = bet(player, home, "10.00", key="double-click")
    second = bet(player, home, "10.00", key="double-click")
    assert first.pk == second.pk
    assert balance_of(player=player) == Decimal("90.00")
    assert Sportsbet.objects.count() == 1


def test_same_key_from_two_players_places_two_bets(player, other_player, event):
    home, _, _ = selections(event)
    assert bet(player, home, key="k").pk != bet(other_player, home, key="k").pk


def test_odds_are_frozen_on_the_bet(player, event):
    home, _, _ = selections(event)
    placed = bet(player, home, "10.00")
    Selection.objects.filter(pk=home.pk).update(odds=Decimal("5.00"))
    placed.refresh_from_db()
    assert placed.odds == Decimal("2.00")
    assert placed.potential_return == Decimal("20.00")


@pytest.mark.parametrize("stake", ["0", "0.00", "-5", "1.234", "1e3", "abc", "", " ", "NaN", "1,5", "١٠"])
def test_bad_stakes_are_refused_and_nothing_moves(player, event, stake):
    home, _, _ = selections(event)
    with pytest.raises(InvalidAmount):
        bet(player, home, stake)
    nothing_moved(player)


def test_float_stake_refused(player, event):
    home, _, _ = selections(event)
    with pytest.raises(InvalidAmount):
        services.place_sportsbet(player=player, selection=home, stake=10.0, idempotency_key="f")
    nothing_moved(player)


def test_stake_over_balance_refused(player, event):
    home, _, _ = selections(event)
    with pytest.raises(InsufficientFunds):
        bet(player, home, "100.01")
    nothing_moved(player)


def test_stake_over_market_max_refused(player):
    small = make_event(max_stake="20.00")
    home, _, _ = selections(small)
    with pytest.raises(InvalidStake, match="maximum stake"):
        bet(player, home, "20.01")
    nothing_moved(player)
    assert bet(player, home, "20.00").stake == Decimal("20.00")


def test_odds_changed_since_page_load_refused(player, event):
    home, _, _ = selections(event)
    Selection.objects.filter(pk=home.pk).update(odds=Decimal("2.40"))
    with pytest.raises(OddsChanged, match="from 2.00 to 2.40"):
        bet(player, home, expected_odds=Decimal("2.00"))
    nothing_moved(player)
    assert bet(player, home, expected_odds="2.40").odds == Decimal("2.40")


@pytest.mark.parametrize("garbage", ["x", "Infinity", "NaN", ""])
def test_garbage_expected_odds_is_odds_changed(player, event, garbage):
    home, _, _ = selections(event)
    with pytest.raises(OddsChanged):
        bet(player, home, expected_odds=garbage)
    nothing_moved(player)


def test_started_event_refuses_bets(player, event):
    home, _, _ = selections(event)
    SportEvent.objects.filter(pk=event.pk).update(starts_at=timezone.now() - timedelta(minutes=1))
    with pytest.raises(BettingClosed, match="started"):
        bet(player, home)
    nothing_moved(player)


def test_settled_event_refuses_bets(player, event):
    home, draw, _ = selections(event)
    services.settle_event(event=event, result=result_for(event, draw))
    with pytest.raises(BettingClosed, match="settled"):
        bet(player, home)
    nothing_moved(player)


def test_missing_selection_refused(player, event):
    home, _, _ = selections(event)
    ghost = Selection(pk=home.pk + 10_000, market=home.market, name="Ghost", odds=Decimal("2"))
    with pytest.raises(BettingClosed):
        bet(player, ghost)
    nothing_moved(player)


def test_blocked_player_cannot_bet(player, event, monkeypatch):
    from casino.services import sportsbook

    def blocked(*, player):
        raise PlayerBlocked("Self-excluded.")

    monkeypatch.setattr(sportsbook, "check_can_play", blocked)
    home, _, _ = selections(event)
    with pytest.raises(PlayerBlocked):
        bet(player, home)
    nothing_moved(player)


# --- settling -----------------------------------------------------------------------
def test_settle_wins_loses_and_queues_one_payout_per_winning_bet(player, other_player, event, assert_reconciles):
    home, draw, away = selections(event)
    winner = bet(player, home, "10.00")
    winner2 = bet(player, home, "3.33")
    loser = bet(other_player, away, "20.00")
    sportsbook_before = ledger_balance(ledger.SYSTEM_SPORTSBOOK)
    tx_count = LedgerTransaction.objects.count()

    report = services.settle_event(event=event, result=result_for(event, home))

    assert (report.won, report.lost, report.void, report.payouts) == (2, 1, 0, 2)
    assert report.queued_amount == Decimal("26.66")
    event.refresh_from_db()
    assert event.status == SportEvent.Status.SETTLED and event.settled_at
    statuses = dict(Sportsbet.objects.values_list("pk", "status"))
    assert statuses == {winner.pk: "won", winner2.pk: "won", loser.pk: "lost"}
    assert list(Selection.objects.filter(market__event=event).order_by("id").values_list("result", flat=True)) == [
        "won",
        "lost",
        "lost",
    ]
    payout = Payout.objects.get(bet=winner)
    assert (payout.state, payout.kind, payout.amount) == ("queued", "win", Decimal("20.00"))
    assert payout.player_id == player.pk
    assert Payout.objects.get(bet=winner2).amount == Decimal("6.66")  # 3.33 x 2.00
    assert not Payout.objects.filter(bet=loser).exists()
    # No money moves at settlement: it moves when paid.
    assert LedgerTransaction.objects.count() == tx_count
    assert ledger_balance(ledger.SYSTEM_SPORTSBOOK) == sportsbook_before
    assert_reconciles()


def test_payout_rounds_half_up_like_the_page_shows(player):
    ev = make_event(odds=("1.55", "3.00", "3.00"))
    home, _, _ = selections(ev)
    placed = bet(player, home, "0.05")  # 0.0775 -> 0.08
    services.settle_event(event=ev, result=result_for(ev, home))
    assert Payout.objects.get(bet=placed).amount == placed.potential_return == Decimal("0.08")


def test_void_refunds_stake_as_queued_refund(player, event):
    home, _, _ = selections(event)
    placed = bet(player, home, "15.00")
    report = services.settle_event(event=event, result=result_for(event, "void"))
    assert report.void == 1
    placed.refresh_from_db()
    assert placed.status == Sportsbet.Status.VOID
    payout = Payout.objects.get(bet=placed)
    assert (payout.kind, payout.amount, payout.state) == ("refund", Decimal("15.00"), "queued")


def test_settling_twice_settles_once(player, event):
    home, _, _ = selections(event)
    bet(player, home)
    services.settle_event(event=event, result=result_for(event, home))
    with pytest.raises(AlreadySettled):
        services.settle_event(event=event, result=result_for(event, "void"))
    assert Payout.objects.count() == 1
    assert Payout.objects.get().kind == Payout.Kind.WIN


def test_settle_with_stale_event_instance_is_refused(player, event):
    stale = SportEvent.objects.get(pk=event.pk)
    home, _, away = selections(event)
    services.settle_event(event=event, result=result_for(event, home))
    with pytest.raises(AlreadySettled):
        services.settle_event(event=stale, result=result_for(stale, away))


@pytest.mark.parametrize(
    "build",
    [
        lambda ev, other: {},
        lambda ev, other: None,
        lambda ev, other: {ev.markets.get().pk: other.pk},  # selection from another event
        lambda ev, other: {999999: "void"},  # not a market of this event
        lambda ev, other: {ev.markets.get().pk: "draw"},
        lambda ev, other: {ev.markets.get().pk: True},
        lambda ev, other: {str(ev.markets.get().pk): "void", ev.markets.get().pk: "void"},  # twice
    ],
)
def test_bad_results_are_refused_and_nothing_settles(player, event, build):
    other_home, _, _ = selections(make_event(name="Other"))
    home, _, _ = selections(event)
    bet(player, home)
    with pytest.raises(InvalidResult):
        services.settle_event(event=event, result=build(event, other_home))
    event.refresh_from_db()
    assert event.status == SportEvent.Status.OPEN
    assert not Payout.objects.exists()


def test_result_must_cover_every_market(player, event):
    from casino.models import Market

    extra = Market.objects.create(event=event, name="Both teams score")
    Selection.objects.create(market=extra, name="Yes", odds=Decimal("1.80"))
    first = event.markets.order_by("id").first()
    with pytest.raises(InvalidResult, match="Missing"):
        services.settle_event(event=event, result={first.pk: "void"})


def test_result_accepts_string_ids_from_forms(player, event):
    home, _, _ = selections(event)
    placed = bet(player, home)
    services.settle_event(event=event, result={str(home.market_id): str(home.pk)})
    placed.refresh_from_db()
    assert placed.status == Sportsbet.Status.WON


# --- paying ---------------------------------------------------------------------------
def test_pay_out_player_pays_each_queued_payout_once(player, event, assert_reconciles):
    home, _, _ = selections(event)
    bet(player, home, "10.00")
    bet(player, home, "5.00")
    services.settle_event(event=event, result=result_for(event, home))
    assert balance_of(player=player) == Decimal("85.00")

    paid = services.pay_out_player(player=player)

    assert len(paid) == 2 and all(p.state == Payout.State.PAID and p.paid_at for p in paid)
    assert balance_of(player=player) == Decimal("115.00")
    for payout in paid:
        tx = LedgerTransaction.objects.get(idempotency_key=f"payout:{payout.pk}")
        assert tx.kind == LedgerTransaction.Kind.PAYOUT
    assert services.pay_out_player(player=player) == []  # run again: nothing to pay
    assert balance_of(player=player) == Decimal("115.00")
    assert_reconciles()


def test_pay_out_player_skips_a_player_in_a_session(player, event):
    home, _, _ = selections(event)
    bet(player, home)
    session = services.open_session(player=player, game=make_game())
    services.settle_event(event=event, result=result_for(event, home))
    assert services.pay_out_player(player=player) == []
    assert Payout.objects.get().state == Payout.State.QUEUED
    assert list(selectors.players_due_payout()) == []

    services.leave(session=session)
    assert list(selectors.players_due_payout()) == [player.pk]
    assert len(services.pay_out_player(player=player)) == 1


def test_pay_out_player_only_pays_own_payouts(player, other_player, event):
    home, _, _ = selections(event)
    bet(player, home)
    bet(other_player, home)
    services.settle_event(event=event, result=result_for(event, home))
    services.pay_out_player(player=player)
    assert Payout.objects.get(player=other_player).state == Payout.State.QUEUED


# --- cashing out a bet ------------------------------------------------------------------
def test_cash_out_won_bet_pays_at_once_and_is_idempotent(player, event):
    home, _, _ = selections(event)
    placed = bet(player, home, "10.00")
    services.settle_event(event=event, result=result_for(event, home))
    payout = services.cash_out_bet(bet=placed)
    assert payout.state == Payout.State.PAID
    assert balance_of(player=player) == Decimal("110.00")
    again = services.cash_out_bet(bet=placed)
    assert again.pk == payout.pk and balance_of(player=player) == Decimal("110.00")
    assert LedgerTransaction.objects.filter(idempotency_key=f"payout:{payout.pk}").count() == 1


def test_cash_out_refused_mid_session(player, event):
    home, _, _ = selections(event)
    placed = bet(player, home)
    services.settle_event(event=event, result=result_for(event, home))
    services.open_session(player=player, game=make_game())
    with pytest.raises(PlayerInSession, match="when you leave"):
        services.cash_out_bet(bet=placed)
    assert Payout.objects.get().state == Payout.State.QUEUED


@pytest.mark.parametrize("winner_index, message", [(None, "not settled"), (2, "nothing to cash out")])
def test_cash_out_refused_for_open_or_lost_bets(player, event, winner_index, message):
    home, _, away = selections(event)
    placed = bet(player, home)
    if winner_index is not None:
        services.settle_event(event=event, result=result_for(event, away))
    placed.refresh_from_db()
    with pytest.raises(NotCashable, match=message):
        services.cash_out_bet(bet=placed)


def test_sportsbook_ledger_account_balances_over_a_full_cycle(player, other_player, event, assert_reconciles):
    home, _, away = selections(event)
    bet(player, home, "10.00")
    bet(other_player, away, "30.00")
    services.settle_event(event=event, result=result_for(event, home))
    services.pay_out_player(player=player)
    # The book took 40 and paid 20: it keeps 20.
    assert ledger_balance(ledger.SYSTEM_SPORTSBOOK) == Decimal("20.00")
    assert balance_of(player=player) + balance_of(player=other_player) == Decimal("180.00")
    assert_reconciles()


# --- demo data ------------------------------------------------------------------------
def test_demo_event_is_a_football_match_with_1x2_and_idempotent(db):
    ev = create_demo_event()
    assert ev.sport == "Football" and ev.name == DEMO_EVENTS[0]["name"]
    result, goals, btts = ev.markets.order_by("id")  # issue 18: three markets per demo match
    assert [s.name for s in result.selections.order_by("id")][1] == "Draw"
    assert (goals.kind, goals.line, btts.kind) == ("over_under", Decimal("2.5"), "btts")
    assert [s.name for s in goals.selections.order_by("id")] == ["Over 2.5", "Under 2.5"]
    assert create_demo_event().pk == ev.pk
    assert selectors.upcoming_events().filter(pk=ev.pk).exists()
