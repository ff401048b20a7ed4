from django.core.management.base import BaseCommand, CommandError

from core import partitions


class Command(BaseCommand):
    help = (
        "List the monthly partitions of the partitioned tables (settings.PARTITIONED_TABLES) with their "
        "bounds and rows; --ensure first creates this month's and PARTITION_MONTHS_AHEAD months ahead "
        "(and moves rows waiting in a default partition into their month's)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--ensure", action="store_true", help="create the missing partitions first")
        parser.add_argument("--months-ahead", type=int, default=None, help="with --ensure (default: the setting)")
        parser.add_argument("--exact", action="store_true", help="count rows (a scan) instead of estimating")

    def handle(self, *args, ensure=False, months_ahead=None, exact=False, **options):
        if months_ahead is not None and not 0 <= months_ahead <= 120:
            raise CommandError("--months-ahead: 0 to 120")
        if ensure:
            created = partitions.ensure_partitions(months_ahead=months_ahead)
            self.stdout.write(f"created: {', '.join(created)}" if created else "created: none (all there)")
        rows = partitions.partitions(exact=exact)
        if not rows:
            self.stdout.write("no partitioned tables (migrations not applied?)")
        width = max((len(p.name) for p in rows), default=0)
        for p in rows:
            count = f"{p.rows} rows" if p.exact else f"~{p.rows} rows"
            self.stdout.write(f"{p.name:<{width}}  {p.bounds}  {count}")
        stray = False
        for table in partitions.partitioned_tables():
            if rows := partitions.default_partition_rows(table):  # exact: it should be empty
                stray = True
                self.stderr.write(f"{table}: {rows} rows in the default partition (a month with no partition)")
        if stray:
            raise CommandError("rows in a default partition: run manage.py partitions --ensure")
