"""Bonus money with wagering requirements (issue 16).

A ``BonusGrant`` is one reward paid as bonus funds: its money sits in its own ledger
account ``bonus:<grant id>`` (``balance``, reconciled like the player accounts), never
mixed with cash. It turns into cash once ``wagering_done`` reaches ``wagering_required``.

No new hot row: a spin never writes a grant. Play accumulates its contribution on the
game session, and leaving folds it into the grants (oldest first) in the cash-out's
transaction. A grant is written when it is made, when bonus money is fed into a machine
or comes back from one, and when it ends (converted, expired, forfeited, cancelled).
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse

from core.models import TimeStamped, Versioned

MONEY = {"max_digits": 14, "decimal_places": 2}
WAGERING = {"max_digits": 18, "decimal_places": 4}


class BonusGrant(Versioned, TimeStamped):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        COMPLETED = "completed", "Completed (converted to cash)"
        SPENT = "spent", "Spent (the bonus money was lost in play)"
        EXPIRED = "expired", "Expired"
        FORFEITED = "forfeited", "Forfeited by the player"
        CANCELLED = "cancelled", "Cancelled by staff"

    class Product(models.TextChoices):
        SLOTS = "slots", "Slots"

    player = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="bonus_grants")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    product = models.CharField(max_length=10, choices=Product.choices, default=Product.SLOTS)
    amount = models.DecimalField(**MONEY, editable=False, help_text="Bonus money granted")
    balance = models.DecimalField(
        **MONEY, editable=False, help_text="Bonus money held now (not counting a machine it was fed into)"
    )
    wagering_multiple = models.PositiveSmallIntegerField(editable=False)
    wagering_required = models.DecimalField(**WAGERING, editable=False)
    wagering_done = models.DecimalField(**WAGERING, default=Decimal("0"), editable=False)
    max_stake = models.DecimalField(**MONEY, editable=False, help_text="Largest stake per spin while it is active")
    conversion_cap = models.DecimalField(
        **MONEY, null=True, blank=True, editable=False, help_text="Most cash it converts to (empty: no cap)"
    )
    expires_at = models.DateTimeField(db_index=True, editable=False)
    source_key = models.CharField(max_length=200, unique=True, editable=False)
    source = models.CharField(max_length=200, blank=True, editable=False, help_text="The promotion it came from")
    converted = models.DecimalField(**MONEY, default=Decimal("0.00"), editable=False, help_text="Cash it became")
    returned = models.DecimalField(
        **MONEY, default=Decimal("0.00"), editable=False, help_text="Bonus money sent back to the promotions pot"
    )
    ended_at = models.DateTimeField(null=True, blank=True, editable=False)
    end_reason = models.CharField(max_length=200, blank=True, editable=False)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["player", "created_at"], condition=Q(status="active"), name="bonus_grant_active_idx")
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="bonus_grant_amount_positive"),
            models.CheckConstraint(condition=Q(balance__gte=0), name="bonus_grant_balance_non_negative"),
            # The regulator's cap (UK, 19 January 2026): wagering at most 10x the bonus.
            models.CheckConstraint(
                condition=Q(wagering_multiple__lte=10), name="bonus_grant_wagering_multiple_at_most_10"
            ),
            models.CheckConstraint(condition=Q(max_stake__gt=0), name="bonus_grant_max_stake_positive"),
            models.CheckConstraint(
                condition=Q(conversion_cap__isnull=True) | Q(conversion_cap__gt=0), name="bonus_grant_cap_positive"
            ),
            models.CheckConstraint(
                condition=Q(wagering_done__gte=0) & Q(wagering_required__gte=0),
                name="bonus_grant_wagering_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(status="active", ended_at__isnull=True) | (~Q(status="active") & Q(ended_at__isnull=False)),
                name="bonus_grant_ended_at_matches_status",
            ),
            models.CheckConstraint(condition=Q(status="active") | Q(balance=0), name="bonus_grant_ended_holds_nothing"),
        ]

    def __str__(self) -> str:
        return f"Bonus #{self.pk} {self.amount} for {self.player} ({self.get_status_display()})"

    def get_absolute_url(self) -> str:
        return reverse("wallet") + f"#bonus-{self.pk}"

    @property
    def ledger_code(self) -> str:
        return bonus_ledger_code(self.pk)

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    @property
    def wagering_left(self) -> Decimal:
        return max(self.wagering_required - self.wagering_done, Decimal("0"))

    @property
    def progress_percent(self) -> int:
        if self.wagering_required <= 0:
            return 100
        return min(100, int(self.wagering_done * 100 / self.wagering_required))


def bonus_ledger_code(grant_id: int) -> str:
    return f"bonus:{grant_id}"
