"""Celery tasks for promotions: thin, idempotent."""

from celery import shared_task


@shared_task(acks_late=True)
def archive_expired_promotions() -> int:
    """Beat: move expired vendor promotions into the history table."""
    from promotions import services

    return len(services.archive_expired_promotions())
