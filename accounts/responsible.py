"""Responsible gaming: deposit limits, self-exclusion and breaks, reality checks.

Enforced here, in the services' path, not only in views:

- ``check_deposit`` runs inside the deposit's own transaction (and its retry
  loop). It reads the player's profile version *first*, then the exclusions
  and the rolling deposit totals from the ledger, then claims the profile with
  a versioned update. A deposit that committed after our read bumped the
  version, so our claim conflicts and the deposit is retried against fresh
  totals: two deposits racing past a limit cannot both succeed.
- ``check_can_play`` is called by the game and sportsbook services before they
  open a session, take a feed or take a stake.
- Limits: the lowest remaining allowance over the three rolling windows
  applies. A decrease (or a new limit) takes effect at once; a raise (or a
  removal) waits ``COOLING_OFF`` as a pending value.
- Exclusions are immutable rows; at the moment of exclusion the player's open
  game sessions are closed and cashed out. Queued sportsbet payouts are not
  affected (they still pay out).
"""

from __future__ import annotations

import calendar
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from accounts.exceptions import DepositLimitExceeded, DomainError, InvalidExclusionPeriod, PlayerBlocked
from accounts.models import (
    LedgerEntry,
    LedgerTransaction,
    ResponsibleGamingProfile,
    SelfExclusion,
    User,
    ledger_code_for_player,
)
from accounts.money import ZERO, parse_amount
from accounts.versioning import retry_on_conflict, versioned_update

logger = logging.getLogger(__name__)

PERIODS = ("daily", "weekly", "monthly")
PERIOD_LABELS = {"daily": "24-hour", "weekly": "7-day", "monthly": "1-month"}
COOLING_OFF = timedelta(hours=24)
BREAK_DAYS = (1, 7)
EXCLUSION_DAYS = (30, 91, 182, 365, 1825)


class _Keep:
    def __repr__(self) -> str:
        return "KEEP"


KEEP = _Keep()  # "leave this limit as it is" (None means "no limit")


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


# --- reads -------------------------------------------------------------------


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


def _pending(
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
        has_pending, pending, pending_at = _pending(profile, period, now) if profile else (False, None, None)
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


def _blocked_message(exclusion: SelfExclusion) -> str:
    until = timezone.localtime(exclusion.ends_at).strftime("%Y-%m-%d %H:%M %Z")
    what = "on a break" if exclusion.kind == SelfExclusion.Kind.BREAK else "self-excluded"
    return f"You are {what} until {until}: deposits, play and bets are paused. Withdrawals still work."


# --- checks the money and game services call ----------------------------------


def check_can_play(*, player: User) -> None:
    """Raise ``PlayerBlocked`` while the player is excluded or on a break."""
    if exclusion := active_exclusion(player=player):
        raise PlayerBlocked(_blocked_message(exclusion))


def check_deposit(*, player: User, amount: Decimal) -> None:
    """Refuse a deposit during an exclusion or over a deposit limit.

    Must run inside the deposit's ``transaction.atomic()`` and retry loop (the
    deposit service calls it there). Raises ``ConcurrencyConflict`` when a
    concurrent deposit or change slipped in, so the caller retries.
    """
    profile = (
        ResponsibleGamingProfile.objects.filter(player=player)
        .only(*(["id", "version"] + [f"{p}_{s}" for p in PERIODS for s in ("limit", "pending", "pending_at")]))
        .first()
    )
    check_can_play(player=player)
    if profile is None:
        return  # never set a limit or excluded: nothing to guard
    now = timezone.now()
    tightest = None
    for status in limit_statuses(player=player, profile=profile, now=now):
        if status.remaining is not None and (tightest is None or status.remaining < tightest.remaining):
            tightest = status
    if tightest is not None and amount > tightest.remaining:
        if tightest.remaining > 0:
            hint = f"you can deposit up to {tightest.remaining} now"
        else:
            hint = "you cannot deposit more until earlier deposits leave the window"
        raise DepositLimitExceeded(
            f"Deposit refused: your {tightest.label} deposit limit is {tightest.limit} "
            f"({tightest.used} used), so {hint}.",
            remaining=tightest.remaining,
            period=tightest.period,
        )
    # Claim: any deposit or change that committed since we read the profile
    # moved its version, and this raises ConcurrencyConflict (the caller retries).
    versioned_update(ResponsibleGamingProfile, pk=profile.pk, version=profile.version)


# --- services ------------------------------------------------------------------


def _profile_for(player: User) -> ResponsibleGamingProfile:
    profile, _ = ResponsibleGamingProfile.objects.get_or_create(player=player)
    return profile


def _parse_limit(value, period: str) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return parse_amount(value, field=f"{PERIOD_LABELS[period].capitalize()} limit")


def set_deposit_limits(*, player: User, daily=KEEP, weekly=KEEP, monthly=KEEP) -> ResponsibleGamingProfile:
    """Set the player's deposit limits (``None``: no limit; ``KEEP``: unchanged).

    A lower limit (or a first one) applies at once and drops any pending raise;
    a higher one (or removing one) becomes pending for ``COOLING_OFF``.
    Asking again for the value already pending keeps its original date.
    """
    wanted = {
        period: _parse_limit(value, period)
        for period, value in (("daily", daily), ("weekly", weekly), ("monthly", monthly))
        if value is not KEEP
    }

    def attempt() -> ResponsibleGamingProfile:
        with transaction.atomic():
            profile = _profile_for(player)
            now = timezone.now()
            values = {}
            for period, new in wanted.items():
                current = limit_in_force(profile, period, now)
                has_pending, pending, pending_at = _pending(profile, period, now)
                if new is not None and (current is None or new <= current):
                    limit, pending, pending_at = new, None, None  # tighter (or the same): at once
                elif new is None and current is None:
                    limit, pending, pending_at = None, None, None  # no limit stays no limit
                elif has_pending and pending == new:
                    limit = current  # same request again: keep the cooling-off date
                else:
                    limit, pending, pending_at = current, new, now + COOLING_OFF  # looser: after cooling-off
                values.update(
                    {f"{period}_limit": limit, f"{period}_pending": pending, f"{period}_pending_at": pending_at}
                )
            versioned_update(ResponsibleGamingProfile, pk=profile.pk, version=profile.version, **values)
            profile.refresh_from_db()
            return profile

    return retry_on_conflict(attempt)


def self_exclude(*, player: User, days: int | None = None, kind: str = SelfExclusion.Kind.EXCLUSION) -> SelfExclusion:
    """Exclude the player from deposits, play and bets for ``days``; a break is 1 or 7 days.

    Bumps the profile version in the same transaction, so an in-flight deposit
    that checked before us conflicts and re-checks. Then closes and cashes out
    the player's open game sessions. Queued payouts are left to pay out.
    """
    kind = SelfExclusion.Kind(kind)
    if kind == SelfExclusion.Kind.BREAK:
        days = BREAK_DAYS[0] if days is None else days
        allowed: tuple[int, ...] = BREAK_DAYS
    else:
        allowed = EXCLUSION_DAYS
    try:
        days = int(days)
    except (TypeError, ValueError) as exc:
        raise InvalidExclusionPeriod() from exc
    if days not in allowed:
        raise InvalidExclusionPeriod(f"Choose one of: {', '.join(f'{d} days' for d in allowed)}.")

    def attempt() -> SelfExclusion:
        with transaction.atomic():
            profile = _profile_for(player)
            versioned_update(ResponsibleGamingProfile, pk=profile.pk, version=profile.version)
            now = timezone.now()
            return SelfExclusion.objects.create(
                player=player, kind=kind, starts_at=now, ends_at=now + timedelta(days=days)
            )

    exclusion = retry_on_conflict(attempt)
    close_open_sessions(player=player)
    return exclusion


def take_a_break(*, player: User, days: int = 1) -> SelfExclusion:
    return self_exclude(player=player, days=days, kind=SelfExclusion.Kind.BREAK)


def close_open_sessions(*, player: User) -> int:
    """Close and cash out the player's open game sessions (for an exclusion). Returns how many."""
    from casino import services as casino_services
    from casino.models import GameSession

    closed = 0
    for session in GameSession.objects.filter(player=player, status=GameSession.Status.OPEN):
        try:
            casino_services.leave(session=session, reason=GameSession.CloseReason.EXCLUSION)
        except DomainError as exc:  # e.g. the idle sweep closed it first
            logger.info("exclusion of %s: session %s not closed: %s", player.pk, session.pk, exc.message)
        else:
            closed += 1
    return closed


# --- reality check -------------------------------------------------------------


@dataclass(frozen=True)
class RealityCheck:
    session: object  # casino.models.GameSession
    played: timedelta
    net: Decimal
    every_minutes: int
    checkpoint: int  # how many whole reminder periods have passed

    @property
    def played_minutes(self) -> int:
        return int(self.played.total_seconds() // 60)


def reality_check(*, player: User, now: datetime | None = None) -> RealityCheck | None:
    """Time played and net result (won - staked) of the player's open game session."""
    from casino.models import GameSession

    session = GameSession.objects.filter(player=player, status=GameSession.Status.OPEN).select_related("game").first()
    if session is None:
        return None
    now = now or timezone.now()
    every = max(int(getattr(settings, "REALITY_CHECK_MINUTES", 30)), 1)
    played = max(now - session.created_at, timedelta(0))
    checkpoint = int(played.total_seconds() // (every * 60))
    return RealityCheck(session, played, session.total_won - session.total_staked, every, checkpoint)
