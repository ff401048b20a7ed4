from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts import selectors
from accounts.exceptions import PlayerBlocked
from accounts.services import responsible
from promotions import services
from promotions.models import Redemption

pytestmark = pytest.mark.django_db


def test_a_player_on_a_break_cannot_redeem_a_bonus_code(player):
    now = timezone.now()
    services.issue_code(
        code="BREAK5", reward_kind="bonus", bonus_amount=Decimal("5.00"), starts_at=now, ends_at=now + timedelta(days=1)
    )
    responsible.take_a_break(player=player, days=1)
    with pytest.raises(PlayerBlocked):
        services.redeem(player=player, code="break5")
    assert not Redemption.objects.exists()
    assert selectors.balance_of(player=player) == Decimal("100.00")
