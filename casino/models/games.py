from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse

from casino import fair
from core.models import TimeStamped, Versioned

MONEY = {"max_digits": 14, "decimal_places": 2}


class Vendor(Versioned, TimeStamped):
    """A game studio: its games are played here, and it runs promotions on them.
    The aggregate that guards those promotions (``promotions.services.vendors``):
    every change to them bumps this row's version, so concurrent changes serialise."""

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Game(TimeStamped):
    """A slot machine: reel strips, a paytable and a stake range.

    ``reels`` is a list of reel strips (lists of symbol names); ``paytable`` a
    list of ``{"line": [sym, sym, sym], "pays": multiplier}`` rules where a
    symbol may be ``"*"`` (any). The theoretical RTP is computed from both
    (``casino.slots``), never typed in.
    """

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=100)
    vendor = models.ForeignKey(Vendor, null=True, blank=True, on_delete=models.PROTECT, related_name="games")
    description = models.TextField(blank=True)
    min_stake = models.DecimalField(**MONEY)
    max_stake = models.DecimalField(**MONEY)
    reels = models.JSONField()
    paytable = models.JSONField()
    is_active = models.BooleanField(default=True)
    wagering_contribution = models.PositiveSmallIntegerField(
        "Bonus wagering contribution (%)",
        default=100,
        db_default=100,
        help_text="How much of each stake on this game counts towards a bonus's wagering requirement "
        "(0-100). 0: the game does not count, and bonus money cannot be fed into it.",
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(min_stake__gt=0), name="game_min_stake_positive"),
            models.CheckConstraint(
                condition=Q(wagering_contribution__lte=100), name="game_wagering_contribution_percent"
            ),
            models.CheckConstraint(condition=Q(max_stake__gte=F("min_stake")), name="game_stake_range"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("game_detail", args=[self.slug])


class GameVersion(models.Model):
    """A game's reels and paytable as a session plays them (issue 17: provably fair).

    Made when a session opens (one row per distinct content per game, found by its
    digest) and never changed afterwards (a trigger refuses UPDATE): a closed session's
    spins are verified against the version it was played on, whatever the game is now.
    ``digest`` is ``casino.fair.game_digest`` of the reels and paytable.
    """

    game = models.ForeignKey(Game, on_delete=models.PROTECT, related_name="versions")
    digest = models.CharField(max_length=64)
    reels = models.JSONField()
    paytable = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["game", "digest"], name="game_version_digest_unique")]

    def __str__(self) -> str:
        return f"{self.game_id} v{self.pk} ({self.digest[:12]})"


class GameSession(Versioned, TimeStamped):
    """A player at a machine. Bets and wins change only this row (and the
    ledger); the account is touched once when fed and once on leaving."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    class CloseReason(models.TextChoices):
        LEFT = "left", "Player left"
        IDLE = "idle", "Idle timeout"
        STAFF = "staff", "Closed by staff"
        EXCLUSION = "exclusion", "Self-exclusion"
        BREAK = "break", "Player's break"

    player = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="game_sessions")
    game = models.ForeignKey(Game, on_delete=models.PROTECT, related_name="sessions")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    balance = models.DecimalField(**MONEY, default=Decimal("0.00"), editable=False)
    total_fed = models.DecimalField(**MONEY, default=Decimal("0.00"), editable=False)
    total_staked = models.DecimalField(**MONEY, default=Decimal("0.00"), editable=False)
    total_won = models.DecimalField(**MONEY, default=Decimal("0.00"), editable=False)
    cashed_out = models.DecimalField(**MONEY, default=Decimal("0.00"), editable=False)
    spin_count = models.PositiveIntegerField(default=0, editable=False)
    # Database defaults on the bonus columns: rows written by raw SQL that predates them
    # (bench/ yardsticks and bulk loads, operators' scripts) stay valid.
    # Bonus money (issue 16) is held apart from cash: ``sessionbonus:<id>`` in the ledger.
    # It comes from one bonus grant (``bonus_source``, a promotions.BonusGrant id: casino
    # does not import promotions) and goes back to it on leaving. A spin stakes the cash
    # first; its win is split between cash and bonus in proportion to the stake's parts.
    bonus_balance = models.DecimalField(**MONEY, default=Decimal("0.00"), db_default=Decimal("0.00"), editable=False)
    bonus_source = models.PositiveBigIntegerField(null=True, blank=True, editable=False)
    bonus_fed = models.DecimalField(**MONEY, default=Decimal("0.00"), db_default=Decimal("0.00"), editable=False)
    bonus_staked = models.DecimalField(**MONEY, default=Decimal("0.00"), db_default=Decimal("0.00"), editable=False)
    bonus_won = models.DecimalField(**MONEY, default=Decimal("0.00"), db_default=Decimal("0.00"), editable=False)
    bonus_returned = models.DecimalField(**MONEY, default=Decimal("0.00"), db_default=Decimal("0.00"), editable=False)
    # Wagering progress stays here while the session is open (stake x the game's
    # contribution, every paid spin), so a spin never writes a bonus grant; leaving folds
    # it into the player's grants, oldest first, in the cash-out's transaction.
    wagering_contribution = models.DecimalField(
        max_digits=18, decimal_places=4, default=Decimal("0"), db_default=Decimal("0"), editable=False
    )
    # The lowest maximum stake of the player's active bonus grants when the session was
    # opened or last fed (None: no bonus active then). A spin above it is refused.
    bonus_max_stake = models.DecimalField(**MONEY, null=True, blank=True, editable=False)
    last_activity_at = models.DateTimeField(db_index=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    close_reason = models.CharField(max_length=10, choices=CloseReason.choices, blank=True)
    # Provably fair play (issue 17, ``casino.fair``): every spin's stops come from the
    # server seed, the client seed and the spin's nonce. The server seed is secret while
    # the session is open (pages show only ``commitment``; read ``revealed_server_seed``);
    # the client seed may be changed by the player until the first spin. Sessions closed
    # before issue 17 have neither (NULL): they cannot be verified.
    server_seed = models.CharField(max_length=64, null=True, blank=True, default=fair.new_server_seed, editable=False)
    client_seed = models.CharField(
        max_length=64, blank=True, default=fair.new_client_seed, db_default="", editable=False
    )
    game_version = models.ForeignKey(
        GameVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="sessions", editable=False
    )

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="session_balance_non_negative"),
            models.CheckConstraint(condition=Q(bonus_balance__gte=0), name="session_bonus_balance_non_negative"),
            models.UniqueConstraint(fields=["player"], condition=Q(status="open"), name="one_open_session_per_player"),
            models.CheckConstraint(
                condition=Q(status="open", closed_at__isnull=True) | Q(status="closed", closed_at__isnull=False),
                name="session_closed_at_matches_status",
            ),
        ]

    def __str__(self) -> str:
        return f"Session #{self.pk} {self.player} @ {self.game} ({self.status})"

    def get_absolute_url(self) -> str:
        return reverse("session_detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN

    @property
    def ledger_code(self) -> str:
        return f"session:{self.pk}"

    @property
    def bonus_ledger_code(self) -> str:
        return f"sessionbonus:{self.pk}"

    @property
    def commitment(self) -> str:
        """SHA-256 of the server seed: shown from the start, proves the seed was fixed."""
        return fair.commitment(self.server_seed) if self.server_seed else ""

    @property
    def revealed_server_seed(self) -> str:
        """The server seed once the session is closed; "" while it is open. Pages and
        exports read this, never ``server_seed``."""
        if self.is_open:
            return ""
        return self.server_seed or ""

    @property
    def provably_fair(self) -> bool:
        return bool(self.server_seed and self.game_version_id)

    @property
    def next_nonce(self) -> int:
        return self.spin_count + 1

    @property
    def playable(self) -> Decimal:
        """Cash and bonus in the machine: what a stake may come from."""
        return self.balance + self.bonus_balance

    @property
    def net_result(self) -> Decimal:
        """Player's result so far: wins minus stakes."""
        return self.total_won - self.total_staked


class SpinQuerySet(models.QuerySet):
    def of_session(self, session: GameSession) -> SpinQuerySet:
        """The spins of ``session``, read from its month's partition only (issue 20)."""
        return self.filter(session_id=session.pk, session_month=Spin.month_of_session(session.created_at))


class Spin(TimeStamped):
    """One spin in a session; the (session, idempotency key) pair makes a
    replayed click return the same spin.

    Issue 20: the table is partitioned by month on ``session_month``, the month the session
    opened in (``Spin.month_of_session``), so all of a session's spins sit in one partition and the
    unique keys, which must hold the partition key, stay exactly per session. Whoever inserts a
    spin sets it (``casino.services.spin``; raw SQL: ``date_trunc('month', session.created_at AT
    TIME ZONE 'UTC')::date``). The database's primary key is (id, session_month)."""

    session = models.ForeignKey(GameSession, on_delete=models.PROTECT, related_name="spins")
    session_month = models.DateField(
        editable=False, help_text="First day of the UTC month the session opened in: the partition key"
    )
    idempotency_key = models.CharField(max_length=100)
    stake = models.DecimalField(**MONEY)
    win = models.DecimalField(**MONEY, default=Decimal("0.00"))
    boost = models.DecimalField(**MONEY, default=Decimal("0.00"), help_text="Extra paid by a vendor win boost")
    stops = models.JSONField(help_text="Reel stop positions")
    symbols = models.JSONField(help_text="Symbols on the payline")
    balance_after = models.DecimalField(**MONEY)
    bonus_stake = models.DecimalField(
        **MONEY,
        default=Decimal("0.00"),
        db_default=Decimal("0.00"),
        help_text="Part of the stake paid from bonus money",
    )
    bonus_win = models.DecimalField(
        **MONEY,
        default=Decimal("0.00"),
        db_default=Decimal("0.00"),
        help_text="Part of the win (and boost) paid as bonus money",
    )
    bonus_balance_after = models.DecimalField(**MONEY, default=Decimal("0.00"), db_default=Decimal("0.00"))
    free_spin = models.BooleanField(default=False)
    # Provably fair (issue 17): the spin's number in its session (1, 2, 3...; NULL for
    # spins played before issue 17) and the win boost's percentage in force (``boost`` is
    # the win x this / 100, rounded down), so a statement can recompute both.
    nonce = models.PositiveIntegerField(null=True, blank=True)
    boost_percent = models.DecimalField(
        max_digits=7,
        decimal_places=2,
        default=Decimal("0"),
        db_default=Decimal("0"),
        help_text="Win boost in force (%)",
    )

    objects = SpinQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        constraints = [
            # session_month is a function of the session: these are as unique as (session, key).
            models.UniqueConstraint(
                fields=["session", "idempotency_key", "session_month"], name="spin_idempotency_per_session"
            ),
            models.UniqueConstraint(fields=["session", "nonce", "session_month"], name="spin_nonce_per_session"),
            models.CheckConstraint(condition=Q(stake__gte=0), name="spin_stake_non_negative"),
            models.CheckConstraint(condition=Q(win__gte=0), name="spin_win_non_negative"),
        ]

    def __str__(self) -> str:
        return f"Spin #{self.pk} stake {self.stake} win {self.win}"

    @staticmethod
    def month_of_session(opened_at: datetime) -> date:
        """A spin's ``session_month``: the first day of the UTC month its session opened in
        (``opened_at`` is the session's ``created_at``)."""
        return opened_at.astimezone(UTC).date().replace(day=1)


class FreeSpinGrant(Versioned, TimeStamped):
    """Free spins a player may use on one game (from a code or a vendor
    promotion). ``source_key`` is unique, so a grant is made once."""

    player = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="free_spin_grants")
    game = models.ForeignKey(Game, on_delete=models.PROTECT, related_name="free_spin_grants")
    stake = models.DecimalField(**MONEY)
    granted = models.PositiveIntegerField()
    remaining = models.PositiveIntegerField()
    source_key = models.CharField(max_length=200, unique=True)
    description = models.CharField(max_length=200, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(remaining__lte=F("granted")), name="free_spins_remaining_le_granted"),
            models.CheckConstraint(condition=Q(stake__gt=0), name="free_spins_stake_positive"),
        ]
        indexes = [models.Index(fields=["player", "game"], name="free_spin_player_game_idx")]

    def __str__(self) -> str:
        return f"{self.remaining}/{self.granted} free spins on {self.game} for {self.player}"
