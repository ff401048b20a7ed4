"""Selectors for games and sessions (issue 3)."""

from casino.models import GameSession


def open_session_for(*, player) -> GameSession | None:
    return GameSession.objects.select_related("game").filter(player=player, status=GameSession.Status.OPEN).first()


def player_is_playing(*, player_id: int) -> bool:
    return GameSession.objects.filter(player_id=player_id, status=GameSession.Status.OPEN).exists()
