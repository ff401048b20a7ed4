"""Demo data for a fresh machine: a staff user, players with money, games, a
vendor with promotions, sports events and promotion codes. Idempotent: running
it again changes nothing that is already there."""

from decimal import Decimal

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts import services as account_services
from accounts.models import User

# Demo-only credentials, printed by `make run` and listed in the README.
STAFF = ("staff", "staff-demo-pass")
PLAYERS = ("alice", "bob", "carol")
PLAYER_PASSWORD = "player-demo-pass"  # noqa: S105
STARTING_MONEY = Decimal("500.00")


class Command(BaseCommand):
    help = "Load idempotent demo data (staff user, players with money, games, events, vendor, codes)."

    def handle(self, *args, **options):
        from casino.services.sessions import load_demo_games
        from casino.services.sportsbook import DEMO_EVENTS, create_demo_event
        from promotions.services.codes import ensure_demo_codes
        from promotions.services.vendors import ensure_demo_vendor

        call_command("setup_groups", verbosity=0)
        with transaction.atomic():
            staff = User.objects.filter(username=STAFF[0]).first()
            if staff is None:
                staff = User.objects.create_superuser(username=STAFF[0], password=STAFF[1], email="staff@example.com")
        for name in PLAYERS:
            player = User.objects.filter(username=name).first()
            if player is None:
                player = account_services.create_player(
                    username=name, password=PLAYER_PASSWORD, email=f"{name}@example.com"
                )
            # The idempotency key makes a second run a no-op.
            account_services.deposit(player=player, amount=STARTING_MONEY, idempotency_key="seed-demo-deposit")

        vendor = ensure_demo_vendor()
        games = load_demo_games()
        if games and games[0].vendor_id is None:
            type(games[0]).objects.filter(pk=games[0].pk).update(vendor=vendor)
        for index in range(len(DEMO_EVENTS)):
            create_demo_event(index=index)
        codes = ensure_demo_codes()

        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        self.stdout.write(f"  staff login:   {STAFF[0]} / {STAFF[1]} (admin at /admin/)")
        self.stdout.write(f"  player logins: {', '.join(PLAYERS)} / {PLAYER_PASSWORD}")
        self.stdout.write(f"  games: {', '.join(g.name for g in games)}; vendor: {vendor.name}")
        self.stdout.write(f"  promotion codes: {', '.join(c.code for c in codes)}")
