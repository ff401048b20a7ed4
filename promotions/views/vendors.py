"""Vendor pages for players: what a studio is running now and next."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from promotions import selectors


@login_required
@require_http_methods(["GET"])
def vendor_detail(request, slug):
    now = timezone.now()
    vendor = selectors.vendors_with_promotions(at=now).filter(slug=slug).first()
    if vendor is None:
        raise Http404("No such studio.")
    promotions = vendor.live_promotions
    context = {
        "vendor": vendor,
        "running": [p for p in promotions if p.starts_at <= now],
        "upcoming": [p for p in promotions if p.starts_at > now],
        "games": [g for g in vendor.games.all() if g.is_active],
    }
    return render(request, "promotions/vendor_detail.html", context)
