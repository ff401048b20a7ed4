"""Trading (issue 18): suspend and reopen a market, change a selection's price.

Every write here is one transaction: a versioned update of the row (``core.versioning``),
the audit row of the staff member who did it and, for a price, the ``OddsChange`` that
keeps the history (old -> new, who). Bets share-lock their market while they are placed
(``casino.services.sportsbook._lock_selection_for_betting``), so suspending waits for the bets
in flight to commit and any bet that starts after the suspension committed sees it
(``MarketSuspended``). A price change takes the market row exclusively too, and a single bet
reads its price after its share lock: a bet in flight commits at the old price before the
change, a bet that starts later prices at the new one. A slip holding the old price gets
``OddsChanged`` (its ``expected_odds`` no longer matches).
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from casino.exceptions import AlreadySettled, InvalidOdds, SelectionChanged
from casino.models import Market, OddsChange, Selection, SportEvent
from core.audit import audit
from core.versioning import retry_on_conflict, versioned_update

MIN_ODDS = Decimal("1.00")  # exclusive: a price of 1.00 pays the stake back and nothing else
MAX_ODDS = Decimal("1000.00")
CENT = Decimal("0.01")


def parse_odds(value) -> Decimal:
    """``value`` as decimal odds: above 1.00, at most 1000, at most two decimals (else ``InvalidOdds``).

    Accepts a Decimal, an int or a plain decimal string; never a float."""
    if isinstance(value, (bool, float)):
        raise InvalidOdds("Odds must be a decimal price like 2.50, not a float.")
    if isinstance(value, Decimal):
        odds = value
    elif isinstance(value, (int, str)):
        text = str(value).strip()
        if not text or not text.isascii() or len(text) > 12:
            raise InvalidOdds()
        try:
            odds = Decimal(text)
        except InvalidOperation as exc:
            raise InvalidOdds() from exc
    else:
        raise InvalidOdds()
    if not odds.is_finite() or "e" in str(value).lower():
        raise InvalidOdds()
    if odds <= MIN_ODDS:
        raise InvalidOdds("Odds must be above 1.00 (a price of 1.00 pays nothing).")
    if odds > MAX_ODDS:
        raise InvalidOdds(f"Odds may be at most {MAX_ODDS:.2f}.")
    if odds != odds.quantize(CENT, rounding=ROUND_DOWN):
        raise InvalidOdds("Odds have at most two decimals, e.g. 2.45.")
    return odds.quantize(CENT)


def suspend_market(*, market: Market, actor) -> Market:
    """Stop taking bets on ``market`` (versioned, audited). Suspending a suspended market is a
    no-op that returns it (no audit row). Refused once its event is settled (``AlreadySettled``)."""
    return _set_status(market=market, status=Market.Status.SUSPENDED, actor=actor, action="sportsbook.suspend_market")


def reopen_market(*, market: Market, actor) -> Market:
    """Take bets on ``market`` again (versioned, audited). Reopening an open market is a no-op."""
    return _set_status(market=market, status=Market.Status.OPEN, actor=actor, action="sportsbook.reopen_market")


def _set_status(*, market: Market, status: str, actor, action: str) -> Market:
    def attempt() -> Market:
        with transaction.atomic():
            current = Market.objects.select_related("event").get(pk=market.pk)
            if current.status == status:
                return current
            if current.event.status != SportEvent.Status.OPEN:
                raise AlreadySettled(f"{current.event} is settled: its markets no longer change.")
            current.version = versioned_update(
                Market, pk=current.pk, version=current.version, status=status, updated_at=timezone.now()
            )
            old, current.status = current.status, status
            audit(actor=actor, action=action, target=f"market:{current.pk}", event=current.event_id, before=old)
            return current

    current = retry_on_conflict(attempt)
    market.status, market.version = current.status, current.version
    return current


def lock_market(*, market_id: int) -> None:
    """Take the market row exclusively for a trader's change to its selections (a price, a
    liability limit). Bets share-lock the market and read their selection's price and limit
    after (``sportsbook._lock_selection_for_betting``), so bets in flight commit first, under
    the old values, and a bet that starts now waits and reads the new ones."""
    Market.objects.select_for_update().filter(pk=market_id).values_list("pk").first()


def change_odds(*, selection: Selection, odds, actor, expected_version: int | None = None) -> Selection:
    """Set ``selection``'s price to ``odds`` (versioned), with its ``OddsChange`` row and an audit
    row in the same transaction. Open bets keep the price they took.

    ``expected_version``: the selection's version the trader saw; if somebody changed it since,
    ``SelectionChanged`` (nothing written). ``InvalidOdds`` for a price that is not above 1.00,
    over 1000 or has more than two decimals; ``AlreadySettled`` once the event or the market is
    settled. The same price again is a no-op returning the selection (no history row).
    """
    new_odds = parse_odds(odds)

    def attempt() -> Selection:
        with transaction.atomic():
            current = Selection.objects.select_related("market__event").get(pk=selection.pk)
            # (A change that committed since the read above is a version conflict below: retried.)
            lock_market(market_id=current.market_id)
            if expected_version is not None and current.version != expected_version:
                raise SelectionChanged(
                    f"The price of {current.name} was changed by somebody else (now {current.odds}): "
                    "check it and try again."
                )
            if current.market.event.status != SportEvent.Status.OPEN or current.result != Selection.Result.PENDING:
                raise AlreadySettled(f"{current.market} is settled: its prices are history.")
            if current.odds == new_odds:
                return current
            old_odds = current.odds
            current.version = versioned_update(
                Selection, pk=current.pk, version=current.version, odds=new_odds, updated_at=timezone.now()
            )
            current.odds = new_odds
            OddsChange.objects.create(selection=current, old_odds=old_odds, new_odds=new_odds, changed_by=actor)
            audit(
                actor=actor,
                action="sportsbook.change_odds",
                target=f"selection:{current.pk}",
                market=current.market_id,
                old=str(old_odds),
                new=str(new_odds),
            )
            return current

    current = retry_on_conflict(attempt)
    selection.odds, selection.version = current.odds, current.version
    return current


__all__ = ["MAX_ODDS", "change_odds", "lock_market", "parse_odds", "reopen_market", "suspend_market"]
