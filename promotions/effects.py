"""Hooks through which vendor promotions act on game sessions.

The session services call these at fixed points, inside their own
transaction (and retry loop); every money movement here is a balanced ledger
transaction with a key per player/session and promotion, so a replay moves
nothing twice.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

from django.utils import timezone

from promotions.models.vendors import PromotionKind

CENT = Decimal("0.01")


def on_session_opened(*, session) -> None:
    """After a session opens: grant the vendor's free spins (once per player per promotion)."""
    from casino import services as casino_services
    from promotions.selectors.vendors import active_promotion

    promo = active_promotion(vendor_id=session.game.vendor_id, kind=PromotionKind.FREE_SPINS, at=timezone.now())
    if promo is None:
        return
    # grant_free_spins is idempotent on source_key: once per player per promotion.
    source_key = f"vendorpromo:{promo.id}:{session.player_id}"
    casino_services.grant_free_spins(
        player=session.player,
        game=session.game,
        count=promo.free_spins_count,
        stake=promo.free_spin_stake,
        source_key=source_key,
        description=f"{promo.free_spins_count} free spins from {session.game.vendor.name}",
    )


def win_boost_percent(*, game, at) -> Decimal:
    """Percentage by which wins on ``game`` are raised at instant ``at`` (0 when none)."""
    from promotions.selectors.vendors import active_promotion

    promo = active_promotion(vendor_id=game.vendor_id, kind=PromotionKind.WIN_BOOST, at=at)
    return promo.percent if promo is not None else Decimal("0")


def cashback_amount(*, staked: Decimal, won: Decimal, percent: Decimal) -> Decimal:
    """``percent`` of the net loss (stakes - wins), rounded down to cents; 0 for a net win."""
    loss = staked - won
    if loss <= 0:
        return Decimal("0.00")
    return (loss * percent / 100).quantize(CENT, rounding=ROUND_DOWN)


def on_session_closed(*, session) -> None:
    """After a session closes and is cashed out: pay cashback on net losses.

    Paid from ``system:promotions`` into the player's account, only if the
    vendor's cashback promotion is running at the moment the session closed.
    Runs in the caller's transaction; the key ``cashback:<promo>:<session>``
    makes it once per session.
    """
    from accounts import ledger
    from accounts.models import LedgerTransaction
    from accounts.services import move_money
    from promotions.selectors.vendors import active_promotion

    closed_at = session.closed_at or timezone.now()
    promo = active_promotion(vendor_id=session.game.vendor_id, kind=PromotionKind.CASHBACK, at=closed_at)
    if promo is None:
        return
    amount = cashback_amount(staked=session.total_staked, won=session.total_won, percent=promo.percent)
    if amount <= 0:
        return
    key = f"cashback:{promo.id}:{session.id}"
    if ledger.find(key):
        return
    move_money(
        player_id=session.player_id,
        delta=amount,
        counterparty=ledger.SYSTEM_PROMOTIONS,
        kind=LedgerTransaction.Kind.PROMOTION,
        idempotency_key=key,
        reference=f"session:{session.id}",
        description=f"{promo.percent.normalize():f}% cashback on session #{session.id} losses",
    )
