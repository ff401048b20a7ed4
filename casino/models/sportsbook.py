from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse

from casino.odds import potential_return
from core.models import TimeStamped, Versioned

MONEY = {"max_digits": 14, "decimal_places": 2}
ODDS = {"max_digits": 8, "decimal_places": 2}


class SportEvent(Versioned, TimeStamped):
    """A match. Settling it is a versioned status change, so it happens once."""

    class Status(models.TextChoices):
        OPEN = "open", "Open for bets"
        SETTLED = "settled", "Settled"

    name = models.CharField(max_length=200)
    sport = models.CharField(max_length=50, default="Football")
    starts_at = models.DateTimeField(db_index=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["starts_at", "id"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("sportsbook")


class Market(TimeStamped):
    event = models.ForeignKey(SportEvent, on_delete=models.CASCADE, related_name="markets")
    name = models.CharField(max_length=100, default="Match result")
    max_stake = models.DecimalField(**MONEY, default=Decimal("500.00"))

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=Q(max_stake__gt=0), name="market_max_stake_positive")]

    def __str__(self) -> str:
        return f"{self.event}: {self.name}"


class Selection(TimeStamped):
    class Result(models.TextChoices):
        PENDING = "pending", "Pending"
        WON = "won", "Won"
        LOST = "lost", "Lost"
        VOID = "void", "Void"

    market = models.ForeignKey(Market, on_delete=models.CASCADE, related_name="selections")
    name = models.CharField(max_length=100)
    odds = models.DecimalField(**ODDS)
    result = models.CharField(max_length=10, choices=Result.choices, default=Result.PENDING)

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=Q(odds__gt=1), name="selection_odds_above_one")]

    def __str__(self) -> str:
        return f"{self.name} @ {self.odds}"


class Sportsbet(Versioned, TimeStamped):
    """A single bet. The stake left the account when it was placed; the odds
    are frozen here. Settled once: ``open`` -> won/lost/void by a versioned write."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        WON = "won", "Won"
        LOST = "lost", "Lost"
        VOID = "void", "Void"

    player = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sportsbets")
    selection = models.ForeignKey(Selection, on_delete=models.PROTECT, related_name="bets")
    odds = models.DecimalField(**ODDS)
    stake = models.DecimalField(**MONEY)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    idempotency_key = models.CharField(max_length=100)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["player", "idempotency_key"], name="sportsbet_idempotency_per_player"),
            models.CheckConstraint(condition=Q(stake__gt=0), name="sportsbet_stake_positive"),
        ]

    def __str__(self) -> str:
        return f"Bet #{self.pk} {self.stake} on {self.selection}"

    def get_absolute_url(self) -> str:
        return reverse("bet_detail", args=[self.pk])

    @property
    def potential_return(self) -> Decimal:
        # Half-up to the cent: the same rounding settlement uses (PostgreSQL round()).
        return potential_return(self.stake, self.odds)


class Payout(Versioned, TimeStamped):
    """Money owed to a player for a settled bet (a win, or a void's refund).

    Queued, not pushed into the account: Celery pays it when the player is not
    in a game session. One per bet (unique), paid once (conditional update).
    """

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        PAID = "paid", "Paid"

    class Kind(models.TextChoices):
        WIN = "win", "Winnings"
        REFUND = "refund", "Void refund"

    bet = models.OneToOneField(Sportsbet, on_delete=models.PROTECT, related_name="payout")
    player = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payouts")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.WIN)
    amount = models.DecimalField(**MONEY)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payout_amount_positive"),
            models.CheckConstraint(
                condition=Q(state="queued", paid_at__isnull=True) | Q(state="paid", paid_at__isnull=False),
                name="payout_paid_at_matches_state",
            ),
        ]
        indexes = [
            models.Index(fields=["player"], condition=Q(state="queued"), name="payout_queued_by_player_idx"),
        ]

    def __str__(self) -> str:
        return f"Payout #{self.pk} {self.amount} ({self.state})"

    @property
    def ledger_key(self) -> str:
        return f"payout:{self.pk}"


class Notice(TimeStamped):
    """A "bet settled" or "payout paid" notice for one player, unseen until shown.

    Written in the same transaction as the settlement or the payout it announces,
    so it survives logging out and changing browsers; shown once on the player's
    next full page view and marked seen by the statement that reads it
    (``casino.notices``). One per bet and kind: settlement and payment happen once.
    """

    class Kind(models.TextChoices):
        BET_SETTLED = "settled", "Bet settled"
        PAYOUT_PAID = "paid", "Payout paid"

    player = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notices")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    bet = models.ForeignKey(Sportsbet, on_delete=models.CASCADE, related_name="notices")
    amount = models.DecimalField(**MONEY, null=True, blank=True)  # the payout's amount (paid notices)
    seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["bet", "kind"], name="notice_once_per_bet_and_kind"),
        ]
        indexes = [
            models.Index(fields=["player"], condition=Q(seen_at__isnull=True), name="notice_unseen_by_player_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for bet #{self.bet_id} ({'seen' if self.seen_at else 'unseen'})"
