"""``manage.py report``: the operator report for scripts (issue 19).

    manage.py report --from 2026-11-01 --to 2026-11-30 [--product slots] [--game 3] --format csv|json
    manage.py report --roll-up ...      # bring the roll-up up to date first
    manage.py report --reconcile [--from ... --to ...]   # the roll-up against the ledger

The rows and totals are the report page's (``reports.selectors.report``). CSV: a header, one
line per day, then a ``total`` line. JSON: ``{"from", "to", "product", "game", "rows",
"totals", "by_product", "by_game"}`` with money as strings.
"""

from __future__ import annotations

import csv
import json
from datetime import date
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError

from core.exceptions import DomainError
from reports import reconcile, selectors, services

COLUMNS = ["day", "stakes", "wins", "ggr", "bonus_cost", "ngr", "deposits", "withdrawals", "transactions"]


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise CommandError(f"{option} must be a date as YYYY-MM-DD, not {value!r}") from None


def _plain(value):
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, date):
        return value.isoformat()
    return value


class Command(BaseCommand):
    help = "Print the operator report (daily figures and totals) as CSV or JSON; optionally roll up or reconcile first."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="date_from", help="first day, YYYY-MM-DD (inclusive)")
        parser.add_argument("--to", dest="date_to", help="last day, YYYY-MM-DD (inclusive)")
        parser.add_argument("--product", help="slots, sportsbook, promotions or payments")
        parser.add_argument("--game", type=int, help="a game's id (its slots figures)")
        parser.add_argument("--format", choices=["csv", "json"], default="csv")
        parser.add_argument("--roll-up", action="store_true", help="bring the daily roll-up up to date first")
        parser.add_argument(
            "--reconcile",
            action="store_true",
            help="check the roll-up against the ledger (the range given, or every rolled-up day) and print the result",
        )

    def handle(self, *args, **options):
        date_from = _day(options["date_from"], "--from") if options["date_from"] is not None else None
        date_to = _day(options["date_to"], "--to") if options["date_to"] is not None else None
        if options["roll_up"]:
            run = services.roll_up()
            self.stderr.write(
                f"rolled up {len(run.days)} days through transaction {run.through_tx} in {run.seconds:.2f}s"
            )
        if options["reconcile"]:
            if (date_from is None) != (date_to is None):
                raise CommandError("give both --from and --to, or neither (every rolled-up day)")
            try:
                result = reconcile.reconcile_rollup(date_from=date_from, date_to=date_to)
            except DomainError as exc:
                raise CommandError(exc.message) from exc
            for line in result.lines():
                self.stdout.write(line)
            if not result.ok:
                raise CommandError("the roll-up does not reconcile with the ledger")
            return
        if date_from is None or date_to is None:
            raise CommandError("--from and --to are required (YYYY-MM-DD)")
        try:
            report = selectors.report(
                date_from=date_from, date_to=date_to, product=options["product"], game_id=options["game"]
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        if options["format"] == "json":
            self._json(report)
        else:
            self._csv(report)

    def _csv(self, report: selectors.Report) -> None:
        writer = csv.writer(self.stdout, lineterminator="\n")
        writer.writerow(COLUMNS)
        for row in report.rows:
            values = row.as_dict()
            writer.writerow([_plain(values[name]) for name in COLUMNS])
        totals = {"day": "total", **report.totals.as_dict()}
        writer.writerow([_plain(totals[name]) for name in COLUMNS])

    def _json(self, report: selectors.Report) -> None:
        def plain(values: dict) -> dict:
            return {name: _plain(value) for name, value in values.items()}

        payload = {
            "from": report.date_from.isoformat(),
            "to": report.date_to.isoformat(),
            "product": report.product,
            "game": report.game_id,
            "rolled_through_tx": report.rolled_through_tx,
            "rows": [plain(row.as_dict()) for row in report.rows],
            "totals": plain(report.totals.as_dict()),
            "by_product": [plain(row.as_dict()) for row in report.by_product],
            "by_game": [plain(row.as_dict()) for row in report.by_game],
        }
        self.stdout.write(json.dumps(payload, indent=2))
