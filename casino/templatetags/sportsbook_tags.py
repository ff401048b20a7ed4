"""Sportsbook template helpers.

- ``{{ price|odds:user.odds_format }}``: a decimal price in the player's odds format.
- ``{{ market|market_result }}``: a settled market's winning selection ("Void", or "" while pending).
- ``{% wallet_payouts as p %}``: the player's pending and paid payouts for the wallet page.
  Read-only except for a "last seen" marker in the player's web session, so the
  panel can say which payouts were paid since the previous visit.
"""

from datetime import datetime

from django import template
from django.utils import timezone

from casino import selectors
from casino.models import Selection
from casino.odds import DECIMAL, format_odds

register = template.Library()

PANEL_SIZE = 10
SEEN_KEY = "payouts_seen_at"


@register.simple_tag(takes_context=True)
def wallet_payouts(context) -> dict:
    request = context["request"]
    player = request.user
    payouts = list(selectors.payouts_of(player=player)[:PANEL_SIZE])
    try:
        since = datetime.fromisoformat(request.session.get(SEEN_KEY, ""))
    except (TypeError, ValueError):
        since = None
    new_ids = {p.pk for p in payouts if since and p.paid_at and p.paid_at > since}
    request.session[SEEN_KEY] = timezone.now().isoformat()
    return {
        "payouts": payouts,
        "new_ids": new_ids,
        "new_count": len(new_ids),
        "queued_total": selectors.queued_payout_total(player=player),
        "in_session": selectors.has_open_session(player=player),
    }


@register.filter(name="odds")
def odds(value, style: str = DECIMAL) -> str:
    try:
        return format_odds(value, style or DECIMAL)
    except (TypeError, ValueError, ArithmeticError):
        return ""


@register.filter(name="market_result")
def market_result(market) -> str:
    """Uses the prefetched selections (no query per market)."""
    results = [s for s in market.selections.all() if s.result != Selection.Result.PENDING]
    if not results:
        return ""
    if all(s.result == Selection.Result.VOID for s in results):
        return "Void"
    return ", ".join(s.name for s in results if s.result == Selection.Result.WON) or "No winner"
