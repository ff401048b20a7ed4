from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from core.models import TimeStamped, Versioned


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
