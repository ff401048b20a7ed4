"""Demo data for a fresh machine: a staff user, players with money, games, a
vendor with promotions, sports events and promotion codes. Idempotent: running
it again changes nothing that is already there.

It lives in the top app because it seeds every app (each app's ``demo.py``)."""

from django.core.management import call_command
from django.core.management.base import BaseCommand

from accounts import demo as accounts_demo
from casino import demo as casino_demo
from casino.models import Game
from promotions import demo as promotions_demo


class Command(BaseCommand):
    help = "Load idempotent demo data (staff user, players with money, games, events, vendor, codes)."

    def handle(self, *args, **options):
        call_command("setup_groups", verbosity=0)
        accounts_demo.ensure_demo_staff()
        accounts_demo.ensure_demo_players()

        vendor = promotions_demo.ensure_demo_vendor_promotions(casino_demo.ensure_demo_vendor())
        games = casino_demo.load_demo_games()
        if games and games[0].vendor_id is None:
            Game.objects.filter(pk=games[0].pk).update(vendor=vendor)
        for index in range(len(casino_demo.DEMO_EVENTS)):
            casino_demo.create_demo_event(index=index)
        codes = promotions_demo.ensure_demo_codes()

        staff, password = accounts_demo.STAFF
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        self.stdout.write(f"  staff login:   {staff} / {password} (admin at /admin/)")
        self.stdout.write(f"  player logins: {', '.join(accounts_demo.PLAYERS)} / {accounts_demo.PLAYER_PASSWORD}")
        self.stdout.write(f"  games: {', '.join(g.name for g in games)}; vendor: {vendor.name}")
        self.stdout.write(f"  promotion codes: {', '.join(c.code for c in codes)}")
