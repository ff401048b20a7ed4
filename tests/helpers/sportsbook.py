"""Shared builders for the sportsbook and payout tests (state built through services)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from casino import services
from casino.models import Game, Payout, SportEvent, Sportsbet
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
