"""What settling an event would do, read before anything is written (the staff confirmation page).

The amounts use the settlement's own arithmetic: a win pays stake x odds rounded half-up to
the cent (PostgreSQL ``round()``, as ``casino.services.sportsbook._queue_payouts``), a void
market refunds each stake, a losing bet pays nothing. Bets placed between this read and the
confirmation settle too; the settlement's report (shown after it) is the authority.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, F, Sum
from django.db.models.functions import Round

from casino.models import Market, Selection, SportEvent, Sportsbet

ZERO = Decimal("0.00")
VOID = "void"


@dataclass
class MarketPreview:
    market: Market
    winner: Selection | None  # None: the market is void
    won: int = 0
    lost: int = 0
    refunded: int = 0
    winnings: Decimal = ZERO
    refunds: Decimal = ZERO
    lost_stakes: Decimal = ZERO

    @property
    def void(self) -> bool:
        return self.winner is None

    @property
    def to_pay(self) -> Decimal:
        return self.winnings + self.refunds


@dataclass
class SettlementPreview:
    event: SportEvent
    markets: list[MarketPreview] = field(default_factory=list)

    @property
    def won(self) -> int:
        return sum(m.won for m in self.markets)

    @property
    def lost(self) -> int:
        return sum(m.lost for m in self.markets)

    @property
    def refunded(self) -> int:
        return sum(m.refunded for m in self.markets)

    @property
    def payouts(self) -> int:
        return self.won + self.refunded

    @property
    def winnings(self) -> Decimal:
        return sum((m.winnings for m in self.markets), ZERO)

    @property
    def refunds(self) -> Decimal:
        return sum((m.refunds for m in self.markets), ZERO)

    @property
    def lost_stakes(self) -> Decimal:
        return sum((m.lost_stakes for m in self.markets), ZERO)

    @property
    def to_pay(self) -> Decimal:
        return self.winnings + self.refunds


def settlement_preview(*, event: SportEvent, result: dict[int, int | str]) -> SettlementPreview:
    """The payouts ``settle_event(event=event, result=result)`` would queue now (two queries).

    ``result`` is a checked result (``casino.services.sportsbook.parse_result``): market id ->
    winning selection id, or ``"void"``.
    """
    markets = event.markets.prefetch_related("selections").order_by("pk")
    per_selection = {
        row["selection_id"]: row
        for row in Sportsbet.objects.filter(selection__market__event=event, status=Sportsbet.Status.OPEN)
        .values("selection_id")
        .annotate(bets=Count("pk"), stakes=Sum("stake"), returns=Sum(Round(F("stake") * F("odds"), 2)))
        .order_by()
    }
    preview = SettlementPreview(event=event)
    for market in markets:
        outcome = result.get(market.pk)
        if outcome is None:
            continue
        selections = list(market.selections.all())
        winner = None if outcome == VOID else next((s for s in selections if s.pk == outcome), None)
        row = MarketPreview(market=market, winner=winner)
        for selection in selections:
            bets = per_selection.get(selection.pk)
            if not bets:
                continue
            count, stakes = bets["bets"], bets["stakes"] or ZERO
            if winner is None:
                row.refunded += count
                row.refunds += stakes
            elif selection.pk == winner.pk:
                row.won += count
                row.winnings += bets["returns"] or ZERO
            else:
                row.lost += count
                row.lost_stakes += stakes
        preview.markets.append(row)
    return preview
