"""Celery tasks of the base layer: thin, safe to run twice."""

from celery import shared_task

from core import partitions


@shared_task(acks_late=True)
def ensure_partitions() -> list[str]:
    """Beat (daily): the monthly partitions of this month and ``PARTITION_MONTHS_AHEAD`` ahead
    exist, and rows waiting in a default partition are in their month's. Returns the names made."""
    return partitions.ensure_partitions()
