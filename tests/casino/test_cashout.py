"""Early cash-out (issue 18): the offer formula, the write, odds moves, suspensions, the payout queue, replays."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import LedgerTransaction
from accounts.selectors import balance_of
from casino import services
from casino.exceptions import CashOutOfferChanged, CashOutUnavailable
from casino.models import BetLeg, Payout, SportEvent, Sportsbet
from casino.models.sportsbook import Notice
from casino.services.cashout import LegPrice, cash_out_quote, fair_offer
from core.exceptions import IdempotencyKeyReused
from core.models import AuditLog
from tests.helpers.sportsbook import bet, make_event, make_game, result_for, selections

D = Decimal
P, W, L, V = "pending", "won", "lost", "void"


def leg(placed, current=None, result=P) -> LegPrice:
    return LegPrice(placed=D(placed), current=D(current) if current is not None else None, result=result)


# --- the formula, table-driven (no database) ---------------------------------------
@pytest.mark.parametrize(
    ("stake", "legs", "margin", "cap", "offer"),
    [
        # singles: stake x placed / current x (1 - margin), rounded down to the cent
        ("10.00", [leg("2.00", "1.60")], "0.05", "20.00", "11.87"),  # 12.50 x 0.95 = 11.875
        ("10.00", [leg("2.00", "2.00")], "0.05", "20.00", "9.50"),  # unchanged price: worth its stake, less margin
        ("10.00", [leg("2.00", "4.00")], "0.05", "20.00", "4.75"),  # drifted: worth less
        ("10.00", [leg("3.00", "2.90")], "0.05", "30.00", "9.82"),  # 9.8275.. rounds DOWN
        ("10.00", [leg("2.00", "2.00")], "0", "20.00", "10.00"),  # no margin: the fair value
        ("10.00", [leg("2.00", "1.01")], "0", "19.00", "19.00"),  # 19.80 capped: never above the potential return
        ("0.01", [leg("1.01", "1000.00")], "0.05", "0.01", None),  # below one cent: no offer
        # accumulators: won legs "already in" at their placed odds, void legs 1.00, open legs placed / current
        ("10.00", [leg("2.00", result=W), leg("1.50", result=V), leg("3.00", "2.50")], "0.05", "90.00", "22.80"),
        ("5.00", [leg("2.00", "1.50"), leg("3.00", "4.00")], "0.05", "30.00", "4.75"),  # 5 x 2/1.5 x 3/4 = 5.00
        ("10.00", [leg("2.00", result=W), leg("2.00", result=W), leg("2.00", "2.00")], "0.10", "80.00", "36.00"),
        ("10.00", [leg("2.00", result=W), leg("1.50", result=L), leg("3.00", "2.50")], "0.05", "90.00", None),  # lost
        ("10.00", [leg("2.00", result=W), leg("1.50", result=V)], "0.05", "30.00", None),  # nothing open: settles
        ("10.00", [leg("2.00", "1.80"), leg("1.50", None)], "0.05", "30.00", None),  # an open leg without a price
    ],
)
def test_fair_offer_formula(stake, legs, margin, cap, offer):
    got = fair_offer(stake=D(stake), legs=legs, potential_return=D(cap), margin=D(margin))
    assert got == (D(offer) if offer is not None else None)


def test_margin_comes_from_the_setting(settings):
    settings.SPORTSBOOK_CASH_OUT_MARGIN = D("0.10")
    assert fair_offer(stake=D("10.00"), legs=[leg("2.00", "2.00")], potential_return=D("20.00")) == D("9.00")


# --- the database ------------------------------------------------------------------
pytestmark_db = pytest.mark.django_db


@pytest.fixture
def event(db):
    return make_event()  # 2.00 / 3.50 / 4.00


def cash_out(placed, offer, key=None):
    return services.cash_out_early(bet=placed, expected_offer=offer, idempotency_key=key or uuid.uuid4().hex)


def nothing_moved(player, placed, balance="90.00"):
    placed.refresh_from_db()
    assert placed.status == Sportsbet.Status.OPEN and placed.cash_out_amount is None
    assert not Payout.objects.filter(bet=placed).exists()
    assert balance_of(player=player) == D(balance)
    assert not LedgerTransaction.objects.filter(kind=LedgerTransaction.Kind.PAYOUT).exists()


@pytestmark_db
def test_offer_follows_the_current_price(player, staff, event):
    home, _, _ = selections(event)
    placed = bet(player, home, "10.00")
    assert services.cash_out_offer(placed) == D("9.50")
    services.change_odds(selection=home, odds="1.60", actor=staff)
    assert services.cash_out_offer(placed) == D("11.87")
    services.change_odds(selection=home, odds="4.00", actor=staff)
    assert services.cash_out_offer(placed) == D("4.75")


@pytestmark_db
def test_cash_out_settles_the_bet_and_queues_one_payout(
    player, event, django_capture_on_commit_callbacks, assert_reconciles
):
    home, _, _ = selections(event)
    placed = bet(player, home, "10.00")
    with django_capture_on_commit_callbacks(execute=True):
        payout = cash_out(placed, "9.50")
    placed.refresh_from_db()
    assert placed.status == Sportsbet.Status.CASHED_OUT and placed.cash_out_amount == D("9.50")
    assert placed.settled_at is not None
    assert payout.kind == Payout.Kind.CASH_OUT and payout.amount == D("9.50")
    notice = Notice.objects.get(bet=placed, kind=Notice.Kind.BET_SETTLED)
    assert notice.seen_at is not None  # the player was answered on the spot
    # Not at a machine: the queue paid it after commit, once.
    payout.refresh_from_db()
    assert payout.state == Payout.State.PAID
    assert balance_of(player=player) == D("99.50")
    assert LedgerTransaction.objects.filter(kind=LedgerTransaction.Kind.PAYOUT).count() == 1
    assert cash_out_quote(placed).reason == "This bet is already cashed out."
    assert_reconciles()


@pytestmark_db
def test_odds_moved_gives_the_new_offer_and_nothing_moves(player, staff, event):
    home, _, _ = selections(event)
    placed = bet(player, home, "10.00")
    shown = services.cash_out_offer(placed)
    services.change_odds(selection=home, odds="1.60", actor=staff)
    with pytest.raises(CashOutOfferChanged) as caught:
        cash_out(placed, shown, key="k1")
    assert caught.value.offer == D("11.87") and "€11.87" in caught.value.message
    nothing_moved(player, placed)
    # The player accepts the new offer with the same form key: it was never used.
    payout = cash_out(placed, caught.value.offer, key="k1")
    assert payout.amount == D("11.87")


@pytestmark_db
@pytest.mark.parametrize("bad", [None, "", "abc", "9.5", "9.501", "NaN", "Infinity", 9.5, "-9.50"])
def test_a_missing_or_tampered_offer_is_the_changed_offer_error(player, event, bad):
    home, _, _ = selections(event)
    placed = bet(player, home, "10.00")
    expected = D("9.50")
    if bad == "9.5":  # the same number written without the last zero is the same offer
        assert cash_out(placed, bad).amount == expected
        return
    with pytest.raises(CashOutOfferChanged) as caught:
        cash_out(placed, bad)
    assert caught.value.offer == expected
    nothing_moved(player, placed)


@pytestmark_db
def test_suspended_market_has_no_offer_until_it_reopens(player, staff, event):
    home, _, _ = selections(event)
    placed = bet(player, home, "10.00")
    market = event.markets.get()
    services.suspend_market(market=market, actor=staff)
    quote = cash_out_quote(placed)
    assert quote.offer is None and "suspended" in quote.reason
    with pytest.raises(CashOutUnavailable, match="suspended"):
        cash_out(placed, "9.50")
    nothing_moved(player, placed)
    services.reopen_market(market=market, actor=staff)
    assert cash_out(placed, "9.50").amount == D("9.50")


@pytestmark_db
def test_settled_and_lost_bets_have_no_offer(player, event):
    home, _, away = selections(event)
    winner, loser = bet(player, home, "10.00"), bet(player, away, "10.00")
    services.settle_event(event=event, result=result_for(event, home))
    for placed in (winner, loser):
        assert services.cash_out_offer(placed) is None
        with pytest.raises(CashOutUnavailable, match="settled"):
            cash_out(placed, "9.50")
    assert Payout.objects.get().kind == Payout.Kind.WIN  # the settlement's only payout


@pytestmark_db
def test_in_play_cash_out_while_the_market_is_open(player, event):
    """The choice documented in casino.services.cashout: a started, unsettled event still has an offer."""
    home, _, _ = selections(event)
    placed = bet(player, home, "10.00")
    SportEvent.objects.filter(pk=event.pk).update(starts_at=timezone.now() - timedelta(minutes=30))  # kick-off
    assert services.cash_out_offer(placed) == D("9.50")
    assert cash_out(placed, "9.50").amount == D("9.50")


@pytestmark_db
def test_payout_waits_while_the_player_is_at_a_machine_and_is_paid_on_leaving(
    player, event, django_capture_on_commit_callbacks, assert_reconciles
):
    home, _, _ = selections(event)
    placed = bet(player, home, "10.00")
    session = services.open_session(player=player, game=make_game())
    with django_capture_on_commit_callbacks(execute=True):
        payout = cash_out(placed, "9.50")
    payout.refresh_from_db()
    assert payout.state == Payout.State.QUEUED and balance_of(player=player) == D("90.00")
    with django_capture_on_commit_callbacks(execute=True):
        services.leave(session=session)
    payout.refresh_from_db()
    assert payout.state == Payout.State.PAID
    assert balance_of(player=player) == D("99.50")
    assert_reconciles()


@pytestmark_db
def test_replay_returns_the_same_payout_and_another_key_is_refused(player, event):
    home, _, _ = selections(event)
    placed = bet(player, home, "10.00")
    first = cash_out(placed, "9.50", key="once")
    assert cash_out(placed, "9.50", key="once").pk == first.pk
    assert cash_out(placed, D("9.5"), key="once").pk == first.pk
    with pytest.raises(IdempotencyKeyReused):
        cash_out(placed, "9.00", key="once")  # the key named another request
    with pytest.raises(CashOutUnavailable, match="already cashed out"):
        cash_out(placed, "9.50", key="another")
    assert Payout.objects.filter(bet=placed).count() == 1
    assert AuditLog.objects.filter(action="sportsbook.cash_out_early", target=f"sportsbet:{placed.pk}").count() == 1


@pytestmark_db
def test_a_cashed_out_bet_is_skipped_by_the_settlement(player, event, assert_reconciles):
    home, _, _ = selections(event)
    placed = bet(player, home, "10.00")
    cash_out(placed, "9.50")
    report = services.settle_event(event=event, result=result_for(event, home))
    assert report.won == 0 and report.payouts == 0
    placed.refresh_from_db()
    assert placed.status == Sportsbet.Status.CASHED_OUT
    assert list(Payout.objects.values_list("kind", "amount")) == [(Payout.Kind.CASH_OUT, D("9.50"))]
    services.pay_out_player(player=player)
    assert balance_of(player=player) == D("99.50")
    assert_reconciles()


# --- accumulators ------------------------------------------------------------------
def three_events():
    return [make_event(name=f"Match {i}", odds=odds) for i, odds in enumerate(
        [("2.00", "3.00", "4.00"), ("1.50", "3.00", "5.00"), ("3.00", "3.00", "2.50")]
    )]  # fmt: skip


def accumulator(player, events, stake="10.00"):
    picks = [selections(e)[0] for e in events]  # the home sides: 2.00 x 1.50 x 3.00 = 9.00
    return services.place_accumulator(player=player, selections=picks, stake=stake, idempotency_key=uuid.uuid4().hex)


@pytestmark_db
def test_accumulator_offer_with_a_won_a_void_and_an_open_leg(player, staff, assert_reconciles):
    events = three_events()
    acca = accumulator(player, events)
    assert acca.odds == D("9.00")
    assert services.cash_out_offer(acca) == D("9.50")  # prices unchanged: worth the stake, less margin
    services.settle_event(event=events[0], result=result_for(events[0], selections(events[0])[0]))  # leg 1 won
    services.settle_event(event=events[1], result=result_for(events[1], "void"))  # leg 2 void: 1.00
    services.change_odds(selection=selections(events[2])[0], odds="2.50", actor=staff)  # leg 3 shortened
    assert services.cash_out_offer(acca) == D("22.80")  # the docstring's worked example
    payout = cash_out(acca, "22.80")
    assert payout.amount == D("22.80")
    # The last event settles: the accumulator is already cashed out, nothing more is owed.
    services.settle_event(event=events[2], result=result_for(events[2], selections(events[2])[0]))
    acca.refresh_from_db()
    assert acca.status == Sportsbet.Status.CASHED_OUT
    assert list(Payout.objects.filter(bet=acca).values_list("amount", flat=True)) == [D("22.80")]
    assert set(BetLeg.objects.filter(bet=acca).values_list("result", flat=True)) == {"won", "void"}
    services.pay_out_player(player=player)
    assert balance_of(player=player) == D("112.80")
    assert_reconciles()


@pytestmark_db
def test_accumulator_with_a_lost_leg_or_a_suspended_open_leg_has_no_offer(player, staff):
    events = three_events()
    acca = accumulator(player, events)
    services.suspend_market(market=events[2].markets.get(), actor=staff)
    assert "suspended" in cash_out_quote(acca).reason
    services.reopen_market(market=events[2].markets.get(), actor=staff)
    services.settle_event(event=events[0], result=result_for(events[0], selections(events[0])[1]))  # leg 1 lost
    acca.refresh_from_db()
    assert services.cash_out_offer(acca) is None
    with pytest.raises(CashOutUnavailable):
        cash_out(acca, "9.50")
    assert not Payout.objects.filter(bet=acca).exists()
