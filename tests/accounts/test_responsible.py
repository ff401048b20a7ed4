"""Responsible gaming: deposit limits (rolling windows from the ledger, cooling-off),
self-exclusion and breaks, all enforced in the services."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts import selectors, services
from accounts.exceptions import DepositLimitExceeded, InvalidExclusionPeriod, PlayerBlocked
from accounts.models import LedgerEntry, SelfExclusion
from accounts.selectors import responsible as rg
from accounts.services import responsible
from core.exceptions import InvalidAmount
from tests.factories import PlayerFactory

D = Decimal


def _deposit(player, amount, key):
    return services.deposit(player=player, amount=D(amount), idempotency_key=key)


def _age_deposits(player, by: timedelta):
    """Move the player's existing deposit entries back in time (the clock, not the money)."""
    LedgerEntry.objects.filter(account=f"player:{player.pk}").update(created_at=timezone.now() - by)


@pytest.fixture
def fresh(db):
    return PlayerFactory()


def test_deposit_over_daily_limit_is_refused_with_remaining_allowance(fresh, assert_reconciles):
    responsible.set_deposit_limits(player=fresh, daily=D("100.00"))
    _deposit(fresh, "70.00", "a")
    with pytest.raises(DepositLimitExceeded) as exc:
        _deposit(fresh, "30.01", "b")
    assert exc.value.remaining == D("30.00")
    assert "30.00" in exc.value.message and "24-hour" in exc.value.message
    _deposit(fresh, "30.00", "c")  # exactly up to the limit is fine
    with pytest.raises(DepositLimitExceeded, match="cannot deposit more"):
        _deposit(fresh, "0.01", "d")
    assert selectors.balance_of(player=fresh) == D("100.00")
    assert_reconciles()


def test_lowest_remaining_allowance_applies(fresh):
    responsible.set_deposit_limits(player=fresh, daily=D("500"), weekly=D("150"), monthly=D("1000"))
    _deposit(fresh, "100", "a")
    assert rg.remaining_allowance(player=fresh) == D("50.00")
    with pytest.raises(DepositLimitExceeded) as exc:
        _deposit(fresh, "60", "b")
    assert exc.value.period == "weekly"


def test_rolling_windows_are_computed_from_the_ledger(fresh):
    responsible.set_deposit_limits(player=fresh, daily=D("250"), weekly=D("300"), monthly=D("400"))
    _deposit(fresh, "100", "a")
    _age_deposits(fresh, timedelta(hours=25))  # out of the 24h window, still in the 7-day one
    _deposit(fresh, "100", "b")
    statuses = {s.period: s for s in rg.limit_statuses(player=fresh)}
    assert statuses["daily"].used == D("100") and statuses["weekly"].used == D("200")
    _age_deposits(fresh, timedelta(days=8))  # both now out of the week, still in the month
    _deposit(fresh, "100", "c")
    statuses = {s.period: s for s in rg.limit_statuses(player=fresh)}
    assert (statuses["daily"].used, statuses["weekly"].used, statuses["monthly"].used) == (D(100), D(100), D(300))
    with pytest.raises(DepositLimitExceeded) as exc:
        _deposit(fresh, "100.01", "d")
    assert exc.value.period == "monthly" and exc.value.remaining == D("100.00")
    _age_deposits(fresh, timedelta(days=32))  # out of every window
    _deposit(fresh, "100", "e")


def test_withdrawals_and_other_money_do_not_count_against_a_deposit_limit(fresh):
    responsible.set_deposit_limits(player=fresh, daily=D("100"))
    _deposit(fresh, "100", "a")
    services.withdraw(player=fresh, amount=D("50"), idempotency_key="w")
    with pytest.raises(DepositLimitExceeded):
        _deposit(fresh, "1", "b")


def test_decrease_applies_at_once_and_increase_after_cooling_off(fresh):
    responsible.set_deposit_limits(player=fresh, daily=D("100"))
    responsible.set_deposit_limits(player=fresh, daily=D("50"))
    (daily, *_rest) = rg.limit_statuses(player=fresh)
    assert daily.limit == D("50") and not daily.has_pending

    before = timezone.now()
    responsible.set_deposit_limits(player=fresh, daily=D("200"))
    (daily, *_rest) = rg.limit_statuses(player=fresh)
    assert daily.limit == D("50") and daily.has_pending and daily.pending == D("200")
    assert before + timedelta(hours=24) <= daily.pending_at <= timezone.now() + timedelta(hours=24)
    with pytest.raises(DepositLimitExceeded):
        _deposit(fresh, "60", "a")

    # Asking again for the same raise keeps the original date (no way to reset or skip the clock).
    responsible.set_deposit_limits(player=fresh, daily=D("200"))
    assert rg.limit_statuses(player=fresh)[0].pending_at == daily.pending_at

    later = timezone.now() + timedelta(hours=24, seconds=1)
    (daily_later, *_rest) = rg.limit_statuses(player=fresh, now=later)
    assert daily_later.limit == D("200") and not daily_later.has_pending


def test_raise_becomes_effective_for_deposits_after_24_hours(fresh):
    responsible.set_deposit_limits(player=fresh, daily=D("50"))
    responsible.set_deposit_limits(player=fresh, daily=D("200"))
    profile = fresh.rg_profile
    profile.__class__.objects.filter(pk=profile.pk).update(daily_pending_at=timezone.now() - timedelta(seconds=1))
    _deposit(fresh, "150", "a")
    assert selectors.balance_of(player=fresh) == D("150")


def test_removing_a_limit_waits_for_cooling_off_and_a_lower_value_cancels_a_pending_raise(fresh):
    responsible.set_deposit_limits(player=fresh, weekly=D("100"))
    responsible.set_deposit_limits(player=fresh, weekly=None)
    weekly = rg.limit_statuses(player=fresh)[1]
    assert weekly.limit == D("100") and weekly.has_pending and weekly.pending is None
    responsible.set_deposit_limits(player=fresh, weekly=D("80"))
    weekly = rg.limit_statuses(player=fresh)[1]
    assert weekly.limit == D("80") and not weekly.has_pending


def test_keep_leaves_other_limits_alone(fresh):
    responsible.set_deposit_limits(player=fresh, daily=D("10"), weekly=D("20"), monthly=D("30"))
    responsible.set_deposit_limits(player=fresh, daily=D("5"))
    assert [s.limit for s in rg.limit_statuses(player=fresh)] == [D("5"), D("20"), D("30")]


@pytest.mark.parametrize("bad", ["-1", "0", "1e3", "abc", "1.001", "10,00", "100000000"])
def test_bad_limit_values_are_refused(fresh, bad):
    with pytest.raises(InvalidAmount):
        responsible.set_deposit_limits(player=fresh, daily=bad)


def test_self_exclusion_blocks_deposits_and_play_but_not_withdrawals(player, assert_reconciles):
    exclusion = responsible.self_exclude(player=player, days=30)
    assert exclusion.ends_at - exclusion.starts_at == timedelta(days=30)
    with pytest.raises(PlayerBlocked, match="self-excluded"):
        _deposit(player, "10", "a")
    with pytest.raises(PlayerBlocked):
        responsible.check_can_play(player=player)
    services.withdraw(player=player, amount=D("100"), idempotency_key="w")
    assert selectors.balance_of(player=player) == D("0.00")
    assert_reconciles()


@pytest.mark.parametrize("days", [1, 7])
def test_take_a_break_blocks_until_it_ends(player, days):
    brk = responsible.take_a_break(player=player, days=days)
    assert brk.kind == SelfExclusion.Kind.BREAK
    with pytest.raises(PlayerBlocked, match="on a break"):
        responsible.check_can_play(player=player)
    SelfExclusion.objects.filter(pk=brk.pk).update(
        starts_at=timezone.now() - timedelta(days=days, seconds=1), ends_at=timezone.now() - timedelta(seconds=1)
    )
    responsible.check_can_play(player=player)  # over: playing again
    _deposit(player, "10", "after-break")


@pytest.mark.parametrize(
    ("kind", "days"), [("break", 3), ("break", 0), ("exclusion", 2), ("exclusion", -30), ("exclusion", "x")]
)
def test_only_offered_periods_are_accepted(player, kind, days):
    with pytest.raises(InvalidExclusionPeriod):
        responsible.self_exclude(player=player, days=days, kind=kind)
    responsible.check_can_play(player=player)


def test_exclusion_of_one_player_does_not_touch_another(player, other_player):
    responsible.self_exclude(player=player, days=30)
    responsible.check_can_play(player=other_player)
    _deposit(other_player, "5", "x")


def test_one_month_before_clamps_to_month_end():
    moment = datetime(2024, 3, 31, 12, 0, tzinfo=UTC)
    assert rg.one_month_before(moment).date().isoformat() == "2024-02-29"
    assert rg.one_month_before(moment.replace(month=1)).date().isoformat() == "2023-12-31"


def test_no_limit_stays_no_limit_without_a_pending_change(fresh):
    responsible.set_deposit_limits(player=fresh, daily=D("100"), weekly=None, monthly=None)
    statuses = rg.limit_statuses(player=fresh)
    assert [(s.limit, s.has_pending) for s in statuses] == [(D("100"), False), (None, False), (None, False)]
