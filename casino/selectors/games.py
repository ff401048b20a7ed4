"""Selectors for games and sessions (issue 3)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from casino.models import FreeSpinGrant, Game, GameSession, Spin
from core.db_router import replica_selector

__all__ = [
    "FreeSpins",
    "active_games",
    "free_spins_by_game",
    "free_spins_for",
    "open_session_for",
    "recent_spins",
    "session_of",
    "sessions_of",
    "RealityCheck",
    "reality_check",
]

SPIN_HISTORY_LIMIT = 50


def open_session_for(*, player) -> GameSession | None:
    return GameSession.objects.select_related("game").filter(player=player, status=GameSession.Status.OPEN).first()


def active_games() -> QuerySet[Game]:
    return Game.objects.filter(is_active=True).select_related("vendor").order_by("name")


def session_of(*, player, pk: int) -> QuerySet[GameSession]:
    """The player's own session ``pk`` (empty for anybody else's: the view 404s)."""
    return GameSession.objects.select_related("game", "game__vendor").filter(player=player, pk=pk)


@replica_selector
def sessions_of(*, player) -> QuerySet[GameSession]:
    return GameSession.objects.select_related("game").filter(player=player).order_by("-id")


def recent_spins(*, session: GameSession, limit: int = SPIN_HISTORY_LIMIT) -> list[Spin]:
    return list(Spin.objects.of_session(session).order_by("-id")[:limit])  # one partition


@dataclass(frozen=True)
class FreeSpins:
    count: int
    stake: Decimal | None  # the stake of the next free spin to be played


def free_spins_for(*, player, game: Game, at=None) -> FreeSpins:
    """Unexpired free spins the player has on ``game`` (the next one's stake first)."""
    at = at or timezone.now()
    grants = FreeSpinGrant.objects.filter(player=player, game=game, remaining__gt=0).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=at)
    )
    total = grants.aggregate(total=Sum("remaining"))["total"] or 0
    first = grants.order_by("expires_at", "id").values_list("stake", flat=True).first()
    return FreeSpins(count=total, stake=first)


def free_spins_by_game(*, player, at=None) -> dict[int, int]:
    """{game id: free spins available} for the lobby, in one query."""
    at = at or timezone.now()
    rows = (
        FreeSpinGrant.objects.filter(player=player, remaining__gt=0)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=at))
        .values("game_id")
        .annotate(total=Sum("remaining"))
    )
    return {row["game_id"]: row["total"] for row in rows}


@dataclass(frozen=True)
class RealityCheck:
    session: GameSession
    played: timedelta
    net: Decimal
    every_minutes: int
    checkpoint: int  # how many whole reminder periods have passed

    @property
    def played_minutes(self) -> int:
        return int(self.played.total_seconds() // 60)


def reality_check(*, player, now: datetime | None = None) -> RealityCheck | None:
    """Time played and net result (won - staked) of the player's open game session."""
    session = open_session_for(player=player)
    if session is None:
        return None
    now = now or timezone.now()
    every = max(int(getattr(settings, "REALITY_CHECK_MINUTES", 30)), 1)
    played = max(now - session.created_at, timedelta(0))
    checkpoint = int(played.total_seconds() // (every * 60))
    return RealityCheck(session, played, session.total_won - session.total_staked, every, checkpoint)
