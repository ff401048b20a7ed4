"""Benchmark baselines: the designs the product is measured against. Never used by the app."""

from __future__ import annotations

from django.db import transaction
from django.db.models.functions import Upper

from accounts.models import User
from core.versioning import retry_on_conflict
from promotions.exceptions import LimitReached, UnknownCode
from promotions.models import PromotionCode, Redemption
from promotions.services.codes import _grant_reward, _insert_redemption, check_redeemable, normalize_code


def _find_code(normalized: str) -> PromotionCode:
    promo = (
        PromotionCode.objects.alias(code_upper=Upper("code"))
        .filter(code_upper=normalized)
        .select_related("free_spins_game")
        .first()
    )
    if promo is None:
        raise UnknownCode(f"The code {normalized} does not exist. Check the spelling.")
    return promo


def redeem_with_code_lock(*, player: User, code: str) -> Redemption:
    """BENCHMARK BASELINE ONLY, not used by the app: the design the issue asks to beat.

    Serialises every redeemer on one row (``SELECT … FOR UPDATE`` on the code),
    then counts redemptions against the limit. Strict, but a hot row.
    """
    normalized = normalize_code(code)
    promo = _find_code(normalized)
    check_redeemable(promo)

    def attempt() -> Redemption:
        with transaction.atomic():
            locked = (
                PromotionCode.objects.select_for_update(of=("self",)).select_related("free_spins_game").get(pk=promo.pk)
            )
            if locked.limit is not None and Redemption.objects.filter(code_id=locked.pk).count() >= locked.limit:
                raise LimitReached(f"The code {locked.code} has been fully redeemed.")
            redemption = _insert_redemption(promo=locked, player=player)
            _grant_reward(promo=locked, redemption=redemption, player=player)
            return redemption

    return retry_on_conflict(attempt)


