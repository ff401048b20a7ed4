"""Read-side queries of the staff's bonus pages (issue 16): grants with the money of theirs
that sits in a machine, and the liability of open bonus money."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, DecimalField, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from casino.models import GameSession
from promotions.models import BonusGrant

__all__ = ["BonusLiability", "grants_for_staff", "in_machines_of", "open_bonus_liability"]

ZERO = Decimal("0.00")
_MONEY = DecimalField(max_digits=14, decimal_places=2)


@dataclass(frozen=True)
class BonusLiability:
    """Bonus money the casino may still have to turn into cash."""

    on_grants: Decimal  # active grants' balances (``bonus:<id>``)
    in_machines: Decimal  # open sessions' bonus parts (``sessionbonus:<id>``)
    active_grants: int

    @property
    def total(self) -> Decimal:
        return self.on_grants + self.in_machines


def _open_bonus_sessions() -> QuerySet[GameSession]:
    return GameSession.objects.filter(status=GameSession.Status.OPEN, bonus_balance__gt=0)


def open_bonus_liability(grants: QuerySet[BonusGrant] | None = None) -> BonusLiability:
    """The liability of open bonus money (two aggregate queries). ``grants`` narrows it to
    those grants (a filtered changelist); by default every grant counts."""
    narrowed = grants is not None
    grants = grants if narrowed else BonusGrant.objects.all()
    active = (
        grants.filter(status=BonusGrant.Status.ACTIVE)
        .order_by()
        .aggregate(held=Coalesce(Sum("balance"), Value(ZERO), output_field=_MONEY), count=Count("id"))
    )
    sessions = _open_bonus_sessions()
    if narrowed:  # only the machines holding those grants' money
        sessions = sessions.filter(bonus_source__in=grants.order_by().values("pk"))
    in_machines = sessions.aggregate(total=Coalesce(Sum("bonus_balance"), Value(ZERO), output_field=_MONEY))["total"]
    return BonusLiability(on_grants=active["held"], in_machines=in_machines, active_grants=active["count"])


def grants_for_staff() -> QuerySet[BonusGrant]:
    """Grants with their player and ``in_machine``: the grant's money in open machines (one query)."""
    in_machine = (
        _open_bonus_sessions()
        .filter(bonus_source=OuterRef("pk"))
        .order_by()
        .values("bonus_source")
        .annotate(total=Sum("bonus_balance"))
        .values("total")
    )
    return BonusGrant.objects.select_related("player").annotate(
        in_machine=Coalesce(Subquery(in_machine, output_field=_MONEY), Value(ZERO), output_field=_MONEY)
    )


def in_machines_of(grant: BonusGrant) -> list[GameSession]:
    """The open sessions holding ``grant``'s money, with their games (one query)."""
    return list(_open_bonus_sessions().filter(bonus_source=grant.pk).select_related("game").order_by("pk"))
