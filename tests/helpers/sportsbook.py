"""Shared builders for the sportsbook and payout tests (state built through services)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from casino import services
from casino.models import Game, Market, Payout, Selection, SportEvent, Sportsbet
from casino.services import liability
from casino.services.sportsbook import create_match_event


def make_event(*, name: str = "Home FC vs Away FC", odds=("2.00", "3.50", "4.00"), max_stake="500.00", hours=24):
    return create_match_event(
        name=name,
        home="Home FC",
        away="Away FC",
        odds=odds,
        starts_at=timezone.now() + timedelta(hours=hours),
        max_stake=Decimal(max_stake),
    )


def selections(event: SportEvent):
    """(home, draw, away) of the event's match-result market."""
    market = event.markets.get()
    return tuple(market.selections.order_by("id"))


def limited_selection(*, limit, mode=Selection.LiabilityMode.STRICT, odds="2.00") -> Selection:
    """The home selection of a new event at ``odds``, with a liability limit (``mode``)."""
    home, _, _ = selections(make_event(odds=(odds, "3.50", "4.00")))
    return liability.set_max_liability(selection=home, max_liability=Decimal(str(limit)), mode=mode)


def open_exposure_sum(selection) -> Decimal:
    """The open single bets' exposure, summed here from the bets (the tests' own arithmetic)."""
    bets = Sportsbet.objects.filter(selection=selection, status=Sportsbet.Status.OPEN)
    return sum((liability.exposure_of(stake=b.stake, odds=b.odds) for b in bets), Decimal("0.00"))


def bet(player, selection, stake="10.00", key: str | None = None, **kwargs) -> Sportsbet:
    return services.place_sportsbet(
        player=player, selection=selection, stake=stake, idempotency_key=key or uuid.uuid4().hex, **kwargs
    )


def result_for(event: SportEvent, winner) -> dict:
    """The result dict naming ``winner`` (a Selection, or "void") for the event's one market."""
    market = event.markets.get()
    return {market.pk: "void" if winner == "void" else winner.pk}


def make_game(slug: str = "sportsbook-test-slot") -> Game:
    game, _ = Game.objects.get_or_create(
        slug=slug,
        defaults={
            "name": "Test Slot",
            "min_stake": Decimal("0.10"),
            "max_stake": Decimal("10.00"),
            "reels": [["A", "B", "C"], ["A", "B", "C"], ["A", "B", "C"]],
            "paytable": [{"line": ["A", "A", "A"], "pays": 5}],
        },
    )
    return game


def queued_payouts(player) -> list[Payout]:
    return list(Payout.objects.filter(player=player, state=Payout.State.QUEUED))


def market_form(market: Market, **overrides) -> dict:
    """The market change page as posted, selections inline."""
    sels = list(market.selections.order_by("id"))
    data = {
        "event": market.event_id,
        "name": market.name,
        "kind": market.kind,  # issue 18: a kind and a goals line (read-only once bets exist)
        "line": "" if market.line is None else str(market.line),
        "max_stake": str(market.max_stake),
        "selections-TOTAL_FORMS": len(sels),
        "selections-INITIAL_FORMS": len(sels),
        "selections-MIN_NUM_FORMS": 0,
        "selections-MAX_NUM_FORMS": 1000,
    }
    for i, s in enumerate(sels):
        data |= {
            f"selections-{i}-id": s.pk,
            f"selections-{i}-market": market.pk,
            f"selections-{i}-name": s.name,
            f"selections-{i}-odds": str(s.odds),
            f"selections-{i}-max_liability": "" if s.max_liability is None else str(s.max_liability),
            f"selections-{i}-liability_mode": s.liability_mode,
        }
    data.update(overrides)
    return data
