"""Accumulators (issue 18): placing (legs, combined odds and its rounding, limits, prices, replay)
and settlement leg by leg (a lost leg at once, void legs at 1.00, all void refunds, won on the last leg)."""

import uuid
from decimal import Decimal

import pytest
from django.test import override_settings

from accounts.models import LedgerTransaction
from accounts.selectors import balance_of
from casino import services
from casino.exceptions import (
    BettingClosed,
    InvalidAccumulator,
    InvalidStake,
    LiabilityLimitReached,
    MarketSuspended,
    OddsChanged,
)
from casino.models import BetLeg, Payout, Selection, SportEvent, Sportsbet
from casino.models.sportsbook import Notice
from casino.services.accumulators import combined_odds, settled_odds
from casino.services.liability import liability_of
from core.exceptions import IdempotencyKeyReused
from tests.helpers.sportsbook import bet, make_event, result_for, selections

pytestmark = pytest.mark.django_db


def acca(player, legs, stake="10.00", key=None, **kwargs) -> Sportsbet:
    return services.place_accumulator(
        player=player, selections=legs, stake=stake, idempotency_key=key or uuid.uuid4().hex, **kwargs
    )


def events_with_home_odds(*prices):
    """One event per price, its home selection at that price; returns the events."""
    return [make_event(name=f"Match {i}", odds=(price, "3.40", "3.60")) for i, price in enumerate(prices)]


def homes(events):
    return [selections(e)[0] for e in events]


def settle_leg(event, outcome):
    """Settle ``event`` so that the home leg is ``outcome`` (won / lost / void)."""
    home, _, away = selections(event)
    winner = {"won": home, "lost": away, "void": "void"}[outcome]
    return services.settle_event(event=event, result=result_for(event, winner))


# --- pricing -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "legs, expected",
    [
        (["2.00", "1.50"], "3.00"),
        (["1.55", "1.55"], "2.40"),  # 2.4025
        (["1.50", "1.83"], "2.75"),  # 2.745: half-up (half-even would say 2.74)
        (["1.05", "1.05", "1.05"], "1.16"),  # 1.157625
        (["2.00"] * 10, "1024.00"),
    ],
)
def test_combined_odds_is_the_product_rounded_half_up_to_two_places(legs, expected):
    assert combined_odds(Decimal(p) for p in legs) == Decimal(expected)


def test_settled_odds_count_a_void_leg_at_one():
    assert settled_odds([("won", Decimal("1.50")), ("void", Decimal("9.00")), ("won", Decimal("1.83"))]) == Decimal(
        "2.75"
    )
    assert settled_odds([("void", Decimal("2.00")), ("void", Decimal("3.00"))]) == Decimal("1.00")


# --- placing -------------------------------------------------------------------------
def test_place_takes_one_stake_one_ledger_transaction_and_freezes_the_legs(player, assert_reconciles):
    events = events_with_home_odds("1.50", "1.83", "2.00")
    placed = acca(player, homes(events), stake="3.33")
    assert placed.kind == Sportsbet.Kind.ACCUMULATOR and placed.selection_id is None
    assert placed.odds == Decimal("5.49")  # 1.50 x 1.83 x 2.00
    assert placed.potential_return == Decimal("18.28")  # 3.33 x 5.49 = 18.2817
    legs = list(placed.legs.order_by("event_id"))
    assert [(leg.event_id, leg.odds, leg.result) for leg in legs] == [
        (e.pk, s.odds, "pending") for e, s in zip(events, homes(events), strict=True)
    ]
    assert balance_of(player=player) == Decimal("96.67")
    stake_tx = LedgerTransaction.objects.get(kind=LedgerTransaction.Kind.BET_STAKE)
    assert stake_tx.idempotency_key == f"bet:{placed.pk}:stake"
    assert_reconciles()


def test_the_same_key_replayed_returns_the_first_bet_and_moves_nothing(player):
    legs = homes(events_with_home_odds("2.00", "2.00"))
    first = acca(player, legs, key="slip-1")
    assert acca(player, list(reversed(legs)), key="slip-1").pk == first.pk  # the same legs, any order
    assert Sportsbet.objects.count() == 1 and balance_of(player=player) == Decimal("90.00")
    assert LedgerTransaction.objects.filter(kind=LedgerTransaction.Kind.BET_STAKE).count() == 1
    with pytest.raises(IdempotencyKeyReused):
        acca(player, legs, stake="5.00", key="slip-1")
    with pytest.raises(IdempotencyKeyReused):
        acca(player, legs[:1] + homes(events_with_home_odds("3.00")), key="slip-1")


@pytest.mark.parametrize("count", [0, 1, 11])
def test_two_to_ten_legs(player, count):
    legs = homes(events_with_home_odds(*["1.10"] * count)) if count else []
    with pytest.raises(InvalidAccumulator, match="2 to 10 legs"):
        acca(player, legs)
    assert not Sportsbet.objects.exists() and balance_of(player=player) == Decimal("100.00")


def test_ten_legs_are_accepted(player):
    placed = acca(player, homes(events_with_home_odds(*["1.10"] * 10)), stake="1.00")
    assert placed.legs.count() == 10 and placed.odds == Decimal("2.59")  # 1.1^10 = 2.5937...


def test_two_legs_of_one_event_are_refused_as_correlated(player):
    event, other = events_with_home_odds("2.00", "2.00")
    home, draw, _ = selections(event)
    with pytest.raises(InvalidAccumulator, match="same event"):
        acca(player, [home, draw, selections(other)[0]])
    with pytest.raises(InvalidAccumulator, match="twice"):
        acca(player, [home, home])
    assert not Sportsbet.objects.exists() and balance_of(player=player) == Decimal("100.00")


@override_settings(ACCUMULATOR_MAX_ODDS=Decimal("100.00"))
def test_combined_odds_above_the_maximum_are_refused(player):
    legs = homes(events_with_home_odds("5.00", "5.00", "4.10"))  # 102.50
    with pytest.raises(InvalidAccumulator, match="above the maximum"):
        acca(player, legs)
    assert acca(player, legs[:2]).odds == Decimal("25.00")


def test_the_smallest_market_maximum_stake_applies(player):
    big = make_event(name="Big", max_stake="500.00")
    small = make_event(name="Small", max_stake="5.00")
    legs = [selections(big)[0], selections(small)[0]]
    with pytest.raises(InvalidStake, match="maximum stake on this accumulator is €5.00"):
        acca(player, legs, stake="5.01")
    assert acca(player, legs, stake="5.00").stake == Decimal("5.00")


def test_a_moved_price_is_refused_naming_it_and_nothing_moves(player):
    legs = homes(events_with_home_odds("2.00", "3.00"))
    seen = {leg.pk: leg.odds for leg in legs}
    Selection.objects.filter(pk=legs[1].pk).update(odds=Decimal("2.80"))
    with pytest.raises(OddsChanged, match="from 3.00 to 2.80") as exc:
        acca(player, legs, expected_odds=seen)
    assert "from 2.00" not in exc.value.message  # only the moved leg is named
    assert not Sportsbet.objects.exists() and balance_of(player=player) == Decimal("100.00")
    seen[legs[1].pk] = Decimal("2.80")
    assert acca(player, legs, expected_odds=seen).odds == Decimal("5.60")


def test_a_missing_expected_price_is_refused(player):
    legs = homes(events_with_home_odds("2.00", "3.00"))
    with pytest.raises(InvalidAccumulator, match="price of a leg is missing"):
        acca(player, legs, expected_odds={legs[0].pk: legs[0].odds})


def test_a_started_settled_or_suspended_leg_is_refused(player, staff):
    open_event, started = make_event(name="Open"), make_event(name="Started", hours=-1)
    settled, suspended = make_event(name="Settled"), make_event(name="Suspended")
    services.settle_event(event=settled, result=result_for(settled, "void"))
    services.suspend_market(market=suspended.markets.get(), actor=staff)
    leg = selections(open_event)[0]
    with pytest.raises(BettingClosed, match="Started.*has started"):
        acca(player, [leg, selections(started)[0]])
    with pytest.raises(BettingClosed, match="Settled.*is settled"):
        acca(player, [leg, selections(settled)[0]])
    with pytest.raises(MarketSuspended, match="Suspended.*suspended"):
        acca(player, [leg, selections(suspended)[0]])
    assert not Sportsbet.objects.exists() and balance_of(player=player) == Decimal("100.00")


# --- settling --------------------------------------------------------------------------
# Legs at 1.50, 1.83, 2.00 (combined 5.49), stake 10.00; each row: the legs' outcomes in the
# order their events settle, the bet's status after each settlement, and the payout at the end.
SETTLEMENTS = [
    (("won", "won", "won"), ("open", "open", "won"), ("win", "54.90")),
    (("won", "void", "won"), ("open", "open", "won"), ("win", "30.00")),  # 1.50 x 1.00 x 2.00
    (("void", "void", "void"), ("open", "open", "void"), ("refund", "10.00")),
    (("void", "void", "won"), ("open", "open", "won"), ("win", "20.00")),
    (("lost", "won", "won"), ("lost", "lost", "lost"), None),  # a lost leg settles the bet at once
    (("won", "won", "lost"), ("open", "open", "lost"), None),
    (("void", "lost", "void"), ("open", "lost", "lost"), None),
]


@pytest.mark.parametrize("outcomes, statuses, payout", SETTLEMENTS)
def test_settlement_leg_by_leg(player, assert_reconciles, outcomes, statuses, payout):
    events = events_with_home_odds("1.50", "1.83", "2.00")
    placed = acca(player, homes(events), stake="10.00")
    assert placed.odds == Decimal("5.49")
    for event, outcome, status in zip(events, outcomes, statuses, strict=True):
        settle_leg(event, outcome)
        placed.refresh_from_db()
        assert placed.status == status, (outcome, status)
        assert BetLeg.objects.get(bet=placed, event=event).result == outcome
    assert placed.settled_at is not None
    if payout is None:
        assert not Payout.objects.exists()
    else:
        kind, amount = payout
        queued = Payout.objects.get(bet=placed)
        assert (queued.kind, queued.amount, queued.player_id) == (kind, Decimal(amount), player.pk)
    assert Notice.objects.filter(bet=placed, kind=Notice.Kind.BET_SETTLED).count() == 1
    services.pay_out_player(player=player)
    assert_reconciles()


def test_won_with_a_void_leg_pays_the_won_legs_product_rounded_like_the_slip(player):
    # 1.50 x 1.83 = 2.745 -> 2.75 (half-up), a void 2.00 leg at 1.00; 3.33 x 2.75 = 9.1575 -> 9.16
    events = events_with_home_odds("1.50", "1.83", "2.00")
    placed = acca(player, homes(events), stake="3.33")
    for event, outcome in zip(events, ("won", "won", "void"), strict=True):
        settle_leg(event, outcome)
    assert Payout.objects.get(bet=placed).amount == Decimal("9.16")


def test_all_legs_won_pays_exactly_the_return_the_slip_showed(player):
    events = events_with_home_odds("1.55", "1.55")  # 2.4025 -> 2.40: the price shown and paid
    placed = acca(player, homes(events), stake="100.00")
    for event in events:
        settle_leg(event, "won")
    assert Payout.objects.get(bet=placed).amount == placed.potential_return == Decimal("240.00")


def test_a_lost_leg_settles_at_once_and_later_legs_only_record_their_result(player):
    events = events_with_home_odds("2.00", "2.00", "2.00")
    placed = acca(player, homes(events))
    report = settle_leg(events[1], "lost")
    assert report.lost == 1 and report.payouts == 0
    placed.refresh_from_db()
    settled_at = placed.settled_at
    assert placed.status == Sportsbet.Status.LOST
    assert set(placed.legs.values_list("result", flat=True)) == {"pending", "lost"}
    report = settle_leg(events[0], "won")
    assert (report.won, report.lost) == (0, 0)
    placed.refresh_from_db()
    assert placed.status == Sportsbet.Status.LOST and placed.settled_at == settled_at
    assert BetLeg.objects.get(bet=placed, event=events[0]).result == "won"


def test_singles_and_accumulators_settle_in_one_settlement(player, other_player, assert_reconciles):
    first, second = events_with_home_odds("2.00", "3.00")
    single = bet(other_player, selections(first)[0], "5.00")
    placed = acca(player, homes([first, second]), stake="4.00")
    settle_leg(second, "won")
    report = settle_leg(first, "won")
    assert (report.won, report.payouts, report.queued_amount) == (2, 2, Decimal("34.00"))  # 10.00 + 24.00
    assert set(report.player_ids) == {player.pk, other_player.pk}
    assert Sportsbet.objects.get(pk=single.pk).status == Sportsbet.Status.WON
    assert Payout.objects.get(bet=placed).amount == Decimal("24.00")
    assert SportEvent.objects.filter(status="settled").count() == 2
    services.pay_out_player(player=player)
    services.pay_out_player(player=other_player)
    assert balance_of(player=player) == Decimal("120.00")
    assert_reconciles()


def test_other_accumulators_on_the_event_are_untouched_until_decided(player, other_player):
    a, b, c = events_with_home_odds("2.00", "2.00", "2.00")
    mine = acca(player, homes([a, b]))
    theirs = acca(other_player, homes([b, c]))
    settle_leg(a, "won")
    settle_leg(b, "won")
    assert Sportsbet.objects.get(pk=mine.pk).status == "won"
    assert Sportsbet.objects.get(pk=theirs.pk).status == "open"
    assert Payout.objects.get().bet_id == mine.pk


def test_each_leg_reserves_the_whole_exposure_against_its_selections_limit(player):
    legs = homes(events_with_home_odds("2.00", "2.00"))  # combined 4.00: a 10.00 stake risks 30.00
    Selection.objects.filter(pk=legs[1].pk).update(max_liability=Decimal("20.00"))
    with pytest.raises(LiabilityLimitReached):
        acca(player, legs, stake="10.00")
    assert not Sportsbet.objects.exists() and balance_of(player=player) == Decimal("100.00")
    placed = acca(player, legs, stake="2.00")  # risks 6.00
    assert placed.legs.count() == 2
    assert liability_of(Selection.objects.get(pk=legs[1].pk)) == Decimal("6.00")
