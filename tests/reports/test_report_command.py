"""``manage.py report`` (issue 19): CSV and JSON output of the report's rows and totals,
``--roll-up``, ``--reconcile``, and clear errors for bad input."""

import csv
import io
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts import services as accounts
from accounts.models import LedgerTransaction
from reports import services
from reports.models import DailyFigure
from tests.factories import PlayerFactory

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out, err = io.StringIO(), io.StringIO()
    call_command("report", *args, stdout=out, stderr=err)
    return out.getvalue()


@pytest.fixture
def day_with_payments():
    player = PlayerFactory(balance="40.00")
    accounts.withdraw(player=player, amount=Decimal("15.50"), idempotency_key="w-1")
    return services.local_day(timezone.now())


def test_csv_has_one_line_per_day_and_a_total(day_with_payments):
    day = day_with_payments
    text = run("--from", str(day - timedelta(days=1)), "--to", str(day), "--format", "csv", "--roll-up")
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0] == ["day", "stakes", "wins", "ggr", "bonus_cost", "ngr", "deposits", "withdrawals", "transactions"]
    assert lines[1] == [str(day - timedelta(days=1)), "0.00", "0.00", "0.00", "0.00", "0.00", "0.00", "0.00", "0"]
    assert lines[2] == [str(day), "0.00", "0.00", "0.00", "0.00", "0.00", "40.00", "15.50", "2"]
    assert lines[3] == ["total", "0.00", "0.00", "0.00", "0.00", "0.00", "40.00", "15.50", "2"]
    assert len(lines) == 4


def test_json_has_rows_totals_and_breakdowns(day_with_payments):
    day = day_with_payments
    services.roll_up()
    data = json.loads(run("--from", str(day), "--to", str(day), "--format", "json"))
    assert (data["from"], data["to"], data["product"], data["game"]) == (str(day), str(day), None, None)
    assert data["rows"] == [
        {
            "day": str(day),
            "stakes": "0.00",
            "wins": "0.00",
            "ggr": "0.00",
            "bonus_cost": "0.00",
            "ngr": "0.00",
            "deposits": "40.00",
            "withdrawals": "15.50",
            "transactions": 2,
        }
    ]
    assert data["totals"]["deposits"] == "40.00"
    assert [(p["key"], p["withdrawals"]) for p in data["by_product"]] == [("payments", "15.50")]
    assert data["by_game"] == []
    only_slots = json.loads(run("--from", str(day), "--to", str(day), "--format", "json", "--product", "slots"))
    assert only_slots["totals"]["deposits"] == "0.00" and only_slots["product"] == "slots"


def test_the_command_does_not_roll_up_unless_asked(day_with_payments):
    day = day_with_payments
    run("--from", str(day), "--to", str(day))
    assert not DailyFigure.objects.exists()
    run("--from", str(day), "--to", str(day), "--roll-up")
    assert DailyFigure.objects.filter(day=day, product="payments").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-13-01", "--to", "2026-12-01"], "--from must be a date as YYYY-MM-DD"),
        (["--from", "2026-01-01", "--to", "yesterday"], "--to must be a date as YYYY-MM-DD"),
        (["--from", "2026-02-01", "--to", "2026-01-01"], "must not be after"),
        (["--from", "2024-01-01", "--to", "2026-01-01"], "at most 366 days"),
        (["--to", "2026-01-01"], "--from and --to are required"),
        (["--from", "2026-01-01", "--to", "2026-01-02", "--product", "poker"], "no such product"),
        (["--reconcile", "--from", "2026-01-01"], "give both --from and --to"),
    ],
)
def test_bad_input_is_a_clear_command_error(args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)


def test_reconcile_flag_prints_the_section_and_fails_on_a_stale_roll_up(day_with_payments):
    services.roll_up()
    assert run("--reconcile").splitlines()[-1] == "OK: the roll-up reconciles with the ledger"
    late = accounts.deposit(player=PlayerFactory(), amount=Decimal("3.00"), idempotency_key="late")
    LedgerTransaction.objects.filter(pk=late.pk).update(created_at=timezone.now() - timedelta(days=3))
    day = day_with_payments - timedelta(days=3)
    with pytest.raises(CommandError, match="does not reconcile"):
        run("--reconcile", "--from", str(day), "--to", str(day_with_payments))
    assert "OK" in run("--reconcile", "--roll-up", "--from", str(day), "--to", str(day_with_payments))
