"""Daily roll-ups of the ledger (issue 19).

``DailyFigure``: one row per (day, product, game, vendor): what the ledger's entries of that
day add up to for that product (``game``/``vendor`` set for the slots rows of one game, NULL for
a product's other rows). Rows are derived, never edited: the roll-up task recomputes whole
days (DELETE and INSERT of the day in one transaction), so re-running it changes nothing.
``RollupState`` (one row) keeps the watermark: the highest ledger transaction id already
rolled up; days touched by later transactions, and today and yesterday always, are
recomputed by the next run (a transaction that commits late lands in a recomputed day).

Figures (money, 2 decimals; the definitions live in ``reports.services``):
stakes, wins (paid to players: GGR = stakes - wins), bonus_cost (promotion money that became
the players' withdrawable cash, or was paid as wins: NGR = GGR - bonus_cost), deposits,
withdrawals, and the number of ledger transactions counted.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models

MONEY = {"max_digits": 16, "decimal_places": 2, "default": Decimal("0.00")}


class GamingRevenue:
    """GGR and NGR from ``stakes``, ``wins`` and ``bonus_cost``: one definition for the stored
    daily rows and the read side's sums (``reports.selectors.Figures``)."""

    @property
    def ggr(self) -> Decimal:
        return self.stakes - self.wins

    @property
    def ngr(self) -> Decimal:
        return self.ggr - self.bonus_cost


class DailyFigure(GamingRevenue, models.Model):
    class Product(models.TextChoices):
        SLOTS = "slots", "Slots"
        SPORTSBOOK = "sportsbook", "Sportsbook"
        PROMOTIONS = "promotions", "Promotions"
        PAYMENTS = "payments", "Payments"

    day = models.DateField()
    product = models.CharField(max_length=12, choices=Product.choices)
    game = models.ForeignKey("casino.Game", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    vendor = models.ForeignKey("casino.Vendor", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    stakes = models.DecimalField(**MONEY)
    wins = models.DecimalField(**MONEY)
    bonus_cost = models.DecimalField(**MONEY)
    deposits = models.DecimalField(**MONEY)
    withdrawals = models.DecimalField(**MONEY)
    transactions = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["day", "product", "game_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["day", "product", "game", "vendor"], name="daily_figure_unique", nulls_distinct=False
            ),
        ]
        indexes = [models.Index(fields=["product", "day"], name="daily_figure_product_day_idx")]
        permissions = [("view_reports", "Can see the operator reports and export them")]

    def __str__(self) -> str:
        return f"{self.day} {self.product} {self.game_id or ''}"


class RollupState(models.Model):
    """The roll-up's watermark (one row, id 1)."""

    rolled_through_tx = models.BigIntegerField(default=0, help_text="highest ledger transaction id rolled up")
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_run_days = models.PositiveIntegerField(default=0)
    last_run_seconds = models.FloatField(default=0)

    def __str__(self) -> str:
        return f"rolled up through transaction {self.rolled_through_tx}"
