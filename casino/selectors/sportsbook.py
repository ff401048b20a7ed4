"""Selectors for the sportsbook and payouts (issue 4)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Sum
from django.shortcuts import get_object_or_404
from django.utils import timezone

from casino.models import GameSession, Market, Payout, Selection, SportEvent, Sportsbet
from casino.selectors.slip import with_legs
from core.db_router import replica_selector

__all__ = [
    "bet_of",
    "bets_of",
    "bets_settled_since",
    "has_open_session",
    "payouts_of",
    "payouts_paid_since",
    "players_due_payout",
    "queued_liability",
    "queued_payout_total",
    "recent_results",
    "selection_for_bet",
    "selection_for_slip",
    "upcoming_events",
]


def players_due_payout():
    """Ids of players with queued payouts and no open game session."""
    open_sessions = GameSession.objects.filter(player_id=OuterRef("player_id"), status=GameSession.Status.OPEN)
    return (
        Payout.objects.filter(state=Payout.State.QUEUED)
        .exclude(Exists(open_sessions))
        .values_list("player_id", flat=True)
        .distinct()
    )


def upcoming_events() -> QuerySet[SportEvent]:
    """Open events that have not started, with markets and selections in two queries."""
    return (
        SportEvent.objects.filter(status=SportEvent.Status.OPEN, starts_at__gt=timezone.now())
        .prefetch_related(
            Prefetch("markets", queryset=Market.objects.prefetch_related("selections")),
        )
        .order_by("starts_at", "id")
    )


RESULTS_SHOWN = 20


@replica_selector
def recent_results(*, limit: int = RESULTS_SHOWN) -> QuerySet[SportEvent]:
    """Events no longer taking bets, latest kick-off first: settled ones (each selection
    carries its result) and started ones still waiting for their result."""
    return (
        SportEvent.objects.filter(Q(status=SportEvent.Status.SETTLED) | Q(starts_at__lte=timezone.now()))
        .prefetch_related(
            Prefetch("markets", queryset=Market.objects.prefetch_related("selections")),
        )
        .order_by("-starts_at", "-id")[:limit]
    )


def selection_for_slip(*, pk) -> Selection | None:
    """A selection a player may bet on right now (open, not started), or None."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        return None
    return (
        Selection.objects.select_related("market__event")
        .filter(pk=pk, market__event__status=SportEvent.Status.OPEN, market__event__starts_at__gt=timezone.now())
        .first()
    )


def selection_for_bet(*, pk) -> Selection | None:
    """Any selection by id (the service says whether it still takes bets)."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        return None
    return Selection.objects.select_related("market__event").filter(pk=pk).first()


def _bets() -> QuerySet[Sportsbet]:
    return Sportsbet.objects.select_related("selection__market__event", "payout")


@replica_selector
def bets_of(*, player, status: str | None = None) -> QuerySet[Sportsbet]:
    bets = _bets().filter(player=player)
    if status in Sportsbet.Status.values:
        bets = bets.filter(status=status)
    return bets.order_by("-id")


def bet_of(*, player, pk) -> Sportsbet:
    """The player's own bet (an accumulator with its legs); anybody else's (or none) is a 404."""
    return get_object_or_404(with_legs(_bets()), pk=pk, player=player)


@replica_selector
def payouts_of(*, player) -> QuerySet[Payout]:
    return Payout.objects.filter(player=player).select_related("bet__selection__market__event").order_by("-id")


def queued_payout_total(*, player) -> Decimal:
    total = Payout.objects.filter(player=player, state=Payout.State.QUEUED).aggregate(t=Sum("amount"))["t"]
    return total or Decimal("0.00")


def queued_liability(queryset: QuerySet[Payout] | None = None) -> dict:
    """What the book owes: total and count of queued payouts (optionally within a filtered queryset)."""
    qs = Payout.objects.all() if queryset is None else queryset
    agg = qs.filter(state=Payout.State.QUEUED).aggregate(total=Sum("amount"), count=Count("id"))
    return {"total": agg["total"] or Decimal("0.00"), "count": agg["count"]}


def has_open_session(*, player) -> bool:
    return GameSession.objects.filter(player=player, status=GameSession.Status.OPEN).exists()


def bets_settled_since(*, player, since: datetime) -> QuerySet[Sportsbet]:
    return _bets().filter(player=player, settled_at__gt=since).order_by("settled_at", "id")


def payouts_paid_since(*, player, since: datetime) -> QuerySet[Payout]:
    return (
        Payout.objects.filter(player=player, state=Payout.State.PAID, paid_at__gt=since)
        .select_related("bet")
        .order_by("paid_at", "id")
    )
