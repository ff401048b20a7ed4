from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from accounts.versioning import Versioned


class TimeStamped(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class User(AbstractUser):
    """Players and staff are both users; staff have ``is_staff`` and groups."""

    created_at = models.DateTimeField(auto_now_add=True, null=True)
    updated_at = models.DateTimeField(auto_now=True, null=True)

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"

    def __str__(self) -> str:
        return self.username


class Account(Versioned, TimeStamped):
    """A player's money account: the hottest aggregate, written only by versioned updates."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="account")
    balance = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"), editable=False)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="account_balance_non_negative"),
        ]

    def __str__(self) -> str:
        return f"Account of {self.user} ({self.balance})"

    def get_absolute_url(self) -> str:
        return reverse("wallet")

    @property
    def ledger_code(self) -> str:
        return ledger_code_for_player(self.user_id)


def ledger_code_for_player(user_id: int) -> str:
    return f"player:{user_id}"


class LedgerTransaction(models.Model):
    """One balanced movement of money; the idempotency key makes it happen once."""

    class Kind(models.TextChoices):
        DEPOSIT = "deposit", "Deposit"
        WITHDRAWAL = "withdrawal", "Withdrawal"
        FEED = "feed", "Feed a game session"
        SPIN = "spin", "Spin"
        CASH_OUT = "cash_out", "Session cash-out"
        BET_STAKE = "bet_stake", "Sportsbet stake"
        PAYOUT = "payout", "Sportsbet payout"
        REDEMPTION = "redemption", "Promotion code reward"
        PROMOTION = "promotion", "Vendor promotion effect"
        ADJUSTMENT = "adjustment", "Staff adjustment"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    idempotency_key = models.CharField(max_length=200, unique=True)
    reference = models.CharField(max_length=100, blank=True, help_text="What caused it, e.g. spin:42")
    description = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()} ({self.idempotency_key})"


class LedgerEntry(models.Model):
    """One leg of a transaction. ``account`` names a ledger account:
    ``player:<user id>``, ``session:<id>`` or ``system:<name>``. System accounts
    keep no stored balance (their balance is a SUM), so they are never hot rows.
    """

    transaction = models.ForeignKey(LedgerTransaction, on_delete=models.PROTECT, related_name="entries")
    account = models.CharField(max_length=64)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["account", "-id"], name="ledger_entry_account_idx")]
        constraints = [models.CheckConstraint(condition=~Q(amount=0), name="ledger_entry_non_zero")]
        verbose_name_plural = "ledger entries"

    def __str__(self) -> str:
        return f"{self.account} {self.amount:+}"


class AuditLog(models.Model):
    """Who did what, when: written in the same transaction as every staff action."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=100)
    target = models.CharField(max_length=200)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.target}"


class ResponsibleGamingProfile(Versioned, TimeStamped):
    """A player's deposit limits, one row per player.

    ``<period>_limit`` is the limit in force (null: none). A raise (or removal)
    waits out a cooling-off period in ``<period>_pending`` (null with a date:
    removal) until ``<period>_pending_at``. The row is versioned: every deposit
    check and every change bumps it, so two deposits racing past a limit, or a
    deposit racing a self-exclusion, conflict and retry against fresh totals.
    """

    player = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="rg_profile")
    daily_limit = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True, editable=False)
    daily_pending = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True, editable=False)
    daily_pending_at = models.DateTimeField(null=True, blank=True, editable=False)
    weekly_limit = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True, editable=False)
    weekly_pending = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True, editable=False)
    weekly_pending_at = models.DateTimeField(null=True, blank=True, editable=False)
    monthly_limit = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True, editable=False)
    monthly_pending = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True, editable=False)
    monthly_pending_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "responsible-gaming profile"
        constraints = [
            models.CheckConstraint(
                condition=(Q(daily_limit__isnull=True) | Q(daily_limit__gt=0))
                & (Q(weekly_limit__isnull=True) | Q(weekly_limit__gt=0))
                & (Q(monthly_limit__isnull=True) | Q(monthly_limit__gt=0)),
                name="rg_limits_positive",
            ),
            models.CheckConstraint(
                condition=(Q(daily_pending__isnull=True) | Q(daily_pending_at__isnull=False))
                & (Q(weekly_pending__isnull=True) | Q(weekly_pending_at__isnull=False))
                & (Q(monthly_pending__isnull=True) | Q(monthly_pending_at__isnull=False)),
                name="rg_pending_has_date",
            ),
        ]

    def __str__(self) -> str:
        return f"Responsible gaming: {self.player}"


class SelfExclusion(TimeStamped):
    """A period in which the player may not deposit, play or bet.

    Immutable once made: nobody (player or staff) can end it early.
    """

    class Kind(models.TextChoices):
        BREAK = "break", "Take a break"
        EXCLUSION = "exclusion", "Self-exclusion"

    player = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="self_exclusions")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-ends_at"]
        indexes = [models.Index(fields=["player", "-ends_at"], name="self_exclusion_player_idx")]
        constraints = [models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="self_exclusion_period")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.player} until {self.ends_at:%Y-%m-%d %H:%M}"

    def is_active(self, now=None) -> bool:
        now = now or timezone.now()
        return self.starts_at <= now < self.ends_at
