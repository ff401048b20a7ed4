"""Cross-cutting security tests: ownership, double-submits, page hygiene.

Shared here: the URLconf walk (so a new URL without a test case fails the
tables) and ``build_world``, one player's objects built through the services.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from accounts.models import Account, LedgerTransaction, User
from casino import services as casino_services
from casino.demo import load_demo_games
from casino.models import Game, GameSession, Payout, Spin, Sportsbet
from promotions import services as promo_services
from promotions.models import Redemption
from promotions.services.codes import code_exists
from tests.factories import PlayerFactory
from tests.helpers.sportsbook import make_event, result_for, selections


@dataclass(frozen=True)
class Route:
    name: str
    route: str
    kwargs: frozenset[str]


def player_routes() -> dict[str, Route]:
    """Every named URL outside the admin, with the kwargs its pattern captures."""
    found: dict[str, Route] = {}

    def walk(patterns, prefix: str) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                if entry.namespace == "admin" or entry.app_name == "admin":
                    continue
                walk(entry.url_patterns, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern):
                assert entry.name, f"unnamed URL pattern {prefix}{entry.pattern}: name it so the tables can list it"
                converters = getattr(entry.pattern, "converters", {}) or {}
                kwargs = set(converters) | set(entry.pattern.regex.groupindex)
                found[entry.name] = Route(entry.name, prefix + str(entry.pattern), frozenset(kwargs))

    walk(get_resolver().url_patterns, "/")
    return found


def routes_with_ids() -> set[str]:
    return {name for name, route in player_routes().items() if route.kwargs}


@dataclass(frozen=True)
class Markers:
    """Amounts and a code that appear on one player's pages and nowhere else."""

    deposit: str
    feed: str
    stake: str
    code: str
    bonus: str


OWNER = Markers(deposit="987.09", feed="37.91", stake="13.57", code="OWNERONLY7", bonus="7.77")
INTRUDER = Markers(deposit="250.00", feed="20.00", stake="5.00", code="OTHERCODE3", bonus="3.00")
DEPOSIT, FEED, STAKE, CODE = OWNER.deposit, OWNER.feed, OWNER.stake, OWNER.code


@dataclass
class World:
    player: User
    game: Game
    session: GameSession
    bet: Sportsbet
    payout: Payout
    redemption: Redemption
    selection_id: int


def build_world(*, markers: Markers = OWNER, username: str | None = None) -> World:
    """A player with money, an open session (fed, one spin), a settled winning bet
    whose payout is queued, and a redeemed code: everything a player URL can show."""
    player = PlayerFactory(**({"username": username} if username else {}), balance=markers.deposit)
    game = next(g for g in load_demo_games() if g.min_stake == Decimal("0.10"))
    session = casino_services.open_session(player=player, game=game)
    casino_services.feed(session=session, amount=Decimal(markers.feed), idempotency_key=uuid.uuid4().hex)
    casino_services.spin(session=session, stake=game.min_stake, idempotency_key=uuid.uuid4().hex)
    event = make_event(name=f"Owners FC vs Others {uuid.uuid4().hex[:6]}")
    home, _, _ = selections(event)
    bet = casino_services.place_sportsbet(
        player=player, selection=home, stake=Decimal(markers.stake), idempotency_key=uuid.uuid4().hex
    )
    casino_services.settle_event(event=event, result=result_for(event, home))
    payout = Payout.objects.get(bet=bet)
    now = timezone.now()
    if not code_exists(markers.code):
        promo_services.issue_code(
            code=markers.code,
            reward_kind="bonus",
            bonus_amount=Decimal(markers.bonus),
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(days=1),
        )
    redemption = promo_services.redeem(player=player, code=markers.code)
    other_event = make_event(name=f"Open FC vs Later {uuid.uuid4().hex[:6]}", hours=48)
    return World(
        player=player,
        game=game,
        session=GameSession.objects.get(pk=session.pk),
        bet=Sportsbet.objects.get(pk=bet.pk),
        payout=payout,
        redemption=redemption,
        selection_id=selections(other_event)[0].pk,
    )


def give_bonus(world: World, *, source_key: str, source: str, amount: str = "6.43"):
    """The world's player's active bonus grant (5x wagering, maximum stake 2.00, valid 7 days),
    made once per ``source_key`` (``grant_bonus`` returns the first grant for its key): the
    wallet's bonus panel and the forfeit page then show the most."""
    return promo_services.grant_bonus(
        player=world.player,
        amount=Decimal(amount),
        wagering_multiple=5,
        expires_at=timezone.now() + timedelta(days=7),
        max_stake=Decimal("2.00"),
        source_key=source_key,
        source=source,
    )


def money_snapshot() -> tuple:
    """Everything that changes when money (or money state) moves."""
    return (
        list(Account.objects.order_by("pk").values_list("pk", "balance", "version")),
        LedgerTransaction.objects.count(),
        list(GameSession.objects.order_by("pk").values_list("pk", "status", "balance", "version")),
        Spin.objects.count(),
        list(Payout.objects.order_by("pk").values_list("pk", "state", "version")),
        Sportsbet.objects.count(),
        Redemption.objects.count(),
    )
