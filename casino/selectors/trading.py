"""The trader's view of an event (issue 18): liability per selection, market and event, and
the price history.

Liability is what the book would lose if an outcome wins: for every OPEN bet, its potential
return (stake x odds, half-up to the cent, as settlement pays it) minus its stake.

- a single counts against its own selection;
- an accumulator counts its full potential win (its combined price) against EACH of its legs'
  selections: if every other leg comes in, that selection decides whether the book pays it all.

A market's and an event's figure is the sum of their selections' (at most one selection of a
market wins, so the sum over-states the worst case; ``worst_selection`` is the single largest).
Three queries, whatever the number of bets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, F, QuerySet, Sum
from django.db.models.functions import Round
from django.shortcuts import get_object_or_404

from casino.models import BetLeg, Market, OddsChange, Selection, SportEvent, Sportsbet
from core.db_router import replica_selector

__all__ = [
    "EventLiability",
    "MarketLiability",
    "SelectionLiability",
    "event_liability",
    "event_odds_history",
    "market_has_bets",
    "odds_history",
    "selection_for_trading",
]

ZERO = Decimal("0.00")
HISTORY_SHOWN = 50


@dataclass
class SelectionLiability:
    selection: Selection
    singles: int = 0
    singles_stakes: Decimal = ZERO
    singles_liability: Decimal = ZERO
    accumulators: int = 0
    accumulators_liability: Decimal = ZERO

    @property
    def liability(self) -> Decimal:
        return self.singles_liability + self.accumulators_liability

    @property
    def limit_used(self) -> Decimal | None:
        """Percent of ``max_liability`` taken (None without a limit)."""
        limit = self.selection.max_liability
        if not limit:
            return None
        return (self.liability * 100 / limit).quantize(Decimal("0.1"))


@dataclass
class MarketLiability:
    market: Market
    selections: list[SelectionLiability] = field(default_factory=list)

    @property
    def liability(self) -> Decimal:
        return sum((s.liability for s in self.selections), ZERO)

    @property
    def worst_selection(self) -> SelectionLiability | None:
        return max(self.selections, key=lambda s: s.liability, default=None)

    @property
    def bets(self) -> int:
        return sum(s.singles + s.accumulators for s in self.selections)


@dataclass
class EventLiability:
    event: SportEvent
    markets: list[MarketLiability] = field(default_factory=list)

    @property
    def liability(self) -> Decimal:
        return sum((m.liability for m in self.markets), ZERO)

    @property
    def bets(self) -> int:
        return sum(m.bets for m in self.markets)


def _win(stake: str, odds: str):
    """Potential return minus stake, rounded like the settlement (PostgreSQL round(), half-up)."""
    return Round(F(stake) * F(odds), 2) - F(stake)


def event_liability(*, event: SportEvent) -> EventLiability:
    """Liability per selection, market and event of ``event``'s OPEN bets (three queries)."""
    singles = {
        row["selection_id"]: row
        for row in Sportsbet.objects.filter(
            selection__market__event=event, kind=Sportsbet.Kind.SINGLE, status=Sportsbet.Status.OPEN
        )
        .values("selection_id")
        .annotate(bets=Count("pk"), stakes=Sum("stake"), liability=Sum(_win("stake", "odds")))
        .order_by()
    }
    accumulators = {
        row["selection_id"]: row
        for row in BetLeg.objects.filter(
            event=event, bet__kind=Sportsbet.Kind.ACCUMULATOR, bet__status=Sportsbet.Status.OPEN
        )
        .values("selection_id")
        .annotate(bets=Count("bet_id", distinct=True), liability=Sum(_win("bet__stake", "bet__odds")))
        .order_by()
    }
    report = EventLiability(event=event)
    for market in event.markets.prefetch_related("selections").order_by("pk"):
        row = MarketLiability(market=market)
        for selection in market.selections.all():
            single = singles.get(selection.pk) or {}
            acca = accumulators.get(selection.pk) or {}
            row.selections.append(
                SelectionLiability(
                    selection=selection,
                    singles=single.get("bets", 0),
                    singles_stakes=single.get("stakes") or ZERO,
                    singles_liability=single.get("liability") or ZERO,
                    accumulators=acca.get("bets", 0),
                    accumulators_liability=acca.get("liability") or ZERO,
                )
            )
        report.markets.append(row)
    return report


@replica_selector
def odds_history(*, selection: Selection, limit: int = HISTORY_SHOWN) -> QuerySet[OddsChange]:
    """The latest price changes of ``selection``, newest first, with who made them."""
    return OddsChange.objects.filter(selection=selection).select_related("changed_by").order_by("-id")[:limit]


@replica_selector
def event_odds_history(*, event: SportEvent, limit: int = HISTORY_SHOWN) -> QuerySet[OddsChange]:
    """The latest price changes on any selection of ``event``, newest first."""
    return (
        OddsChange.objects.filter(selection__market__event=event)
        .select_related("changed_by", "selection__market")
        .order_by("-id")[:limit]
    )


def selection_for_trading(*, pk) -> Selection:
    """A selection with its market and event (404 if there is none)."""
    return get_object_or_404(Selection.objects.select_related("market__event"), pk=pk)


def market_has_bets(*, market: Market) -> bool:
    """Whether any bet (a single, or an accumulator's leg) stands on a selection of ``market``."""
    return (
        Sportsbet.objects.filter(selection__market=market).exists()
        or BetLeg.objects.filter(selection__market=market).exists()
    )
