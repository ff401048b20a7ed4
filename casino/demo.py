"""Demo data for the casino: machines, a studio, sports events. Used by ``seed_demo``,
the tests and the benchmarks; never by the product's services."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from casino.models import Game, SportEvent, Vendor
from casino.services.sportsbook import create_match_event
from casino.slots import Machine

DEMO_VENDOR = {"slug": "django-reels", "name": "Django Reels Studio"}


def _strip(**counts: int) -> list[str]:
    """A reel strip with symbols interleaved (round-robin) rather than bunched."""
    pools = [[sym] * n for sym, n in counts.items()]
    out: list[str] = []
    while any(pools):
        for pool in pools:
            if pool:
                out.append(pool.pop())
    return out


DEMO_GAMES = [
    {
        "slug": "fruit-frenzy",
        "name": "Fruit Frenzy",
        "description": "A classic three-reel fruit machine: frequent small wins, cherries pay anywhere on reel one.",
        "min_stake": Decimal("0.10"),
        "max_stake": Decimal("5.00"),
        "reels": [
            _strip(cherry=3, lemon=5, orange=4, plum=3, bell=2, bar=1, seven=1),
            _strip(cherry=3, lemon=5, orange=5, plum=3, bell=2, bar=1, seven=1),
            _strip(cherry=3, lemon=5, orange=4, plum=4, bell=2, bar=1, seven=1),
        ],
        "paytable": [
            {"line": ["seven", "seven", "seven"], "pays": 300},
            {"line": ["bar", "bar", "bar"], "pays": 150},
            {"line": ["bell", "bell", "bell"], "pays": 60},
            {"line": ["plum", "plum", "plum"], "pays": 20},
            {"line": ["orange", "orange", "orange"], "pays": 12},
            {"line": ["lemon", "lemon", "lemon"], "pays": 10},
            {"line": ["cherry", "cherry", "cherry"], "pays": 20},
            {"line": ["cherry", "cherry", "*"], "pays": 5},
            {"line": ["cherry", "*", "*"], "pays": 2},
        ],
    },
    {
        "slug": "diamond-sevens",
        "name": "Diamond Sevens",
        "description": "High stakes, high volatility: rare diamonds pay a thousand times the stake.",
        "min_stake": Decimal("1.00"),
        "max_stake": Decimal("50.00"),
        # Half of each stake counts towards a bonus's wagering (issue 16): the demo's partial contribution.
        "wagering_contribution": 50,
        "reels": [
            _strip(blank=11, bar=5, seven=3, diamond=1, star=4),
            _strip(blank=11, bar=5, seven=3, diamond=1, star=4),
            _strip(blank=11, bar=5, seven=3, diamond=1, star=4),
        ],
        "paytable": [
            {"line": ["diamond", "diamond", "diamond"], "pays": 1000},
            {"line": ["seven", "seven", "seven"], "pays": 100},
            {"line": ["bar", "bar", "bar"], "pays": 20},
            {"line": ["star", "star", "star"], "pays": 25},
            {"line": ["diamond", "diamond", "*"], "pays": 50},
            {"line": ["star", "star", "*"], "pays": 3},
            {"line": ["diamond", "*", "*"], "pays": 3},
            {"line": ["*", "*", "diamond"], "pays": 3},
        ],
    },
]


def load_demo_games() -> list[Game]:
    """Create or update the demo machines from ``DEMO_GAMES``."""
    games = []
    for data in DEMO_GAMES:
        Machine.from_data(data["reels"], data["paytable"])  # never install an unplayable machine
        defaults = {k: v for k, v in data.items() if k != "slug"}
        game, _ = Game.objects.update_or_create(slug=data["slug"], defaults=defaults)
        games.append(game)
    return games


def ensure_demo_vendor() -> Vendor:
    """The demo studio (idempotent); its promotions come from ``promotions.demo``."""
    vendor, _ = Vendor.objects.get_or_create(slug=DEMO_VENDOR["slug"], defaults={"name": DEMO_VENDOR["name"]})
    return vendor


DEMO_EVENTS = [
    {
        "name": "Royal Django FC vs Celery United",
        "home": "Royal Django FC",
        "away": "Celery United",
        "odds": ("2.10", "3.40", "3.20"),
        "extra_markets": {"over_under": ("1.90", "1.90"), "btts": ("1.80", "2.00")},
        "starts_in_hours": 48,
    },
    {
        "name": "Postgres Rovers vs Redis Rangers",
        "home": "Postgres Rovers",
        "away": "Redis Rangers",
        "odds": ("1.75", "3.60", "4.50"),
        "extra_markets": {"over_under": ("2.05", "1.75"), "btts": ("1.95", "1.85")},
        "starts_in_hours": 72,
    },
    {
        "name": "Htmx Athletic vs Python Wanderers",
        "home": "Htmx Athletic",
        "away": "Python Wanderers",
        "odds": ("2.80", "3.10", "2.45"),
        "extra_markets": {"over_under": ("1.80", "2.00"), "btts": ("1.70", "2.15")},
        "starts_in_hours": 96,
    },
]


def create_demo_event(*, index: int = 0, starts_at=None) -> SportEvent:
    """One of ``DEMO_EVENTS`` (for ``seed_demo``); idempotent by name while it is open. Each demo
    match has three markets (issue 18): match result, over/under 2.5 goals, both teams to score."""
    spec = DEMO_EVENTS[index % len(DEMO_EVENTS)]
    existing = SportEvent.objects.filter(name=spec["name"], status=SportEvent.Status.OPEN).first()
    if existing:
        return existing
    return create_match_event(
        name=spec["name"],
        home=spec["home"],
        away=spec["away"],
        odds=spec["odds"],
        extra_markets=spec.get("extra_markets"),
        starts_at=starts_at or timezone.now() + timedelta(hours=spec["starts_in_hours"]),
    )
