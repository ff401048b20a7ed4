"""Liability limits per selection (issue 18, ``casino.services.liability``), through place_sportsbet."""

from decimal import Decimal

import pytest

from accounts.exceptions import InsufficientFunds
from accounts.selectors import balance_of
from casino.exceptions import LiabilityLimitReached
from casino.models import Selection, Sportsbet
from casino.models.sportsbook import LiabilityShard
from casino.services import liability
from core.exceptions import DomainError
from core.models import AuditLog
from tests.factories import PlayerFactory
from tests.helpers.sportsbook import bet, limited_selection, make_event, open_exposure_sum, selections

pytestmark = pytest.mark.django_db

D = Decimal


def test_shard_caps_add_up_to_the_limit_to_the_cent():
    caps = liability.shard_caps(max_liability=D("100.05"), shards=8)
    assert caps == [D("12.50")] * 7 + [D("12.55")]
    assert sum(caps) == D("100.05")
    assert sum(liability.shard_caps(max_liability=D("0.07"), shards=8)) == D("0.07")


def test_max_stake_for_is_the_largest_stake_whose_exposure_fits():
    # 2.50: 6.66 x 2.50 = 16.65 -> exposure 9.99; 6.67 -> 16.675 rounds to 16.68 -> 10.01
    assert liability.max_stake_for(room=D("10.00"), odds=D("2.50")) == D("6.66")
    assert liability.exposure_of(stake=D("6.66"), odds=D("2.50")) <= D("10.00")
    assert liability.exposure_of(stake=D("6.67"), odds=D("2.50")) > D("10.00")
    assert liability.max_stake_for(room=D("0.00"), odds=D("2.00")) == D("0.00")


def test_strict_refuses_past_the_limit_with_the_most_you_can_stake():
    home = limited_selection(odds="3.00", limit="100.00")  # 8 shards of 12.50
    player = PlayerFactory(balance="200.00")
    # exposure 40 is more than any one shard's cap: the exact path spreads it (no fragmentation refusal)
    bet(player, home, "20.00")
    assert liability.liability_of(home) == D("40.00")
    assert all(s.reserved <= D("12.50") for s in LiabilityShard.objects.filter(selection=home))

    with pytest.raises(LiabilityLimitReached) as refused:
        bet(player, home, "30.01")  # exposure 60.02 > room 60.00
    assert refused.value.max_stake == D("30.00")
    assert refused.value.message == "The most you can stake on Home FC now is €30.00."
    assert refused.value.field == "stake"
    assert balance_of(player=player) == D("180.00")  # the refused bet moved nothing

    bet(player, home, "30.00")  # exactly the most: accepted
    assert liability.liability_of(home) == D("100.00") == open_exposure_sum(home)
    with pytest.raises(LiabilityLimitReached) as full:
        bet(player, home, "0.01")
    assert full.value.max_stake == D("0.00")
    assert "limit is reached" in full.value.message
    assert Sportsbet.objects.filter(selection=home).count() == 2


def test_exact_max_stake_at_a_rounding_price_is_accepted():
    home = limited_selection(odds="2.50", limit="10.00")
    player = PlayerFactory(balance="50.00")
    with pytest.raises(LiabilityLimitReached) as refused:
        bet(player, home, "6.67")
    assert refused.value.max_stake == D("6.66")
    bet(player, home, "6.66")
    assert liability.liability_of(home) == D("9.99") == open_exposure_sum(home)


def test_overbook_refuses_when_the_known_sum_is_over():
    home = limited_selection(odds="2.00", limit="50.00", mode=Selection.LiabilityMode.OVERBOOK)
    player = PlayerFactory(balance="100.00")
    bet(player, home, "30.00")
    with pytest.raises(LiabilityLimitReached) as refused:
        bet(player, home, "25.00")
    assert refused.value.max_stake == D("20.00")
    assert refused.value.message == "The most you can stake on Home FC now is €20.00."
    bet(player, home, "20.00")
    assert liability.liability_of(home) == D("50.00")
    with pytest.raises(LiabilityLimitReached):
        bet(player, home, "0.01")


def test_no_limit_means_no_check_and_no_shards():
    event = make_event()
    home, _, _ = selections(event)
    assert home.max_liability is None
    player = PlayerFactory(balance="1000.00")
    bet(player, home, "400.00")
    bet(player, home, "400.00")
    assert not LiabilityShard.objects.filter(selection=home).exists()
    assert liability.liability_of(home) == D("0.00")


def test_a_bet_refused_for_funds_reserves_nothing():
    home = limited_selection(odds="2.00", limit="100.00")
    poor = PlayerFactory(balance="10.00")
    with pytest.raises(InsufficientFunds):
        bet(poor, home, "50.00")
    assert liability.liability_of(home) == D("0.00")
    assert LiabilityShard.objects.filter(selection=home).count() == 8  # made when the limit was set


def test_a_replayed_key_reserves_once():
    home = limited_selection(odds="2.00", limit="100.00")
    player = PlayerFactory(balance="100.00")
    first = bet(player, home, "10.00", key="same-key")
    again = bet(player, home, "10.00", key="same-key")
    assert first.pk == again.pk
    assert liability.liability_of(home) == D("10.00")


def test_shards_are_made_lazily_by_the_first_bet():
    event = make_event()
    home, _, _ = selections(event)
    Selection.objects.filter(pk=home.pk).update(max_liability=D("80.00"))  # a limit set behind the service
    home.refresh_from_db()
    bet(PlayerFactory(balance="100.00"), home, "10.00")
    assert LiabilityShard.objects.filter(selection=home).count() == 8
    assert liability.liability_of(home) == D("10.00")


def test_setting_a_limit_counts_the_bets_already_open(staff):
    event = make_event()
    home, _, _ = selections(event)
    player = PlayerFactory(balance="100.00")
    bet(player, home, "10.00")
    bet(player, home, "10.00")  # exposure 20 at 2.00, placed with no limit
    home = liability.set_max_liability(selection=home, max_liability="25.00", actor=staff)
    assert liability.liability_of(home) == D("20.00")
    with pytest.raises(LiabilityLimitReached) as refused:
        bet(player, home, "6.00")
    assert refused.value.max_stake == D("5.00")
    row = AuditLog.objects.get(action="sportsbook.set_max_liability")
    assert row.actor == staff
    assert row.details == {"old": None, "new": "25.00", "mode": "strict"}


def test_a_lowered_limit_takes_effect_on_the_next_bet():
    home = limited_selection(odds="2.00", limit="100.00")
    player = PlayerFactory(balance="100.00")
    bet(player, home, "40.00")
    home = liability.set_max_liability(selection=home, max_liability="30.00")
    with pytest.raises(LiabilityLimitReached) as refused:
        bet(player, home, "1.00")
    assert refused.value.max_stake == D("0.00")
    home = liability.set_max_liability(selection=home, max_liability="45.00")
    bet(player, home, "5.00")
    with pytest.raises(LiabilityLimitReached):
        bet(player, home, "0.01")
    assert liability.liability_of(home) == D("45.00")


def test_release_gives_back_and_never_goes_below_zero():
    home = limited_selection(odds="3.00", limit="100.00")
    bet(PlayerFactory(balance="100.00"), home, "20.00")  # 40 spread over several shards
    assert liability.release(selection=home, exposure=D("25.00")) == D("25.00")
    assert liability.liability_of(home) == D("15.00")
    assert liability.release(selection=home, exposure=D("99.00")) == D("15.00")
    assert liability.liability_of(home) == D("0.00")
    assert not LiabilityShard.objects.filter(selection=home, reserved__lt=0).exists()


def test_set_max_liability_refuses_bad_input():
    event = make_event()
    home, _, _ = selections(event)
    with pytest.raises(DomainError) as bad:
        liability.set_max_liability(selection=home, max_liability="-5")
    assert bad.value.field == "max_liability"
    with pytest.raises(DomainError):
        liability.set_max_liability(selection=home, max_liability="10.00", mode="sometimes")
    home.refresh_from_db()
    assert home.max_liability is None


def test_a_raised_limit_over_uneven_shards_is_never_passed():
    """The 40 reserved sits in three full shards under the old caps (12.50): laid over the new
    caps (6.25) as it was, the five other shards' room (3.75 + 4 x 6.25) would let 68.75 in."""
    home = limited_selection(odds="3.00", limit="100.00")
    player = PlayerFactory(balance="200.00")
    bet(player, home, "20.00")
    home = liability.set_max_liability(selection=home, max_liability="50.00")
    placed = 0
    while True:
        try:
            bet(player, home, "1.00")  # exposure 2.00
        except LiabilityLimitReached as refused:
            assert refused.max_stake == D("0.00")
            break
        placed += 1
    assert placed == 5
    assert liability.liability_of(home) == D("50.00") == open_exposure_sum(home)
