"""Read-side queries for bonus money (issue 16): the wallet's bonus panel, one grant of a
player (the forfeit page), the grant a redemption made, and the open bonus liability."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db.models import Q

from accounts.models import User
from casino.models import Game, GameSession
from promotions.models import BonusGrant, Redemption
from promotions.selectors.bonus_staff import open_bonus_liability

__all__ = [
    "ENDED_SHOWN",
    "GameContribution",
    "WalletBonus",
    "bonus_grant_of",
    "bonus_liability",
    "grant_for_redemption",
    "wallet_bonus",
]

ZERO = Decimal("0.00")
ENDED_SHOWN = 5
Status = BonusGrant.Status


@dataclass(frozen=True)
class GameContribution:
    name: str
    percent: int

    @property
    def counts(self) -> bool:
        return self.percent > 0


@dataclass(frozen=True)
class WalletBonus:
    """What the wallet's bonus panel shows.

    ``active`` grants carry two extra attributes: ``in_machine`` (the part of their money
    fed into the open machine) and ``held`` (``balance`` + ``in_machine``: the bonus money
    the player has from that grant), and the time to its expiry as ``hours_left`` (rounded
    up; 0 or less: past it, ended at the next check) and ``days_left`` (to the nearest day).
    """

    active: list[BonusGrant]
    ended: list[BonusGrant]
    total: Decimal  # every active grant's bonus money, the part in a machine included
    in_machine: Decimal  # of which in the open machine
    open_session: GameSession | None  # the player's open machine (only read when a bonus is active)
    contributions: list[GameContribution] = field(default_factory=list)


def wallet_bonus(player: User, now: datetime) -> WalletBonus:
    """The player's bonus money for the wallet: one query when no bonus is active, three
    when one is (the grants, the open machine, the active games' contributions)."""
    ended_ids = (
        BonusGrant.objects.filter(player=player)
        .exclude(status=Status.ACTIVE)
        .order_by("-ended_at", "-id")
        .values("id")[:ENDED_SHOWN]
    )
    grants = list(
        BonusGrant.objects.filter(player=player)
        .filter(Q(status=Status.ACTIVE) | Q(pk__in=ended_ids))
        .order_by("created_at", "id")
    )
    active = [g for g in grants if g.status == Status.ACTIVE]
    ended = sorted((g for g in grants if g.status != Status.ACTIVE), key=lambda g: (g.ended_at, g.pk), reverse=True)
    if not active:
        return WalletBonus(active=[], ended=ended, total=ZERO, in_machine=ZERO, open_session=None)

    session = (
        GameSession.objects.select_related("game")
        .filter(player=player, status=GameSession.Status.OPEN)
        .order_by("-id")
        .first()
    )
    for grant in active:
        fed = session is not None and session.bonus_source == grant.pk
        grant.in_machine = session.bonus_balance if fed else ZERO
        grant.held = grant.balance + grant.in_machine
        seconds = (grant.expires_at - now).total_seconds()
        grant.hours_left = math.ceil(seconds / 3600)  # <= 0: past its expiry, ended at the next check
        grant.days_left = round(seconds / 86400)
    contributions = [
        GameContribution(name, percent)
        for name, percent in Game.objects.filter(is_active=True)
        .order_by("-wagering_contribution", "name")
        .values_list("name", "wagering_contribution")
    ]
    in_machine = sum((g.in_machine for g in active), ZERO)
    return WalletBonus(
        active=active,
        ended=ended,
        total=sum((g.held for g in active), ZERO),
        in_machine=in_machine,
        open_session=session,
        contributions=contributions,
    )


def bonus_grant_of(*, player: User, pk: int) -> BonusGrant | None:
    """One grant, only if it belongs to ``player`` (anybody else's: None -> 404)."""
    return BonusGrant.objects.filter(player=player, pk=pk).first()


def grant_for_redemption(redemption: Redemption) -> BonusGrant | None:
    """The bonus grant a bonus-funds redemption made (None for a cash or free-spins one).
    ``grant_bonus`` is called with the redemption's ledger key as its ``source_key``."""
    return BonusGrant.objects.filter(player_id=redemption.player_id, source_key=redemption.ledger_key).first()


def bonus_liability() -> Decimal:
    """The open bonus money, what the promotions may still have to pay out as cash: every
    active grant's ``balance`` plus every open machine's ``bonus_balance`` (a machine's part
    stays counted until the player leaves, also when its grant ended meanwhile). The staff
    figures, split and per view, are ``bonus_staff.open_bonus_liability``."""
    return open_bonus_liability().total
