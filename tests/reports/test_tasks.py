"""The roll-up's beat task (issue 19): thin, idempotent, scheduled every 10 minutes."""

from decimal import Decimal

import pytest
from django.conf import settings

from accounts import services as accounts
from reports import tasks
from reports.models import DailyFigure, RollupState
from tests.factories import PlayerFactory


def test_the_task_is_on_the_beat_every_ten_minutes():
    entry = settings.CELERY_BEAT_SCHEDULE["roll-up-reports"]
    assert entry == {"task": "reports.tasks.roll_up", "schedule": 600.0}
    assert tasks.roll_up.name == "reports.tasks.roll_up" and tasks.roll_up.acks_late


@pytest.mark.django_db
def test_the_task_rolls_up_and_is_safe_to_run_twice():
    player = PlayerFactory(balance="12.00")
    accounts.withdraw(player=player, amount=Decimal("2.00"), idempotency_key="t-w")
    first = tasks.roll_up.delay().get()
    rows = list(DailyFigure.objects.values_list("day", "product", "deposits", "withdrawals", "transactions"))
    second = tasks.roll_up.delay().get()
    assert first["through_tx"] == second["through_tx"] == RollupState.objects.get().rolled_through_tx
    assert list(DailyFigure.objects.values_list("day", "product", "deposits", "withdrawals", "transactions")) == rows
    assert rows[0][1:] == ("payments", Decimal("12.00"), Decimal("2.00"), 2)
