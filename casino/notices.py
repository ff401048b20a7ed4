"""Notices ("toasts") of bets settled and payouts paid since the player last looked.

Computed from the database on full page views (lobby, session, sportsbook, my bets,
a bet): the web session remembers when the player last looked (``bets_seen_at``),
and the next page view shows what changed since then, each notice once. So a
player who leaves a machine sees "payout paid" on the next page, wherever it is.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib import messages
from django.utils import timezone

from casino import selectors

SEEN_KEY = "bets_seen_at"
MAX_NOTICES = 4


def mark_seen(request) -> None:
    request.session[SEEN_KEY] = timezone.now().isoformat()


def notify_since_last_visit(request) -> None:
    """Toast bets settled and payouts paid since the player last looked."""
    now = timezone.now()
    since = _seen_at(request)
    request.session[SEEN_KEY] = now.isoformat()
    if since is None:
        return
    settled = list(selectors.bets_settled_since(player=request.user, since=since)[: MAX_NOTICES + 1])
    for bet in settled[:MAX_NOTICES]:
        outcome = {"won": "won", "lost": "lost", "void": "was void (stake refunded)"}.get(bet.status, bet.status)
        messages.info(request, f"Bet #{bet.pk} on {bet.selection.name} {outcome}.")
    if len(settled) > MAX_NOTICES:
        messages.info(request, "More bets were settled: see My bets.")
    paid = list(selectors.payouts_paid_since(player=request.user, since=since)[: MAX_NOTICES + 1])
    for payout in paid[:MAX_NOTICES]:
        messages.success(request, f"Payout of {payout.amount} for bet #{payout.bet_id} paid to your account.")
    if len(paid) > MAX_NOTICES:
        messages.success(request, "More payouts were paid: see your wallet.")


def _seen_at(request) -> datetime | None:
    try:
        return datetime.fromisoformat(request.session.get(SEEN_KEY, ""))
    except (TypeError, ValueError):
        return None
