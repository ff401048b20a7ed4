from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone

from accounts.selectors import balance_of
from casino import services as casino
from casino.models import GameSession
from promotions.models import BonusGrant
from promotions.services import forfeit_bonus, grant_bonus
from tests.casino.test_sessions import force_reels

pytestmark = pytest.mark.django_db


@pytest.fixture
def fruit(db):
    from casino.demo import load_demo_games

    return {g.slug: g for g in load_demo_games()}["fruit-frenzy"]


def test_smoke_flow(player, fruit, monkeypatch, assert_reconciles):
    grant = grant_bonus(player=player, amount="10.00", wagering_multiple=2, expires_at=timezone.now() + timedelta(days=3),
                        max_stake="2.00", source_key="smoke-1", source="smoke")
    assert grant.balance == D("10.00") and grant.wagering_required == D("20")
    s = casino.open_and_feed(player=player, game=fruit, amount="105.00", idempotency_key="f1", use_bonus=True)
    s = GameSession.objects.get(pk=s.pk)
    assert (s.balance, s.bonus_balance, s.bonus_source, s.bonus_max_stake) == (D("100.00"), D("5.00"), grant.pk, D("2.00"))
    assert balance_of(player=player) == 0
    assert_reconciles()
    with pytest.raises(Exception, match="Bonus rule"):
        casino.spin(session=s, stake="3.00", idempotency_key="k0")
    force_reels(monkeypatch, "lemon", "plum", "bell")
    for i in range(12):
        casino.spin(session=s, stake="2.00", idempotency_key=f"k{i}")
    s.refresh_from_db()
    print(s.balance, s.bonus_balance, s.wagering_contribution)
    assert_reconciles()
    closed = casino.leave(session=s)
    grant.refresh_from_db()
    print(grant.status, grant.wagering_done, grant.balance, grant.converted, closed.bonus_returned)
    assert grant.status == "completed"
    assert_reconciles()
