from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.urls import reverse

from core.models import TimeStamped, Versioned


class User(AbstractUser):
    """Players and staff are both users; staff have ``is_staff`` and groups."""

    class OddsFormat(models.TextChoices):
        # The values are the styles casino.odds.format_odds knows.
        DECIMAL = "decimal", "Decimal (2.50)"
        FRACTIONAL = "fractional", "Fractional (3/2)"
        AMERICAN = "american", "American (+150)"

    odds_format = models.CharField("Odds format", max_length=10, choices=OddsFormat.choices, default=OddsFormat.DECIMAL)
    created_at = models.DateTimeField(auto_now_add=True, null=True)
    updated_at = models.DateTimeField(auto_now=True, null=True)

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        constraints = [
            # The sign-up form refuses "Alice" when "alice" exists; this makes two racing
            # sign-ups unable to get past it either (the form's check is only a fast path).
            models.UniqueConstraint(Lower("username"), name="user_username_unique_ci"),
        ]

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
        BONUS_GRANT = "bonus_grant", "Bonus funds granted"
        BONUS_CONVERSION = "bonus_conversion", "Bonus converted to cash"
        BONUS_END = "bonus_end", "Bonus ended (expired, forfeited, cancelled)"

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
    ``player:<user id>``, ``session:<id>``, ``sessionbonus:<id>``, ``bonus:<grant id>``
    or ``system:<name>``. System accounts
    keep no stored balance (their balance is a SUM), so they are never hot rows.

    Issue 20: the table is partitioned by the UTC month of ``created_at`` (migration 0007,
    ``core.partitions``); the database's primary key is (id, created_at), ``id`` stays Django's.
    A read of one month (``created_at`` in [start, next start)) reads one partition.
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
