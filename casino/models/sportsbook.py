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


class Market(Versioned, TimeStamped):
    """One market of an event (issue 18: several per event). A trader suspends and reopens
    it (``status``, a versioned write): a suspended market takes no bets and offers no early
    cash-out, and a bet placed while it was being suspended either committed first or is
    refused (bets share-lock the market row)."""

    class Kind(models.TextChoices):
        MATCH_RESULT = "match_result", "Match result"
        OVER_UNDER = "over_under", "Over/under goals"
        BTTS = "btts", "Both teams to score"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        SUSPENDED = "suspended", "Suspended"

    event = models.ForeignKey(SportEvent, on_delete=models.CASCADE, related_name="markets")
    name = models.CharField(max_length=100, default="Match result")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.MATCH_RESULT, db_default="match_result")
    line = models.DecimalField(
        max_digits=4, decimal_places=1, null=True, blank=True, help_text="Goals line of an over/under market, e.g. 2.5"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN, db_default="open")
    max_stake = models.DecimalField(**MONEY, default=Decimal("500.00"))

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=Q(max_stake__gt=0), name="market_max_stake_positive")]

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN

    def __str__(self) -> str:
        return f"{self.event}: {self.name}"


class Selection(Versioned, TimeStamped):
    """A price. Traders change ``odds`` through ``casino.services`` (a versioned write that
    records an ``OddsChange``). ``max_liability`` (issue 18): the most the book may lose on
    this selection, potential returns minus stakes of its open bets (None: no limit);
    ``liability_mode`` how it is enforced (``casino.services.liability``)."""

    class Result(models.TextChoices):
        PENDING = "pending", "Pending"
        WON = "won", "Won"
        LOST = "lost", "Lost"
        VOID = "void", "Void"

    class LiabilityMode(models.TextChoices):
        STRICT = "strict", "Strict (never exceeded)"
        OVERBOOK = "overbook", "Overbook (a measured tolerance)"

    market = models.ForeignKey(Market, on_delete=models.CASCADE, related_name="selections")
    name = models.CharField(max_length=100)
    odds = models.DecimalField(**ODDS)
    result = models.CharField(max_length=10, choices=Result.choices, default=Result.PENDING)
    max_liability = models.DecimalField(**MONEY, null=True, blank=True)
    liability_mode = models.CharField(
        max_length=10, choices=LiabilityMode.choices, default=LiabilityMode.STRICT, db_default="strict"
    )

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=Q(odds__gt=1), name="selection_odds_above_one")]

    def __str__(self) -> str:
        return f"{self.name} @ {self.odds}"


class OddsChange(TimeStamped):
    """A trader's price change (issue 18): who, when, old -> new. Written in the same
    transaction as the change itself."""

    selection = models.ForeignKey(Selection, on_delete=models.CASCADE, related_name="odds_changes")
    old_odds = models.DecimalField(**ODDS)
    new_odds = models.DecimalField(**ODDS)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.selection_id}: {self.old_odds} -> {self.new_odds}"


class Sportsbet(Versioned, TimeStamped):
    """A bet. The stake left the account when it was placed; the odds are frozen here.
    Settled once: ``open`` -> won/lost/void/cashed_out by a versioned (or ``WHERE status =
    'open'``) write.

    A single has its ``selection``; an accumulator (issue 18) has none and 2-10 ``legs``
    (``BetLeg``), one per event, and ``odds`` is their combined price."""

    class Kind(models.TextChoices):
        SINGLE = "single", "Single"
        ACCUMULATOR = "accumulator", "Accumulator"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        WON = "won", "Won"
        LOST = "lost", "Lost"
        VOID = "void", "Void"
        CASHED_OUT = "cashed_out", "Cashed out"

    player = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sportsbets")
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.SINGLE, db_default="single")
    selection = models.ForeignKey(Selection, null=True, blank=True, on_delete=models.PROTECT, related_name="bets")
    odds = models.DecimalField(**ODDS)
    stake = models.DecimalField(**MONEY)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    idempotency_key = models.CharField(max_length=100)
    settled_at = models.DateTimeField(null=True, blank=True)
    # Early cash-out (issue 18): what was paid for the bet before it settled (a queued payout).
    cash_out_amount = models.DecimalField(**MONEY, null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["player", "idempotency_key"], name="sportsbet_idempotency_per_player"),
            models.CheckConstraint(condition=Q(stake__gt=0), name="sportsbet_stake_positive"),
            models.CheckConstraint(
                condition=Q(kind="single", selection__isnull=False) | Q(kind="accumulator", selection__isnull=True),
                name="sportsbet_single_has_selection",
            ),
        ]

    def __str__(self) -> str:
        return f"Bet #{self.pk} {self.stake} on {self.selection}"

    def get_absolute_url(self) -> str:
        return reverse("bet_detail", args=[self.pk])

    @property
    def potential_return(self) -> Decimal:
        # Half-up to the cent: the same rounding settlement uses (PostgreSQL round()).
        return potential_return(self.stake, self.odds)


class BetLeg(TimeStamped):
    """One leg of an accumulator (issue 18): its selection at the price taken. ``event`` is
    the selection's event (kept here: one leg per event, a unique constraint, since two legs
    of one match are correlated). ``result`` is set when that event settles; a void leg
    counts at 1.00."""

    bet = models.ForeignKey(Sportsbet, on_delete=models.PROTECT, related_name="legs")
    selection = models.ForeignKey(Selection, on_delete=models.PROTECT, related_name="legs")
    event = models.ForeignKey(SportEvent, on_delete=models.PROTECT, related_name="legs")
    odds = models.DecimalField(**ODDS)
    result = models.CharField(max_length=10, choices=Selection.Result.choices, default=Selection.Result.PENDING)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["bet", "event"], name="bet_leg_one_per_event"),
            models.CheckConstraint(condition=Q(odds__gt=1), name="bet_leg_odds_above_one"),
        ]
        indexes = [models.Index(fields=["event", "result"], name="bet_leg_event_result_idx")]

    def __str__(self) -> str:
        return f"Leg of bet #{self.bet_id}: {self.selection_id} @ {self.odds} ({self.result})"


class LiabilityShard(models.Model):
    """One shard of a selection's liability counter (issue 18, ``casino.services.liability``):
    open exposure (potential return - stake) is added to one shard per bet, so bets on one hot
    selection do not all write one row; strict mode gives each shard an equal share of
    ``Selection.max_liability`` and adds with a conditional UPDATE, so the sum never exceeds it."""

    selection = models.ForeignKey(Selection, on_delete=models.CASCADE, related_name="liability_shards")
    shard = models.PositiveSmallIntegerField()
    reserved = models.DecimalField(**MONEY, default=Decimal("0.00"))

    class Meta:
        ordering = ["selection", "shard"]
        constraints = [models.UniqueConstraint(fields=["selection", "shard"], name="liability_shard_unique")]

    def __str__(self) -> str:
        return f"selection {self.selection_id} shard {self.shard}: {self.reserved}"


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
        CASH_OUT = "cash_out", "Early cash-out"

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
