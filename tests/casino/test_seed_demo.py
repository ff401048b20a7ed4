from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts import selectors
from accounts.models import LedgerTransaction, User
from accounts.reconcile import reconcile
from casino.models import Game, SportEvent, Vendor
from promotions.models import BonusGrant, PromotionCode
from promotions.services import redeem

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


def test_seed_demo_offers_a_bonus_funds_code_and_a_game_with_a_partial_contribution():
    call_command("seed_demo", verbosity=0)
    code = PromotionCode.objects.get(code="WELCOME-BONUS")
    assert code.pays_as == PromotionCode.PaysAs.BONUS
    assert (code.bonus_amount, code.wagering_multiple, code.bonus_max_stake) == (Decimal("20.00"), 5, Decimal("2.00"))
    assert (code.bonus_valid_days, code.bonus_conversion_cap) == (30, Decimal("100.00"))
    contributions = dict(Game.objects.values_list("slug", "wagering_contribution"))
    assert contributions == {"fruit-frenzy": 100, "diamond-sevens": 50}

    # Redeeming it pays bonus funds with those terms; alice's cash is untouched.
    alice = User.objects.get(username="alice")
    redeem(player=alice, code="welcome-bonus")
    grant = BonusGrant.objects.get(player=alice)
    assert grant.status == BonusGrant.Status.ACTIVE
    assert (grant.amount, grant.balance, grant.wagering_required) == (Decimal("20.00"), Decimal("20.00"), 100)
    assert (grant.max_stake, grant.conversion_cap) == (Decimal("2.00"), Decimal("100.00"))
    assert abs(grant.expires_at - (timezone.now() + timedelta(days=30))) < timedelta(minutes=1)
    assert selectors.balance_of(player=alice) == Decimal("500.00")
    assert reconcile().ok

    # Seeding again neither issues the code twice nor changes its terms.
    call_command("seed_demo", verbosity=0)
    assert PromotionCode.objects.filter(code="WELCOME-BONUS").count() == 1
    assert Game.objects.get(slug="diamond-sevens").wagering_contribution == 50
