"""Selectors for promotion codes and redemptions (issue 5)."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from accounts.models import User
from promotions.models import PromotionCode, Redemption

__all__ = ["codes_with_counts", "codes_for_export", "redemptions_of", "redemption_of", "redemption_count"]


def redemptions_of(*, player: User) -> QuerySet[Redemption]:
    """The player's redemptions, newest first, with their codes (one query)."""
    return (
        Redemption.objects.filter(player=player)
        .select_related("code", "code__free_spins_game")
        .order_by("-created_at", "-id")
    )


def redemption_of(*, player: User, pk: int) -> Redemption | None:
    """One redemption, only if it belongs to ``player`` (others get None -> 404)."""
    return redemptions_of(player=player).filter(pk=pk).first()


def codes_with_counts() -> QuerySet[PromotionCode]:
    """Codes annotated with ``redeemed`` (count of redemption rows, the source of truth)."""
    return PromotionCode.objects.select_related("free_spins_game", "created_by").annotate(
        redeemed=Count("redemptions", distinct=True)
    )


def codes_for_export(*, campaign: str | None = None, ids=None) -> QuerySet[PromotionCode]:
    qs = codes_with_counts().order_by("code")
    if campaign is not None:
        qs = qs.filter(campaign=campaign)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    return qs


def redemption_count(*, code: PromotionCode) -> int:
    return Redemption.objects.filter(code=code).count()
