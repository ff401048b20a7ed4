"""Demo data for promotions: three codes and the demo studio's promotions. Used by
``seed_demo``, the tests and the benchmarks; never by the product's services."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.db.models.functions import Upper
from django.utils import timezone

from casino.models import Game, Vendor
from promotions.exceptions import InvalidCode
from promotions.models import PromotionCode, PromotionKind, VendorPromotion
from promotions.services import add_vendor_promotion, issue_code

DEMO_BONUS_CODE = "WELCOME10"
DEMO_SPINS_CODE = "SPINS20"
DEMO_BONUS_FUNDS_CODE = "WELCOME-BONUS"
# WELCOME-BONUS's terms (issue 16): bonus funds that turn into cash by play.
DEMO_BONUS_FUNDS_TERMS = {
    "bonus_amount": Decimal("20.00"),
    "wagering_multiple": 5,
    "bonus_max_stake": Decimal("2.00"),
    "bonus_valid_days": 30,
    "bonus_conversion_cap": Decimal("100.00"),
}
Reward = PromotionCode.RewardKind


def _ensure_code(code: str, **kwargs) -> PromotionCode:
    existing = PromotionCode.objects.alias(code_upper=Upper("code")).filter(code_upper=code).first()
    if existing is not None:
        return existing
    now = timezone.now()
    try:
        return issue_code(
            code=code, starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=365), campaign="demo", **kwargs
        )
    except InvalidCode:  # issued concurrently by another seeder
        return PromotionCode.objects.get(code=code)


def ensure_demo_codes() -> list[PromotionCode]:
    """Idempotent demo codes: WELCOME10 (10.00 bonus, unlimited, for a year), WELCOME-BONUS
    (20.00 bonus funds: 5x wagering, at most 2.00 a spin, 30 days, converting to at most
    100.00 cash) and, once a game exists, SPINS20 (20 free spins at the first active game's
    minimum stake)."""
    codes = [
        _ensure_code(DEMO_BONUS_CODE, reward_kind=Reward.BONUS, bonus_amount=Decimal("10.00")),
        _ensure_code(
            DEMO_BONUS_FUNDS_CODE,
            reward_kind=Reward.BONUS,
            pays_as=PromotionCode.PaysAs.BONUS,
            **DEMO_BONUS_FUNDS_TERMS,
        ),
    ]
    game = Game.objects.filter(is_active=True).order_by("name").first()
    if game is not None:
        codes.append(
            _ensure_code(
                DEMO_SPINS_CODE,
                reward_kind=Reward.FREE_SPINS,
                free_spins_game=game,
                free_spins_count=20,
                free_spin_stake=game.min_stake,
            )
        )
    return codes


def ensure_demo_vendor_promotions(vendor: Vendor) -> Vendor:
    """The demo studio's promotions: free spins now, cashback in three days (idempotent)."""
    now = timezone.now()
    if not VendorPromotion.objects.filter(vendor=vendor, ends_at__gt=now).exists():
        add_vendor_promotion(
            vendor=vendor,
            kind=PromotionKind.FREE_SPINS,
            starts_at=now,
            ends_at=now + timedelta(days=14),
            free_spins_count=5,
            free_spin_stake=Decimal("0.50"),
        )
        add_vendor_promotion(
            vendor=vendor,
            kind=PromotionKind.CASHBACK,
            starts_at=now + timedelta(days=3),
            ends_at=now + timedelta(days=10),
            percent=Decimal("10"),
        )
    vendor.refresh_from_db()
    return vendor
