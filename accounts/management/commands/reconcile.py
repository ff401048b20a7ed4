from django.core.management.base import BaseCommand, CommandError

from accounts.reconcile import reconcile


class Command(BaseCommand):
    help = "Check that every ledger transaction sums to zero and every stored balance equals its entries."

    def handle(self, *args, **options):
        report = reconcile()
        for line in report.lines():
            self.stdout.write(line)
        if not report.ok:
            raise CommandError("ledger does not reconcile")
