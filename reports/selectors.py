"""Read side of the operator reports (issue 19).

``report`` reads the daily roll-up (``DailyFigure``) only, never the ledger: a year of
figures is at most a few thousand rows. ``liabilities`` is a snapshot of what the casino owes
right now, from the live tables (small indexed aggregates), not from the roll-up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import F, Sum
from django.db.models.functions import Coalesce, Round
from django.utils import timezone

from casino.models import Game, GameSession, Payout, Sportsbet
from core.db_router import replica_selector
from promotions.models import BonusGrant
from reports.exceptions import InvalidReportRange, UnknownProduct
from reports.models import DailyFigure, GamingRevenue, RollupState

__all__ = [
    "MAX_DAYS",
    "DayRow",
    "Figures",
    "LabelRow",
    "Liabilities",
    "Report",
    "games_for_filter",
    "liabilities",
    "report",
    "validate_range",
]

MAX_DAYS = 366
ZERO = Decimal("0.00")
PRODUCTS = dict(DailyFigure.Product.choices)
_SUMMED = ("stakes", "wins", "bonus_cost", "deposits", "withdrawals", "transactions")


@dataclass(frozen=True)
class Figures(GamingRevenue):
    """A set of figures; ``ggr`` = stakes - wins, ``ngr`` = ggr - bonus_cost."""

    stakes: Decimal = ZERO
    wins: Decimal = ZERO
    bonus_cost: Decimal = ZERO
    deposits: Decimal = ZERO
    withdrawals: Decimal = ZERO
    transactions: int = 0

    def as_dict(self) -> dict:
        return {
            "stakes": self.stakes,
            "wins": self.wins,
            "ggr": self.ggr,
            "bonus_cost": self.bonus_cost,
            "ngr": self.ngr,
            "deposits": self.deposits,
            "withdrawals": self.withdrawals,
            "transactions": self.transactions,
        }


@dataclass(frozen=True)
class DayRow(Figures):
    """One day's figures (zeros on a day without data); build it with keywords."""

    day: date | None = None

    def as_dict(self) -> dict:
        return {"day": self.day, **super().as_dict()}


@dataclass(frozen=True)
class LabelRow(Figures):
    """Figures of one product (``key``: the product code) or one game (``key``: its id)
    over the range."""

    label: str = ""
    key: str | int | None = None
    vendor: str = ""

    def as_dict(self) -> dict:
        return {"key": self.key, "label": self.label, "vendor": self.vendor, **super().as_dict()}


@dataclass(frozen=True)
class Report:
    date_from: date
    date_to: date
    product: str | None
    game_id: int | None
    rows: list[DayRow]
    totals: Figures
    by_product: list[LabelRow] = field(default_factory=list)
    by_game: list[LabelRow] = field(default_factory=list)
    rolled_through_tx: int = 0
    last_run_at: datetime | None = None


@dataclass(frozen=True)
class Liabilities:
    """What the casino owes players right now (money, Decimal):
    ``queued_payouts``: sportsbook payouts settled but not yet paid into the accounts;
    ``open_bets_potential_returns``: what the open bets would return if all won;
    ``open_bonus_money``: bonus money of active grants plus bonus money in open machines;
    ``money_in_machines``: players' cash in open game sessions (bonus money excluded: it is
    in ``open_bonus_money``)."""

    queued_payouts: Decimal
    open_bets_potential_returns: Decimal
    open_bonus_money: Decimal
    money_in_machines: Decimal
    as_of: datetime

    @property
    def total(self) -> Decimal:
        return self.queued_payouts + self.open_bets_potential_returns + self.open_bonus_money + self.money_in_machines


def validate_range(date_from: date, date_to: date) -> None:
    if date_from is None or date_to is None:
        raise InvalidReportRange("Choose both the first and the last day.")
    if date_from > date_to:
        raise InvalidReportRange("The first day must not be after the last day.")
    if (date_to - date_from).days + 1 > MAX_DAYS:
        raise InvalidReportRange(f"Choose a range of at most {MAX_DAYS} days.")


def _figures(values: dict) -> dict:
    return {name: values.get(name) or (0 if name == "transactions" else ZERO) for name in _SUMMED}


def _sums() -> dict:
    return {name: Sum(name) for name in _SUMMED}


@replica_selector
def report(*, date_from: date, date_to: date, product: str | None = None, game_id: int | None = None) -> Report:
    """The figures per day of ``date_from``..``date_to`` (inclusive; days in
    ``settings.TIME_ZONE``), their totals, and the breakdowns per product and per game,
    optionally for one product and/or one game (a game's rows are slots rows)."""
    validate_range(date_from, date_to)
    if product is not None and product not in PRODUCTS:
        raise UnknownProduct()
    figures = DailyFigure.objects.filter(day__gte=date_from, day__lte=date_to)
    if product:
        figures = figures.filter(product=product)
    if game_id is not None:
        figures = figures.filter(game_id=game_id)

    per_day = {row["day"]: row for row in figures.order_by().values("day").annotate(**_sums())}
    rows = []
    day = date_from
    while day <= date_to:
        rows.append(DayRow(day=day, **_figures(per_day.get(day, {}))))
        day += timedelta(days=1)
    totals = Figures(**_figures(figures.aggregate(**_sums())))

    by_product = [
        LabelRow(label=PRODUCTS.get(row["product"], row["product"]), key=row["product"], **_figures(row))
        for row in figures.order_by().values("product").annotate(**_sums()).order_by("product")
    ]
    by_game = [
        LabelRow(
            label=row["game__name"],
            key=row["game_id"],
            vendor=row["vendor__name"] or "",
            **_figures(row),
        )
        for row in figures.filter(game__isnull=False)
        .order_by()
        .values("game_id", "game__name", "vendor__name")
        .annotate(**_sums())
        .order_by("game__name", "game_id")
    ]
    state = RollupState.objects.filter(pk=1).first()
    return Report(
        date_from=date_from,
        date_to=date_to,
        product=product or None,
        game_id=game_id,
        rows=rows,
        totals=totals,
        by_product=by_product,
        by_game=by_game,
        rolled_through_tx=state.rolled_through_tx if state else 0,
        last_run_at=state.last_run_at if state else None,
    )


@replica_selector
def liabilities() -> Liabilities:
    """A snapshot of what is owed now, from the live tables (each a small aggregate over
    rows picked by an indexed status)."""
    money = Coalesce(Sum("amount"), ZERO)
    queued = Payout.objects.filter(state=Payout.State.QUEUED).aggregate(v=money)["v"]
    # Rounded per bet, half-up to the cent, as settlement pays it (PostgreSQL round()).
    open_bets = Sportsbet.objects.filter(status=Sportsbet.Status.OPEN).aggregate(
        v=Coalesce(Sum(Round(F("stake") * F("odds"), 2)), ZERO)
    )["v"]
    grants = BonusGrant.objects.filter(status=BonusGrant.Status.ACTIVE).aggregate(v=Coalesce(Sum("balance"), ZERO))["v"]
    machines = GameSession.objects.filter(status=GameSession.Status.OPEN).aggregate(
        cash=Coalesce(Sum("balance"), ZERO), bonus=Coalesce(Sum("bonus_balance"), ZERO)
    )
    return Liabilities(
        queued_payouts=queued,
        open_bets_potential_returns=Decimal(open_bets).quantize(Decimal("0.01")),
        open_bonus_money=grants + machines["bonus"],
        money_in_machines=machines["cash"],
        as_of=timezone.now(),
    )


def games_for_filter() -> list[tuple[int, str]]:
    """(id, name) of every game, by name: the report's game filter."""
    return list(Game.objects.order_by("name", "id").values_list("id", "name"))
