from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import RangeOperators
from django.db import models
from django.db.models import F, Func, Q

from casino.models import Vendor
from core.models import TimeStamped

MONEY = {"max_digits": 14, "decimal_places": 2}
PERCENT = {"max_digits": 5, "decimal_places": 2}


class TsTzRange(Func):
    function = "TSTZRANGE"
    output_field = models.DateTimeField()  # only used inside the constraint


class PromotionKind(models.TextChoices):
    FREE_SPINS = "free_spins", "Free spins"
    WIN_BOOST = "win_boost", "Win boost"
    CASHBACK = "cashback", "Cashback"


class VendorPromotion(TimeStamped):
    """An active or future promotion of a vendor (expired ones move to
    ``PromotionHistory``). Window is half-open: [starts_at, ends_at)."""

    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="promotions")
    kind = models.CharField(max_length=12, choices=PromotionKind.choices)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    free_spins_count = models.PositiveIntegerField(null=True, blank=True)
    free_spin_stake = models.DecimalField(**MONEY, null=True, blank=True)
    percent = models.DecimalField(**PERCENT, null=True, blank=True, help_text="Boost or cashback percentage")

    class Meta:
        ordering = ["starts_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="vendor_promotion_window"),
            ExclusionConstraint(
                name="vendor_promotion_one_per_kind",
                expressions=[
                    ("vendor", RangeOperators.EQUAL),
                    ("kind", RangeOperators.EQUAL),
                    (TsTzRange("starts_at", "ends_at", models.Value("[)")), RangeOperators.OVERLAPS),
                ],
            ),
            models.CheckConstraint(
                condition=(Q(kind="free_spins") & Q(free_spins_count__gte=1) & Q(free_spin_stake__gt=0))
                | (Q(kind__in=["win_boost", "cashback"]) & Q(percent__gt=0) & Q(percent__lte=100)),
                name="vendor_promotion_params_match_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.starts_at:%Y-%m-%d %H:%M} – {self.ends_at:%m-%d %H:%M}"


class PromotionHistory(TimeStamped):
    """Expired vendor promotions: the source of truth for the past."""

    original_id = models.BigIntegerField(unique=True)
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="promotion_history")
    kind = models.CharField(max_length=12, choices=PromotionKind.choices)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    free_spins_count = models.PositiveIntegerField(null=True, blank=True)
    free_spin_stake = models.DecimalField(**MONEY, null=True, blank=True)
    percent = models.DecimalField(**PERCENT, null=True, blank=True)
    promotion_created_at = models.DateTimeField()
    archived_at = models.DateTimeField()

    class Meta:
        ordering = ["-ends_at"]
        verbose_name_plural = "promotion history"

    def __str__(self) -> str:
        return f"{self.vendor}: {self.get_kind_display()} {self.starts_at:%Y-%m-%d} – {self.ends_at:%Y-%m-%d}"
