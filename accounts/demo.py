"""Demo people: a staff user and players with money. Used by ``seed_demo`` and the tests."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from accounts.models import User
from accounts.services import create_player, deposit

# Demo-only credentials, printed by `make run` and listed in the README.
STAFF = ("staff", "staff-demo-pass")
PLAYERS = ("alice", "bob", "carol")
PLAYER_PASSWORD = "player-demo-pass"  # noqa: S105
STARTING_MONEY = Decimal("500.00")


def ensure_demo_staff() -> User:
    with transaction.atomic():
        staff = User.objects.filter(username=STAFF[0]).first()
        if staff is None:
            staff = User.objects.create_superuser(username=STAFF[0], password=STAFF[1], email="staff@example.com")
    return staff


def ensure_demo_players() -> list[User]:
    """The demo players, each with ``STARTING_MONEY`` deposited once (the key makes a rerun a no-op)."""
    players = []
    for name in PLAYERS:
        player = User.objects.filter(username=name).first()
        if player is None:
            player = create_player(username=name, password=PLAYER_PASSWORD, email=f"{name}@example.com")
        deposit(player=player, amount=STARTING_MONEY, idempotency_key="seed-demo-deposit")
        players.append(player)
    return players
