"""What the casino's pages show about bonus money while a player plays (issue 16).

Read-only, for ``promotions/templatetags/bonus_play.py`` (the lobby, a game page, the
session page): whether the player has bonus money to feed, how much one feed can take,
the maximum stake, and the wagering meter of the grant the session's play counts for.

One query per page (the player's active grants). The htmx spin answer makes none: the
meter's fixed part (the grant's wagering done and required at the page's render) travels
in the page as a signed token, and the spin adds the session's own contribution to it
(``meter_from_token``). A grant's wagering changes only when a session closes, so the
token stays true while the page is open.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.core import signing
from django.utils import timezone

from casino.models import GameSession
from core.money import ZERO
from promotions.models import BonusGrant

__all__ = ["BonusPlay", "Meter", "bonus_play", "meter_from_token", "session_meter"]

METER_SALT = "promotions.bonus_play.meter"
METER_TOKEN_MAX_LENGTH = 300


@dataclass(frozen=True)
class Meter:
    """The wagering of one grant as the session's play stands: ``wagered`` (the grant's
    wagering done plus this session's contribution, never above ``required``) / ``required``."""

    grant_id: int
    wagered: Decimal
    required: Decimal
    token: str  # the fixed part, signed, for the spin answer

    @property
    def percent(self) -> int:
        if self.required <= 0:
            return 100
        return min(100, int(self.wagered * 100 / self.required))

    @property
    def complete(self) -> bool:
        return self.wagered >= self.required

    @property
    def left(self) -> Decimal:
        return max(self.required - self.wagered, ZERO)


@dataclass(frozen=True)
class BonusPlay:
    """The player's bonus money as a casino page shows it."""

    grants: list[BonusGrant]  # active and unexpired, oldest first
    feedable: Decimal  # the most bonus money one feed can take now (it comes from one grant)
    in_machine: Decimal  # bonus money in the open session shown (0 without one)
    max_stake: Decimal | None  # the maximum stake while a bonus is active (None: no limit)
    meter: Meter | None  # the wagering meter on the session page

    @property
    def active(self) -> bool:
        return bool(self.grants)

    @property
    def held(self) -> Decimal:
        """Bonus money in the player's active grants (not counting a machine's part)."""
        return sum((g.balance for g in self.grants), ZERO)

    @property
    def has_money(self) -> bool:
        """Bonus money to play: in a grant the player can feed from, or in the machine."""
        return self.feedable > 0 or self.in_machine > 0

    @property
    def warn(self) -> bool:
        """The session page warns while the machine holds bonus money or a bonus is active."""
        return self.active or self.in_machine > 0


def bonus_play(*, player, session: GameSession | None = None, now: datetime | None = None) -> BonusPlay:
    """The player's bonus money for a casino page (one query), with ``session`` the
    session page's open session (its bonus part, stake limit and meter)."""
    now = now or timezone.now()
    grants = list(
        BonusGrant.objects.filter(player_id=player.pk, status=BonusGrant.Status.ACTIVE, expires_at__gt=now).order_by(
            "created_at", "id"
        )
    )
    open_session = session if session is not None and session.is_open else None
    in_machine = open_session.bonus_balance if open_session is not None else ZERO
    source = open_session.bonus_source if open_session is not None else None
    if source:  # a feed draws from the grant already in the machine, else from the oldest with money
        feedable = next((g.balance for g in grants if g.pk == source), ZERO)
    else:
        feedable = next((g.balance for g in grants if g.balance > 0), ZERO)
    max_stake = open_session.bonus_max_stake if open_session is not None else None
    if max_stake is None and grants:
        max_stake = min(g.max_stake for g in grants)
    return BonusPlay(
        grants=grants,
        feedable=feedable,
        in_machine=in_machine,
        max_stake=max_stake,
        meter=session_meter(grants=grants, session=open_session) if open_session is not None else None,
    )


def session_meter(*, grants: list[BonusGrant], session: GameSession) -> Meter | None:
    """The meter of the oldest grant this session's play counts for (as leaving folds it:
    grants made before the session opened, or the grant fed into it, oldest first)."""
    for grant in grants:
        if grant.created_at <= session.created_at or grant.pk == session.bonus_source:
            token = signing.dumps(
                {"g": grant.pk, "s": session.pk, "d": str(grant.wagering_done), "r": str(grant.wagering_required)},
                salt=METER_SALT,
            )
            return _meter(
                grant_id=grant.pk,
                done=grant.wagering_done,
                required=grant.wagering_required,
                session=session,
                token=token,
            )
    return None


def meter_from_token(token: str | None, *, session: GameSession) -> Meter | None:
    """The meter after a spin: the token's fixed part plus the session's contribution now.
    A token that is missing, forged or from another session gives no meter (no update)."""
    if not token or len(token) > METER_TOKEN_MAX_LENGTH:
        return None
    try:
        data = signing.loads(token, salt=METER_SALT)
        grant_id, session_id = int(data["g"]), int(data["s"])
        done, required = Decimal(data["d"]), Decimal(data["r"])
    except (signing.BadSignature, KeyError, TypeError, ValueError, InvalidOperation):
        return None
    if session_id != session.pk:
        return None
    return _meter(grant_id=grant_id, done=done, required=required, session=session, token=token)


def _meter(*, grant_id: int, done: Decimal, required: Decimal, session: GameSession, token: str) -> Meter:
    wagered = min(required, done + session.wagering_contribution)
    return Meter(grant_id=grant_id, wagered=wagered, required=required, token=token)
