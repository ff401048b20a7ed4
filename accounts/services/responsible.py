"""Responsible gaming: deposit limits, self-exclusion and breaks, reality checks.

Enforced here, in the services' path, not only in views:

- ``check_deposit`` runs inside the deposit's own transaction (and its retry
  loop). It reads the player's profile version *first*, then the exclusions
  and the rolling deposit totals from the ledger, then claims the profile with
  a versioned update. A deposit that committed after our read bumped the
  version, so our claim conflicts and the deposit is retried against fresh
  totals: two deposits racing past a limit cannot both succeed.
- ``check_can_play`` is called by the game, sportsbook and promotion services
  inside the transaction that writes (open, feed, spin, bet, redeem).
- Limits: the lowest remaining allowance over the three rolling windows
  applies. A decrease (or a new limit) takes effect at once; a raise (or a
  removal) waits ``COOLING_OFF`` as a pending value.
- Exclusions are immutable rows. In the exclusion's own transaction the
  ``accounts.hooks.player_excluded`` hooks run (the casino closes and cashes out
  the player's open game sessions). Queued sportsbet payouts still pay out.

The read side (limits in force, usage, exclusions) is ``accounts.selectors.responsible``.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from accounts import hooks
from accounts.exceptions import DepositLimitExceeded, InvalidExclusionPeriod, PlayerBlocked
from accounts.models import ResponsibleGamingProfile, SelfExclusion, User
from accounts.selectors.responsible import (
    PERIOD_LABELS,
    PERIODS,
    active_exclusion,
    blocked_message,
    limit_in_force,
    limit_statuses,
    pending_change,
)
from core.exceptions import DomainError
from core.money import format_money, parse_amount
from core.versioning import retry_on_conflict, versioned_update

logger = logging.getLogger(__name__)

COOLING_OFF = timedelta(hours=24)
BREAK_DAYS = (1, 7)
EXCLUSION_DAYS = (30, 91, 182, 365, 1825)


class _Keep:
    def __repr__(self) -> str:
        return "KEEP"


KEEP = _Keep()  # "leave this limit as it is" (None means "no limit")


# --- checks the money and game services call ----------------------------------


# The player gate. Every action that lets a player play or spend (open a session, feed,
# spin, bet, redeem, deposit) share-locks the player's user row and checks exclusions in
# the same statement, inside its own transaction; ``self_exclude`` and a payout take the
# same row exclusively first. So an exclusion and a play action serialise: either the
# exclusion committed first and the check sees it, or the action commits first and the
# exclusion's hooks see (and close) what it made. Shared locks do not block each other,
# and the row is the player's own: no other player ever waits on it.
def gate_sql(player_column: str) -> tuple[str, str, str]:
    """SQL pieces that make a query pass the player's gate too (the hot paths read what
    they decide on in one statement): a JOIN bringing the player's user row, a boolean
    expression "an exclusion is in force at ``%(gate_now)s``", and the lock clause."""
    join = f"JOIN {User._meta.db_table} gate_u ON gate_u.id = {player_column}"
    blocked = (
        f"EXISTS (SELECT 1 FROM {SelfExclusion._meta.db_table} gate_e WHERE gate_e.player_id = gate_u.id "  # noqa: S608
        "AND gate_e.starts_at <= %(gate_now)s AND gate_e.ends_at > %(gate_now)s)"
    )
    return join, blocked, "FOR SHARE OF gate_u"


def check_can_play(*, player: User) -> None:
    """Raise ``PlayerBlocked`` while the player is excluded or on a break.

    Inside a transaction it also holds the player's gate (a share lock on the user row)
    until commit, so an exclusion cannot commit between this check and the caller's
    write. Outside one it is a plain check (a fast path for a friendly message).
    """
    now = timezone.now()
    _, blocked, lock = gate_sql("%(player)s")
    sql = f"SELECT {blocked} FROM {User._meta.db_table} gate_u WHERE gate_u.id = %(player)s {lock}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, {"player": player.pk, "gate_now": now})
        row = cursor.fetchone()
    if row is not None and row[0]:
        raise_blocked(player=player, now=now)


def raise_blocked(*, player, now) -> None:
    """The gate said the player is excluded: raise with the exclusion's own words."""
    exclusion = active_exclusion(player=player, now=now)
    raise PlayerBlocked(blocked_message(exclusion) if exclusion else None)


def hold_player(*, player_id: int) -> None:
    """Take the player's gate exclusively until the caller's transaction ends: every
    ``check_can_play`` of that player waits until then (exclusions, payouts)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {User._meta.db_table} WHERE id = %s FOR NO KEY UPDATE", [player_id])  # noqa: S608


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
            hint = f"you can deposit up to {format_money(tightest.remaining)} now"
        else:
            hint = "you cannot deposit more until earlier deposits leave the window"
        raise DepositLimitExceeded(
            f"Deposit refused: your {tightest.label} deposit limit is {format_money(tightest.limit)} "
            f"({format_money(tightest.used)} used), so {hint}.",
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
                has_pending, pending, pending_at = pending_change(profile, period, now)
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
    that checked before us conflicts and re-checks. In that transaction too, the
    ``accounts.hooks.player_excluded`` hooks run (the casino closes and cashes out
    the player's open game sessions); one refused with a ``DomainError`` is rolled
    back to its savepoint and logged, and the exclusion still commits. Queued
    payouts are left to pay out.
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
            hold_player(player_id=player.pk)  # in-flight play commits first, new play waits for us
            profile = _profile_for(player)
            versioned_update(ResponsibleGamingProfile, pk=profile.pk, version=profile.version)
            now = timezone.now()
            exclusion = SelfExclusion.objects.create(
                player=player, kind=kind, starts_at=now, ends_at=now + timedelta(days=days)
            )
            for hook in hooks.player_excluded:
                try:
                    with transaction.atomic():  # a savepoint: a refused hook never undoes the exclusion
                        hook(player, exclusion)
                except DomainError as exc:
                    logger.warning("exclusion of player %s: hook %s refused: %s", player.pk, hook.__name__, exc.message)
            return exclusion

    return retry_on_conflict(attempt)


def take_a_break(*, player: User, days: int = 1) -> SelfExclusion:
    return self_exclude(player=player, days=days, kind=SelfExclusion.Kind.BREAK)
