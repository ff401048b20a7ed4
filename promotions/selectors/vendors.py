"""Selectors for vendors and their promotions (issue 8)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from casino.models import FreeSpinGrant, Vendor
from promotions.models import PromotionHistory, VendorPromotion
from promotions.models.vendors import PromotionKind

__all__ = [
    "active_promotion",
    "active_promotions_for_games",
    "vendor_free_spins_key",
    "live_promotions",
    "promotion_history",
    "vendor_timeline",
    "vendors_with_promotions",
]


def vendor_free_spins_key(*, promotion_id: int, player_id: int) -> str:
    """The source key of the free spins a vendor promotion grants a player (once each)."""
    return f"vendorpromo:{promotion_id}:{player_id}"


def active_promotions_for_games(games, *, at=None, player=None) -> dict[int, list[VendorPromotion]]:
    """{game id: [active vendor promotions]} for the given games, in one query.

    With ``player``: a free-spins promotion whose spins this player has already had and
    used up (or let expire) is left out, so the lobby stops advertising it to them (one
    more query, only when a free-spins promotion is running)."""
    at = at or timezone.now()
    games = list(games)
    vendor_ids = {g.vendor_id for g in games if g.vendor_id}
    promos = []
    if vendor_ids:
        promos = list(VendorPromotion.objects.filter(vendor_id__in=vendor_ids, starts_at__lte=at, ends_at__gt=at))
    free_spins = [p for p in promos if p.kind == PromotionKind.FREE_SPINS]
    if player is not None and getattr(player, "pk", None) and free_spins:
        keys = {vendor_free_spins_key(promotion_id=p.pk, player_id=player.pk): p.pk for p in free_spins}
        spent = FreeSpinGrant.objects.filter(player=player, source_key__in=keys).filter(
            Q(remaining=0) | Q(expires_at__lte=at)
        )
        used_up = {keys[key] for key in spent.values_list("source_key", flat=True)}
        promos = [p for p in promos if p.pk not in used_up]
    by_vendor = defaultdict(list)
    for promo in promos:
        by_vendor[promo.vendor_id].append(promo)
    return {g.pk: by_vendor.get(g.vendor_id, []) for g in games}


def active_promotion(*, vendor_id: int | None, kind: str, at: datetime | None = None) -> VendorPromotion | None:
    """The vendor's promotion of ``kind`` running at ``at`` (at most one: the invariant)."""
    if not vendor_id:
        return None
    at = at or timezone.now()
    return VendorPromotion.objects.filter(vendor_id=vendor_id, kind=kind, starts_at__lte=at, ends_at__gt=at).first()


def live_promotions(*, vendor: Vendor, at: datetime | None = None) -> QuerySet[VendorPromotion]:
    """A vendor's active and future promotions (whatever the archiver has not moved yet is left out)."""
    at = at or timezone.now()
    return VendorPromotion.objects.filter(vendor=vendor, ends_at__gt=at).order_by("starts_at", "id")


def promotion_history(*, vendor: Vendor | None = None) -> QuerySet[PromotionHistory]:
    qs = PromotionHistory.objects.select_related("vendor")
    return qs.filter(vendor=vendor) if vendor is not None else qs


def vendors_with_promotions(*, at: datetime | None = None) -> QuerySet[Vendor]:
    """Vendors with their games and currently running promotions."""
    at = at or timezone.now()
    return Vendor.objects.prefetch_related(
        "games",
        Prefetch(
            "promotions",
            queryset=VendorPromotion.objects.filter(ends_at__gt=at).order_by("starts_at"),
            to_attr="live_promotions",
        ),
    )


@dataclass
class Bar:
    label: str
    title: str
    x: float  # percent of the chart width
    width: float
    status: str  # "past", "active", "future"
    promo: object


@dataclass
class TimelineRow:
    kind: str
    label: str
    bars: list[Bar]


@dataclass
class Timeline:
    starts_at: datetime
    ends_at: datetime
    rows: list[TimelineRow]
    ticks: list[tuple[float, datetime]]
    now_x: float | None


# The timeline spans weeks and pages by weeks: a start in these years keeps every date it
# computes (in any time zone) inside Python's years 1-9999.
TIMELINE_YEARS = (2, 9998)


def vendor_timeline(
    *, vendor: Vendor, start: datetime | None = None, days: int = 42, now: datetime | None = None
) -> Timeline:
    """Rows per type, bars per promotion (history and live) over ``days`` days from ``start``.

    A start at the calendar's edge (``?from=0001-01-01``, ``9999-12-30``) moves to the
    nearest year in ``TIMELINE_YEARS`` (neither year 1 nor 9999 has a 29 February)."""
    now = now or timezone.now()
    start = start or timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=7)
    first, last = TIMELINE_YEARS
    start = start.replace(year=min(max(start.year, first), last))
    end = start + timedelta(days=days)
    span = (end - start).total_seconds()

    def pos(at: datetime) -> float:
        return round(max(0.0, min(1.0, (at - start).total_seconds() / span)) * 100, 3)

    items = [
        *VendorPromotion.objects.filter(vendor=vendor, starts_at__lt=end, ends_at__gt=start),
        *PromotionHistory.objects.filter(vendor=vendor, starts_at__lt=end, ends_at__gt=start),
    ]
    rows = []
    for kind in PromotionKind:
        bars = []
        for p in sorted((i for i in items if i.kind == kind), key=lambda i: i.starts_at):
            status = "past" if p.ends_at <= now else "active" if p.starts_at <= now else "future"
            x = pos(p.starts_at)
            bars.append(
                Bar(
                    label=_param_label(p),
                    title=f"{kind.label} {timezone.localtime(p.starts_at):%Y-%m-%d %H:%M} – "
                    f"{timezone.localtime(p.ends_at):%Y-%m-%d %H:%M} ({status})",
                    x=x,
                    width=max(0.4, round(pos(p.ends_at) - x, 3)),
                    status=status,
                    promo=p,
                )
            )
        rows.append(TimelineRow(kind=kind.value, label=kind.label, bars=bars))
    ticks = [(pos(start + timedelta(days=d)), start + timedelta(days=d)) for d in range(0, days + 1, 7)]
    now_x = pos(now) if start <= now <= end else None
    return Timeline(starts_at=start, ends_at=end, rows=rows, ticks=ticks, now_x=now_x)


def _param_label(p) -> str:
    if p.kind == PromotionKind.FREE_SPINS:
        return f"{p.free_spins_count} × {p.free_spin_stake}"
    return f"{p.percent.normalize():f}%" if p.percent is not None else ""
