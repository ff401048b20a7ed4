"""Selectors for vendors and their promotions (issue 8)."""

from collections import defaultdict

from django.utils import timezone

from promotions.models import VendorPromotion


def active_promotions_for_games(games, *, at=None) -> dict[int, list[VendorPromotion]]:
    """{game id: [active vendor promotions]} for the given games, in one query."""
    at = at or timezone.now()
    games = list(games)
    vendor_ids = {g.vendor_id for g in games if g.vendor_id}
    by_vendor = defaultdict(list)
    for promo in VendorPromotion.objects.filter(vendor_id__in=vendor_ids, starts_at__lte=at, ends_at__gt=at):
        by_vendor[promo.vendor_id].append(promo)
    return {g.pk: by_vendor.get(g.vendor_id, []) for g in games}
