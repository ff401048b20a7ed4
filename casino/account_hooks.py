"""What the casino does at the accounts app's hook points (registered in ``CasinoConfig.ready()``)."""

from __future__ import annotations

import logging
from datetime import datetime

from django.urls import reverse

from accounts.hooks import ActivitySpan, BalanceSource
from accounts.models import SelfExclusion, User
from casino.models import GameSession
from casino.services import leave
from core.exceptions import DomainError

log = logging.getLogger(__name__)

# Game sessions hold money (``session:<id>`` in the ledger): reconcile checks them too.
SESSION_BALANCES = BalanceSource(label="game session", table="casino_gamesession", key_column="id", prefix="session:")
# ... and their bonus money apart (``sessionbonus:<id>``, issue 16).
SESSION_BONUS_BALANCES = BalanceSource(
    label="game session bonus",
    table="casino_gamesession",
    key_column="id",
    prefix="sessionbonus:",
    balance_column="bonus_balance",
)


def close_sessions_of_excluded_player(player: User, exclusion: SelfExclusion) -> int:
    """Close and cash out the player's open game sessions, inside the exclusion's
    transaction. Returns how many were closed."""
    # A break closes the session "for a break", not "self-exclusion": the player chose a pause.
    is_break = exclusion.kind == SelfExclusion.Kind.BREAK
    reason = GameSession.CloseReason.BREAK if is_break else GameSession.CloseReason.EXCLUSION
    closed = 0
    for session in GameSession.objects.filter(player=player, status=GameSession.Status.OPEN):
        try:
            leave(session=session, reason=reason)
        except DomainError as exc:  # e.g. the idle sweep closed it first
            log.info("exclusion of %s: session %s not closed: %s", player.pk, session.pk, exc.message)
        else:
            closed += 1
    return closed


def session_spans(player: User, start: datetime, end: datetime) -> list[ActivitySpan]:
    """The player's game sessions active in [start, end], for the staff activity timeline."""
    sessions = (
        GameSession.objects.filter(player=player, last_activity_at__gte=start, created_at__lte=end)
        .select_related("game")
        .order_by("-id")[:200]
    )
    return [
        ActivitySpan(
            started_at=s.created_at,
            ended_at=s.closed_at,
            label=f"Session #{s.pk} {s.game}",
            count=s.spin_count,
            link=reverse("admin:casino_gamesession_change", args=[s.pk]),
        )
        for s in sessions
    ]
