from collections.abc import Callable
from decimal import Decimal

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


class PaysAs(models.TextChoices):
    CASH = "cash", "Cash"
    BONUS = "bonus", "Bonus funds"


def bonus_terms_constraint(name: str) -> models.CheckConstraint:
    """Cash carries no terms; only cashback may pay bonus funds, and then with all its terms
    (the regulator's cap: wagering at most 10x; the setting may lower it in the service)."""
    return models.CheckConstraint(
        condition=Q(
            pays_as="cash",
            wagering_multiple__isnull=True,
            bonus_max_stake__isnull=True,
            bonus_valid_days__isnull=True,
            bonus_conversion_cap__isnull=True,
        )
        | (
            Q(pays_as="bonus", kind="cashback")
            # NULL > 0 is NULL, which a CHECK lets through: every term is named not null too.
            & Q(wagering_multiple__isnull=False, wagering_multiple__gte=1, wagering_multiple__lte=10)
            & Q(bonus_max_stake__isnull=False, bonus_max_stake__gt=0)
            & Q(bonus_valid_days__isnull=False, bonus_valid_days__gte=1)
            & (Q(bonus_conversion_cap__isnull=True) | Q(bonus_conversion_cap__gt=0))
        ),
        name=name,
    )


class CashbackTerms(models.Model):
    """How a promotion's money reward is paid (issue 16): cash, or bonus funds with these
    terms. Only cashback pays money; free spins and win boosts always pay cash."""

    pays_as = models.CharField(
        "Pays as",
        max_length=5,
        choices=PaysAs.choices,
        default=PaysAs.CASH,
        db_default=PaysAs.CASH,
        help_text="Cashback only: cash (withdrawable at once) or bonus funds with the wagering terms. "
        "Free spins and win boosts always pay cash.",
    )
    wagering_multiple = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Wagering required = this x the cashback (1 to 10)"
    )
    bonus_max_stake = models.DecimalField("Maximum stake while wagering", **MONEY, null=True, blank=True)
    bonus_valid_days = models.PositiveSmallIntegerField(
        "Bonus valid for (days)", null=True, blank=True, help_text="From the session's close until the bonus expires"
    )
    bonus_conversion_cap = models.DecimalField(
        "Conversion cap", **MONEY, null=True, blank=True, help_text="Most cash the bonus can become (empty: no cap)"
    )

    class Meta:
        abstract = True

    @property
    def pays_bonus(self) -> bool:
        return self.pays_as == PaysAs.BONUS

    def describe_terms(self, amount: Callable[[Decimal], str]) -> str:
        """The bonus terms in one line ("wager 5x, max stake €2.00, 7 days"), each amount
        written by ``amount``; empty for cash."""
        if not self.pays_bonus:
            return ""
        terms = [
            f"wager {self.wagering_multiple}x",
            f"max stake {amount(self.bonus_max_stake)}",
            f"{self.bonus_valid_days} day{'s' if self.bonus_valid_days != 1 else ''}",
        ]
        if self.bonus_conversion_cap:
            terms.append(f"converts to at most {amount(self.bonus_conversion_cap)}")
        return ", ".join(terms)


class VendorPromotion(CashbackTerms, TimeStamped):
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
            bonus_terms_constraint("vendor_promotion_bonus_terms_complete"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.starts_at:%Y-%m-%d %H:%M} – {self.ends_at:%m-%d %H:%M}"


class PromotionHistory(CashbackTerms, TimeStamped):
    """Expired vendor promotions: the source of truth for the past (their cashback terms too)."""

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
        constraints = [bonus_terms_constraint("promotion_history_bonus_terms_complete")]

    def __str__(self) -> str:
        return f"{self.vendor}: {self.get_kind_display()} {self.starts_at:%Y-%m-%d} – {self.ends_at:%Y-%m-%d}"
