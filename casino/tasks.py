"""Celery tasks: thin, take ids, call services, safe to run twice."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError

from accounts.models import User
from casino import selectors, services
from core.exceptions import ConcurrencyConflict

MONEY_TASK = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (ConcurrencyConflict, OperationalError, InterfaceError, DatabaseError),
    "retry_backoff": 1,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 10,
}


@shared_task(**MONEY_TASK)
def pay_out_player(player_id: int) -> int:
    """Pay every queued payout of one player (skipped while they are in a session)."""
    player = User.objects.filter(pk=player_id).first()
    if player is None:
        return 0
    return len(services.pay_out_player(player=player))


@shared_task(acks_late=True)
def sweep_payouts() -> int:
    """Beat: enqueue payouts for players with queued payouts and no open session."""
    player_ids = list(selectors.players_due_payout())
    for player_id in player_ids:
        pay_out_player.delay(player_id)
    return len(player_ids)


@shared_task(**MONEY_TASK)
def close_idle_sessions() -> int:
    """Beat: close and cash out sessions with no spin for SESSION_IDLE_MINUTES."""
    return len(services.close_idle_sessions(idle_for=timedelta(minutes=settings.SESSION_IDLE_MINUTES)))
