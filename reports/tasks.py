"""Celery tasks of the reports app (thin: they call a service and are safe to run twice)."""

from celery import shared_task

from reports import services


@shared_task(acks_late=True)
def roll_up() -> dict:
    """Bring the daily roll-up up to date (beat, every 10 minutes). Idempotent: a redelivered
    or overlapping run waits on the roll-up lock and recomputes the same days to the same rows."""
    run = services.roll_up()
    return {"days": [day.isoformat() for day in run.days], "seconds": run.seconds, "through_tx": run.through_tx}
