"""Celery tasks for promotions: thin, idempotent."""

from celery import shared_task

from promotions import services


@shared_task(acks_late=True)
def archive_expired_promotions() -> int:
    """Beat: move expired vendor promotions into the history table."""
    return len(services.archive_expired_promotions())


@shared_task(acks_late=True)
def expire_bonus_grants() -> int:
    """Beat: end bonus grants past their expiry (their bonus money back to the promotions pot)."""
    return services.expire_bonus_grants()
