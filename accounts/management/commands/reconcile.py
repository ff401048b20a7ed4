from django.core.management.base import BaseCommand, CommandError

from accounts import hooks
from accounts.reconcile import reconcile


class Command(BaseCommand):
    help = (
        "Check that every ledger transaction sums to zero and every stored balance equals its entries; "
        "then the sections other apps add (e.g. the operator reports' roll-up against the ledger)."
    )

    def handle(self, *args, **options):
        report = reconcile()
        for line in report.lines():
            self.stdout.write(line)
        sections = [section() for section in hooks.reconcile_sections]
        for section in sections:
            for line in section.lines():
                self.stdout.write(line)
        if not report.ok or not all(section.ok for section in sections):
            raise CommandError("ledger does not reconcile")
