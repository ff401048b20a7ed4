from decimal import Decimal

import pytest
from django.core.management import call_command

from accounts import selectors
from accounts.models import LedgerTransaction, User
from accounts.reconcile import reconcile
from casino.models import Game, SportEvent, Vendor
from promotions.models import PromotionCode

pytestmark = pytest.mark.django_db


def test_seed_demo_is_idempotent_and_the_demo_logins_work(client):
    call_command("seed_demo", verbosity=0)
    counts = (User.objects.count(), Game.objects.count(), SportEvent.objects.count(), LedgerTransaction.objects.count())
    call_command("seed_demo", verbosity=0)
    again = (User.objects.count(), Game.objects.count(), SportEvent.objects.count(), LedgerTransaction.objects.count())
    assert counts == again
    assert User.objects.get(username="staff").is_superuser
    for name in ("alice", "bob", "carol"):
        assert selectors.balance_of(player=User.objects.get(username=name)) == Decimal("500.00")
    assert Game.objects.filter(vendor__isnull=False).exists()
    assert Vendor.objects.get().promotions.exists()
    assert PromotionCode.objects.filter(code="WELCOME10").exists()
    assert reconcile().ok
    assert User.objects.get(username="alice").check_password("player-demo-pass")
    assert User.objects.get(username="staff").check_password("staff-demo-pass")
