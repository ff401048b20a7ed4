"""Responsible gaming, read side: deposit limits in force and used, exclusions in force."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Q, Sum
from django.utils import timezone

from accounts.models import (
    LedgerEntry,
    LedgerTransaction,
    ResponsibleGamingProfile,
    SelfExclusion,
    User,
    ledger_code_for_player,
)
from core.money import ZERO

PERIODS = ("daily", "weekly", "monthly")
PERIOD_LABELS = {"daily": "24-hour", "weekly": "7-day", "monthly": "1-month"}


def one_month_before(moment: datetime) -> datetime:
    """The same wall-clock time one calendar month earlier (31 March -> 28/29 February)."""
    year, month = (moment.year, moment.month - 1) if moment.month > 1 else (moment.year - 1, 12)
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def window_start(period: str, now: datetime) -> datetime:
    if period == "daily":
        return now - timedelta(hours=24)
    if period == "weekly":
        return now - timedelta(days=7)
    return one_month_before(now)


@dataclass(frozen=True)
class LimitStatus:
    period: str
    label: str
    limit: Decimal | None  # in force now
    used: Decimal  # deposits in the rolling window
    remaining: Decimal | None  # None: no limit
    has_pending: bool
    pending: Decimal | None  # the value after cooling-off (None: no limit)
    pending_at: datetime | None


def limit_in_force(profile: ResponsibleGamingProfile, period: str, now: datetime) -> Decimal | None:
    pending_at = getattr(profile, f"{period}_pending_at")
    if pending_at is not None and pending_at <= now:
        return getattr(profile, f"{period}_pending")
    return getattr(profile, f"{period}_limit")


def pending_change(
    profile: ResponsibleGamingProfile, period: str, now: datetime
) -> tuple[bool, Decimal | None, datetime | None]:
    pending_at = getattr(profile, f"{period}_pending_at")
    if pending_at is None or pending_at <= now:
        return False, None, None
    return True, getattr(profile, f"{period}_pending"), pending_at


def deposits_in_windows(*, player: User, now: datetime) -> dict[str, Decimal]:
    """Sum of the player's deposits in each rolling window, from the ledger (one query)."""
    starts = {period: window_start(period, now) for period in PERIODS}
    totals = LedgerEntry.objects.filter(
        account=ledger_code_for_player(player.pk),
        transaction__kind=LedgerTransaction.Kind.DEPOSIT,
        created_at__gte=min(starts.values()),
    ).aggregate(**{period: Sum("amount", filter=Q(created_at__gte=start)) for period, start in starts.items()})
    return {period: totals[period] or ZERO for period in PERIODS}


def limit_statuses(*, player: User, profile: ResponsibleGamingProfile | None = None, now: datetime | None = None):
    """Each window's limit, usage, remaining allowance and pending change."""
    now = now or timezone.now()
    if profile is None:
        profile = ResponsibleGamingProfile.objects.filter(player=player).first()
    used = deposits_in_windows(player=player, now=now)
    statuses = []
    for period in PERIODS:
        limit = limit_in_force(profile, period, now) if profile else None
        has_pending, pending, pending_at = pending_change(profile, period, now) if profile else (False, None, None)
        remaining = None if limit is None else max(limit - used[period], ZERO)
        statuses.append(
            LimitStatus(period, PERIOD_LABELS[period], limit, used[period], remaining, has_pending, pending, pending_at)
        )
    return statuses


def remaining_allowance(*, player: User, now: datetime | None = None) -> Decimal | None:
    """What the player may still deposit now (the lowest over the windows); None: no limit."""
    remaining = [s.remaining for s in limit_statuses(player=player, now=now) if s.remaining is not None]
    return min(remaining) if remaining else None


def active_exclusion(*, player: User, now: datetime | None = None) -> SelfExclusion | None:
    """The exclusion or break in force that ends last, if any."""
    now = now or timezone.now()
    return SelfExclusion.objects.filter(player=player, starts_at__lte=now, ends_at__gt=now).order_by("-ends_at").first()


@dataclass(frozen=True)
class PlayBlock:
    """A break or self-exclusion in force, as every page's banner and disabled controls show it."""

    kind: str  # "break" or "exclusion"
    ends_at: datetime
    message: str  # one sentence for the player

    @property
    def is_break(self) -> bool:
        return self.kind == SelfExclusion.Kind.BREAK

    @property
    def title(self) -> str:
        return "You are on a break" if self.is_break else "You are self-excluded"


def format_moment(moment: datetime) -> str:
    """A date and time as players read it: "24 Nov 2026, 14:00 UTC" (the site's time zone)."""
    local = timezone.localtime(moment)
    return f"{local.day} {local:%b %Y, %H:%M} {local.tzname()}"


def exclusion_end(*, days: int, now: datetime | None = None) -> datetime:
    """When a break or exclusion of ``days`` starting now would end (the confirmation step shows it)."""
    return (now or timezone.now()) + timedelta(days=days)


def play_block(*, player: User, now: datetime | None = None) -> PlayBlock | None:
    """The break or exclusion in force now (the one that ends last), or None: one query."""
    exclusion = active_exclusion(player=player, now=now)
    if exclusion is None:
        return None
    what = "on a break" if exclusion.kind == SelfExclusion.Kind.BREAK else "self-excluded"
    return PlayBlock(
        kind=str(exclusion.kind),
        ends_at=exclusion.ends_at,
        message=f"You are {what} until {format_moment(exclusion.ends_at)}: play, bets and deposits are paused.",
    )


def blocked_message(exclusion: SelfExclusion) -> str:
    until = timezone.localtime(exclusion.ends_at).strftime("%Y-%m-%d %H:%M %Z")
    what = "on a break" if exclusion.kind == SelfExclusion.Kind.BREAK else "self-excluded"
    return f"You are {what} until {until}: deposits, play and bets are paused. Withdrawals still work."
