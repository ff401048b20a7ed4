from collections.abc import Callable
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper

from core.models import TimeStamped, Versioned

MONEY = {"max_digits": 14, "decimal_places": 2}


class PromotionCode(Versioned, TimeStamped):
    """A code staff issue. It is a *factory*: it decides whether a redemption may
    be created and is never written when one is (no counter, no version bump)."""

    class RewardKind(models.TextChoices):
        BONUS = "bonus", "Bonus money"
        FREE_SPINS = "free_spins", "Free spins"

    class PaysAs(models.TextChoices):
        CASH = "cash", "Cash (withdrawable at once)"
        BONUS = "bonus", "Bonus funds (with wagering terms)"

    class LimitPolicy(models.TextChoices):
        UNLIMITED = "unlimited", "Unlimited"
        STRICT = "strict", "Strict (never over the limit)"
        OVERBOOK = "overbook", "Overbook (small reported overshoot)"

    code = models.CharField(max_length=40, help_text="Stored upper-case, without spaces")
    campaign = models.CharField(max_length=100, blank=True, db_index=True)
    reward_kind = models.CharField(max_length=12, choices=RewardKind.choices, default=RewardKind.BONUS)
    bonus_amount = models.DecimalField(**MONEY, null=True, blank=True)
    free_spins_game = models.ForeignKey(
        "casino.Game", null=True, blank=True, on_delete=models.PROTECT, related_name="promotion_codes"
    )
    free_spins_count = models.PositiveIntegerField(null=True, blank=True)
    free_spin_stake = models.DecimalField(**MONEY, null=True, blank=True)
    # How a bonus-money reward is paid (issue 16). Bonus funds come with the terms below,
    # shown to the player before redeeming; cash codes leave them empty.
    pays_as = models.CharField(
        "Pays as", max_length=5, choices=PaysAs.choices, default=PaysAs.CASH, db_default=PaysAs.CASH
    )
    wagering_multiple = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Wagering required = this x the bonus (1 to 10)"
    )
    bonus_max_stake = models.DecimalField("Maximum stake while wagering", **MONEY, null=True, blank=True)
    bonus_valid_days = models.PositiveSmallIntegerField(
        "Bonus valid for (days)", null=True, blank=True, help_text="From the redemption until the bonus expires"
    )
    bonus_conversion_cap = models.DecimalField(
        "Conversion cap", **MONEY, null=True, blank=True, help_text="Most cash the bonus can become (empty: no cap)"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    limit_policy = models.CharField(max_length=10, choices=LimitPolicy.choices, default=LimitPolicy.UNLIMITED)
    limit = models.PositiveIntegerField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(Upper("code"), name="promotion_code_unique_ci"),
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="promotion_code_window"),
            models.CheckConstraint(
                condition=Q(limit_policy="unlimited", limit__isnull=True)
                | (~Q(limit_policy="unlimited") & Q(limit__gte=1)),
                name="promotion_code_limit_matches_policy",
            ),
            models.CheckConstraint(
                condition=(Q(reward_kind="bonus") & Q(bonus_amount__gt=0))
                | (
                    Q(reward_kind="free_spins")
                    & Q(free_spins_game__isnull=False)
                    & Q(free_spins_count__gte=1)
                    & Q(free_spin_stake__gt=0)
                ),
                name="promotion_code_reward_complete",
            ),
            models.CheckConstraint(
                condition=Q(pays_as="cash")
                | (
                    Q(pays_as="bonus", reward_kind="bonus")
                    # isnull=False: a CHECK lets NULL through (NULL >= 1 is NULL, not false)
                    & Q(wagering_multiple__isnull=False, wagering_multiple__gte=1, wagering_multiple__lte=10)
                    & Q(bonus_max_stake__isnull=False, bonus_max_stake__gt=0)
                    & Q(bonus_valid_days__isnull=False, bonus_valid_days__gte=1)
                    & (Q(bonus_conversion_cap__isnull=True) | Q(bonus_conversion_cap__gt=0))
                ),
                name="promotion_code_bonus_terms_complete",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def reward_text(self) -> str:
        """The reward with bare amounts ("20.00 bonus"), as the admin and the CSV export show it."""
        return self.describe_reward(str)

    def describe_reward(self, amount: Callable[[Decimal], str]) -> str:
        """The reward in words, each amount written by ``amount`` (players see ``format_money``)."""
        if self.reward_kind == self.RewardKind.BONUS:
            if self.pays_as == self.PaysAs.BONUS:
                return f"{amount(self.bonus_amount)} bonus funds ({self.describe_terms(amount)})"
            return f"{amount(self.bonus_amount)} bonus"
        return f"{self.free_spins_count} free spins of {amount(self.free_spin_stake)} on {self.free_spins_game}"

    def describe_terms(self, amount: Callable[[Decimal], str]) -> str:
        """The bonus terms in one line, shown up front (before redeeming)."""
        terms = [
            f"wager {self.wagering_multiple}x",
            f"max stake {amount(self.bonus_max_stake)}",
            f"{self.bonus_valid_days} days",
        ]
        if self.bonus_conversion_cap:
            terms.append(f"converts to at most {amount(self.bonus_conversion_cap)}")
        return ", ".join(terms)


class Redemption(TimeStamped):
    """Its own short-lived aggregate, identified by (code, player): the unique
    constraint is what stops a second redemption, not a check in code."""

    code = models.ForeignKey(PromotionCode, on_delete=models.PROTECT, related_name="redemptions")
    player = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="redemptions")
    reward_kind = models.CharField(max_length=12, choices=PromotionCode.RewardKind.choices)
    bonus_amount = models.DecimalField(**MONEY, default=Decimal("0.00"))
    free_spins_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["code", "player"], name="one_redemption_per_player")]

    def __str__(self) -> str:
        return f"{self.code} by {self.player}"

    @property
    def ledger_key(self) -> str:
        return f"redemption:{self.code.code}:{self.player_id}"


class LimitToken(TimeStamped):
    """One row per unit of a ``strict`` code's limit. A redeemer claims any free
    token with ``FOR UPDATE SKIP LOCKED``, so redeemers do not queue on one row
    and the limit can never be exceeded."""

    code = models.ForeignKey(PromotionCode, on_delete=models.CASCADE, related_name="limit_tokens")
    slot = models.PositiveIntegerField()
    redemption = models.OneToOneField(
        Redemption, null=True, blank=True, on_delete=models.PROTECT, related_name="limit_token"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["code", "slot"], name="limit_token_slot_unique")]
        indexes = [
            models.Index(fields=["code", "slot"], condition=Q(redemption__isnull=True), name="limit_token_free_idx")
        ]

    def __str__(self) -> str:
        return f"{self.code} token {self.slot}"
