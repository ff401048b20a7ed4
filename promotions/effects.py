"""Vendor promotions acting on game sessions, through the casino's hook points.

Registered in ``PromotionsConfig.ready()`` on ``casino.hooks``; each runs inside
the casino service's own transaction (and retry loop):

- ``grant_vendor_free_spins`` on ``session_opened`` (inside ``open_session``);
- ``win_boost_percent`` on ``win_boost`` (inside ``spin``: the boost is paid from
  ``system:promotions`` in the spin's own ledger transaction);
- ``pay_cashback`` on ``session_closed`` (inside ``leave``, after the cash-out):
  cash, or a bonus grant with the promotion's terms when it pays as bonus funds.

Every money movement is a balanced ledger transaction with a key per
player/session and promotion, so a replay moves nothing twice.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal

from django.utils import timezone

from accounts import ledger
from accounts.models import LedgerTransaction
from accounts.services import move_money
from casino.models import Game, GameSession
from casino.services import grant_free_spins
from core.exceptions import DomainError
from core.money import CENT, ZERO
from promotions.models import PromotionKind, VendorPromotion
from promotions.selectors.vendors import active_promotion, vendor_free_spins_key
from promotions.services.bonus import grant_bonus, max_wagering_multiple

log = logging.getLogger(__name__)


def grant_vendor_free_spins(session: GameSession) -> None:
    """A session opened: grant the vendor's free spins (once per player per promotion).

    Never at a stake outside the game's range: the stake was checked against the
    vendor's games when the promotion was made, but a game's range may have
    changed since (or the game joined the vendor later). Such a game gets no
    grant (logged); the player's grant is not used up, so it is made on the
    next game of the vendor the stake fits, or once staff fix the range.
    Clamping would instead hand out spins worth another amount than the
    promotion says, paid from the promotions pot without anyone deciding it.
    """
    promo = active_promotion(vendor_id=session.game.vendor_id, kind=PromotionKind.FREE_SPINS, at=timezone.now())
    if promo is None:
        return
    # The range as committed now (the caller's game instance may be older).
    low, high = Game.objects.filter(pk=session.game_id).values_list("min_stake", "max_stake").get()
    if not low <= promo.free_spin_stake <= high:
        log.warning(
            "vendor free spins not granted: promotion %s stake %s is outside %s's range %s-%s (player %s)",
            promo.pk,
            promo.free_spin_stake,
            session.game.slug,
            low,
            high,
            session.player_id,
        )
        return
    # grant_free_spins is idempotent on source_key: once per player per promotion.
    grant_free_spins(
        player=session.player,
        game=session.game,
        count=promo.free_spins_count,
        stake=promo.free_spin_stake,
        source_key=vendor_free_spins_key(promotion_id=promo.id, player_id=session.player_id),
        description=f"{promo.free_spins_count} free spins from {session.game.vendor.name}",
    )


def win_boost_percent(game: Game, at: datetime) -> Decimal:
    """Percentage by which wins on ``game`` are raised at instant ``at`` (0 when none)."""
    promo = active_promotion(vendor_id=game.vendor_id, kind=PromotionKind.WIN_BOOST, at=at)
    return promo.percent if promo is not None else ZERO


def cashback_amount(*, staked: Decimal, won: Decimal, percent: Decimal) -> Decimal:
    """``percent`` of the net loss (stakes - wins), rounded down to cents; 0 for a net win."""
    loss = staked - won
    if loss <= 0:
        return ZERO
    return (loss * percent / 100).quantize(CENT, rounding=ROUND_DOWN)


def pay_cashback(session: GameSession) -> None:
    """A session closed and was cashed out: pay cashback on its net losses of cash.

    Paid from ``system:promotions``, only if the vendor's cashback promotion is
    running at the moment the session closed: into the player's account, or,
    when the promotion pays as bonus funds, as a bonus grant with its terms
    (expiring its validity after the close). The key ``cashback:<promo>:<session>``
    (the ledger key, or the grant's source key) makes it once per session.

    Only the cash part of the play counts (stakes and wins of bonus money are
    left out, issue 16): cashback on lost bonus funds would turn a bonus into
    cash without wagering it. A session without bonus money is unchanged.
    """
    closed_at = session.closed_at or timezone.now()
    promo = active_promotion(vendor_id=session.game.vendor_id, kind=PromotionKind.CASHBACK, at=closed_at)
    if promo is None:
        return
    amount = cashback_amount(
        staked=session.total_staked - session.bonus_staked,
        won=session.total_won - session.bonus_won,
        percent=promo.percent,
    )
    if amount <= 0:
        return
    key = f"cashback:{promo.id}:{session.id}"
    description = f"{promo.percent.normalize():f}% cashback on session #{session.id} losses"
    if promo.pays_bonus:
        _grant_cashback_bonus(session=session, promo=promo, amount=amount, closed_at=closed_at, key=key,
                              description=description)  # fmt: skip
        return
    if ledger.find(key):
        return
    move_money(
        player_id=session.player_id,
        delta=amount,
        counterparty=ledger.SYSTEM_PROMOTIONS,
        kind=LedgerTransaction.Kind.PROMOTION,
        idempotency_key=key,
        reference=f"session:{session.id}",
        description=description,
    )


def _grant_cashback_bonus(
    *, session: GameSession, promo: VendorPromotion, amount: Decimal, closed_at: datetime, key: str, description: str
) -> None:
    """Cashback as bonus funds: one grant per session (``grant_bonus`` is idempotent on ``key``).

    It runs inside ``leave``, which must never fail on a promotion: a wagering multiple
    above a since-lowered setting is lowered to it (in the player's favour), and a grant
    the bonus service still refuses is logged, not raised.
    """
    multiple = min(promo.wagering_multiple, max_wagering_multiple())
    try:
        grant_bonus(
            player=session.player,
            amount=amount,
            wagering_multiple=multiple,
            expires_at=closed_at + timedelta(days=promo.bonus_valid_days),
            max_stake=promo.bonus_max_stake,
            conversion_cap=promo.bonus_conversion_cap,
            source_key=key,
            source=f"{description} ({session.game.vendor.name})",
        )
    except DomainError:
        log.exception("cashback bonus not granted: promotion %s, session %s, amount %s", promo.pk, session.pk, amount)
