import os
from contextlib import suppress

from celery import Celery, signals

from core.db_router import pin_begin, pin_end

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "casino.settings")

app = Celery("casino")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# A task reads from the primary, always (issue 20): tasks move money from what they read.
_pins: dict = {}


@signals.task_prerun.connect
def _pin_task_to_primary(task_id=None, **kwargs):
    _pins[task_id] = pin_begin()


@signals.task_postrun.connect
def _unpin_task(task_id=None, **kwargs):
    if (token := _pins.pop(task_id, None)) is not None:
        with suppress(ValueError):  # set in another context (cannot happen in a worker): nothing to undo
            pin_end(token)
