"""Selectors for the sportsbook and payouts (issue 4)."""

from django.db.models import Exists, OuterRef

from casino.models import GameSession, Payout


def players_due_payout():
    """Ids of players with queued payouts and no open game session."""
    open_sessions = GameSession.objects.filter(player_id=OuterRef("player_id"), status=GameSession.Status.OPEN)
    return (
        Payout.objects.filter(state=Payout.State.QUEUED)
        .exclude(Exists(open_sessions))
        .values_list("player_id", flat=True)
        .distinct()
    )
