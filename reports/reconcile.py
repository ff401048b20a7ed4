"""Proof that the roll-up reconciles with the ledger (issue 19).

For a range of days (default: every rolled-up day), the ``DailyFigure`` totals per product
must equal the same figures summed straight from the ledger's entries over the same
``created_at`` range, by a second, simpler query (no per-day or per-game grouping, no join to
the game sessions: a spin lost by the roll-up's game lookup shows up here). Three identities
against the system accounts are checked as well, since each of these accounts is touched by
one product only: the net of ``system:house`` over the range is the slots GGR, the net of
``system:sportsbook`` the sportsbook GGR, and minus the net of ``system:cash`` is deposits -
withdrawals. A difference means the roll-up is stale (run it) or wrong.

``accounts`` cannot import this module (layers); ``reports.apps`` registers ``section`` with
the accounts reconcile if it offers a hook (``accounts.hooks.reconcile_sections``), and
``manage.py report --reconcile`` runs it on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import connection
from django.db.models import Max, Min, Sum

from reports.models import DailyFigure, RollupState
from reports.selectors import validate_range
from reports.services import PRODUCT_CASE_SQL, PRODUCT_OF_KIND, day_bounds

__all__ = ["FIGURES", "RollupReconciliation", "reconcile_rollup", "section"]

FIGURES = ("stakes", "wins", "bonus_cost", "deposits", "withdrawals", "transactions")
ZERO = Decimal("0.00")

_LEDGER_SQL = """
    SELECT {product_case} AS product,
        COALESCE(SUM(e.amount) FILTER (WHERE e.amount > 0
            AND ((t.kind = 'spin' AND e.account = 'system:house')
                 OR (t.kind IN ('bet_stake', 'payout') AND e.account = 'system:sportsbook'))), 0),
        COALESCE(-SUM(e.amount) FILTER (WHERE e.amount < 0
            AND ((t.kind = 'spin' AND e.account = 'system:house')
                 OR (t.kind IN ('bet_stake', 'payout') AND e.account = 'system:sportsbook'))), 0),
        COALESCE(-SUM(e.amount) FILTER (WHERE t.kind = 'spin' AND e.account = 'system:promotions' AND e.amount < 0), 0)
        + COALESCE(SUM(e.amount) FILTER (WHERE t.kind IN ('redemption', 'promotion', 'bonus_conversion')
            AND (e.account LIKE 'player:%%' OR e.account LIKE 'session:%%') AND e.amount > 0), 0),
        COALESCE(SUM(e.amount) FILTER (WHERE t.kind = 'deposit' AND e.account LIKE 'player:%%'), 0),
        COALESCE(-SUM(e.amount) FILTER (WHERE t.kind = 'withdrawal' AND e.account LIKE 'player:%%'), 0),
        COUNT(DISTINCT t.id)
    FROM accounts_ledgertransaction t JOIN accounts_ledgerentry e ON e.transaction_id = t.id
    WHERE t.created_at >= %(start)s AND t.created_at < %(end)s AND t.kind = ANY(%(kinds)s)
    GROUP BY 1
"""

_SYSTEM_SQL = """
    SELECT e.account, SUM(e.amount)
    FROM accounts_ledgertransaction t JOIN accounts_ledgerentry e ON e.transaction_id = t.id
    WHERE t.created_at >= %(start)s AND t.created_at < %(end)s
      AND e.account IN ('system:house', 'system:sportsbook', 'system:cash')
    GROUP BY e.account
"""


@dataclass
class RollupReconciliation:
    date_from: date | None
    date_to: date | None
    rolled_through_tx: int = 0
    rollup: dict[str, dict[str, Decimal | int]] = field(default_factory=dict)  # product -> figure -> value
    ledger: dict[str, dict[str, Decimal | int]] = field(default_factory=dict)
    system_nets: dict[str, Decimal] = field(default_factory=dict)
    mismatches: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def totals(self, source: str = "rollup") -> dict[str, Decimal | int]:
        figures = getattr(self, source)
        return {name: sum((row[name] for row in figures.values()), 0) for name in FIGURES}

    def lines(self) -> list[str]:
        if self.date_from is None:
            return ["roll-up: nothing rolled up yet"]
        out = [f"roll-up {self.date_from}..{self.date_to} (through ledger transaction {self.rolled_through_tx})"]
        for product in sorted(set(self.rollup) | set(self.ledger)):
            row = self.rollup.get(product, {})
            out.append(f"  {product}: " + ", ".join(f"{name} {row.get(name, 0)}" for name in FIGURES))
        out += [f"MISMATCH roll-up {line}" for line in self.mismatches]
        out.append(
            "OK: the roll-up reconciles with the ledger"
            if self.ok
            else "FAILED: the roll-up does not reconcile with the ledger (stale? run manage.py report --roll-up)"
        )
        return out


def _empty() -> dict[str, Decimal | int]:
    return {name: (0 if name == "transactions" else ZERO) for name in FIGURES}


def reconcile_rollup(*, date_from: date | None = None, date_to: date | None = None) -> RollupReconciliation:
    """Compare the roll-up with the ledger over ``date_from``..``date_to`` (inclusive; by
    default every rolled-up day)."""
    if date_from is None or date_to is None:
        bounds = DailyFigure.objects.aggregate(first=Min("day"), last=Max("day"))
        date_from = date_from or bounds["first"]
        date_to = date_to or bounds["last"]
    state = RollupState.objects.filter(pk=1).first()
    result = RollupReconciliation(date_from, date_to, rolled_through_tx=state.rolled_through_tx if state else 0)
    if date_from is None or date_to is None:
        return result
    if date_from > date_to:
        validate_range(date_from, date_to)  # raises the typed error

    sums = {name: Sum(name) for name in FIGURES}
    rows = DailyFigure.objects.filter(day__gte=date_from, day__lte=date_to).order_by()
    for row in rows.values("product").annotate(**sums):
        result.rollup[row["product"]] = {name: row[name] for name in FIGURES}

    start, end = day_bounds(date_from)[0], day_bounds(date_to)[1]
    params = {"start": start, "end": end, "kinds": list(PRODUCT_OF_KIND)}
    with connection.cursor() as cur:
        cur.execute(_LEDGER_SQL.format(product_case=PRODUCT_CASE_SQL), params)
        for product, *values in cur.fetchall():
            result.ledger[product] = dict(zip(FIGURES, values, strict=True))
        cur.execute(_SYSTEM_SQL, params)
        result.system_nets = dict(cur.fetchall())

    for product in sorted(set(result.rollup) | set(result.ledger)):
        mine, theirs = result.rollup.get(product, _empty()), result.ledger.get(product, _empty())
        for name in FIGURES:
            if mine[name] != theirs[name]:
                result.mismatches.append(f"{product} {name}: roll-up {mine[name]}, ledger {theirs[name]}")

    slots = result.rollup.get("slots", _empty())
    sportsbook = result.rollup.get("sportsbook", _empty())
    payments = result.rollup.get("payments", _empty())
    nets = result.system_nets
    checks = [
        ("slots GGR vs net of system:house", slots["stakes"] - slots["wins"], nets.get("system:house", ZERO)),
        (
            "sportsbook GGR vs net of system:sportsbook",
            sportsbook["stakes"] - sportsbook["wins"],
            nets.get("system:sportsbook", ZERO),
        ),
        (
            "deposits - withdrawals vs minus the net of system:cash",
            payments["deposits"] - payments["withdrawals"],
            -nets.get("system:cash", ZERO),
        ),
    ]
    result.mismatches += [
        f"{label}: roll-up {mine}, ledger {theirs}" for label, mine, theirs in checks if mine != theirs
    ]
    return result


def section() -> RollupReconciliation:
    """The roll-up section of ``manage.py reconcile`` (every rolled-up day): ``.ok`` and ``.lines()``."""
    return reconcile_rollup()
