"""Early cash-out (issue 18): settle an open bet now, at a fair price, before its events end.

The offer
---------
The fair value of an open bet is what its return is worth at the prices the book offers
now. A leg placed at ``p`` whose selection is now priced ``c`` is worth ``p / c`` of a
unit staked on it; a leg already won is worth its placed price ``p`` ("already in"); a
void leg counts 1.00 (as settlement counts it); a lost leg makes the bet worthless::

    value = stake x product(placed odds of won and open legs) / product(current odds of open legs)
    offer = value x (1 - SPORTSBOOK_CASH_OUT_MARGIN), rounded DOWN to the cent,
            never above the bet's potential return (stake x placed odds, as settlement pays)

A single is a one-leg case: ``stake x placed odds / current odds x (1 - margin)``.

Worked examples (margin 0.05):

- single, 10.00 at 2.00, now 1.60: 10 x 2.00 / 1.60 = 12.50; x 0.95 = 11.875 -> **11.87**;
- accumulator, 10.00 on three legs placed at 2.00 (won), 1.50 (void) and 3.00 (open, now
  2.50): 10 x 2.00 x 1.00 x 3.00 / 2.50 = 24.00; x 0.95 -> **22.80**;
- the same accumulator with the 1.50 leg lost: no offer.

No offer (``None``; ``cash_out_quote`` says why) when the bet is not open, when any open
leg's market is suspended, when any open leg's event is settled (its settlement is in
flight), when a leg has lost, when no leg is still open (the bet is about to settle),
or when the offer rounds to 0.00.

In-play: an event that has *started* still has an offer while its market is open and it
is not settled (in-play cash-out; an accumulator spans days, so refusing once the first
match kicked off would make the feature useless for it). The trader's tool for a price
that is stale in play is suspending the market, which withdraws the offer at once.

The write (``cash_out_early``)
------------------------------
One transaction: share-lock the markets and events of the bet's legs (``FOR SHARE``, as
placing a bet does, so a settlement's or a suspension's UPDATE of those rows waits for
the cash-out and a cash-out arriving after them sees them), recompute the offer from the
rows as they are now, compare it with the one the player accepted (``expected_offer``),
then a versioned update of the bet open -> cashed_out, a queued ``Payout`` of kind
``cash_out`` and a "bet settled" notice. No money moves here: the payout is paid by the
existing queue (``pay_out_player``), enqueued after commit, so a player sitting at a
machine is paid when they leave it.

Against settlement, exactly one wins: settlement claims the event with a versioned
UPDATE (waiting for our share lock) and then settles bets ``WHERE status = 'open'``, so a
cashed-out bet is skipped; a cash-out that comes second either sees the event settled
under its lock or loses the bet's versioned update, re-reads, and is refused.

Idempotency: the player's key is stored (scoped to the bet) in the audit row written
with the cash-out; a replay of that key returns the same payout, another key on a
cashed-out bet is ``CashOutUnavailable`` ("already cashed out"). The one payout per bet
(``Payout.bet`` is one-to-one) and the bet's versioned update make a second cash-out
impossible whatever the key.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.utils import timezone

from casino.exceptions import CashOutOfferChanged, CashOutUnavailable
from casino.models import BetLeg, Market, Payout, Selection, SportEvent, Sportsbet
from casino.models.sportsbook import Notice
from casino.services import liability
from core.audit import audit
from core.exceptions import ConcurrencyConflict
from core.idempotency import Replay, idempotent, scoped_key
from core.models import AuditLog
from core.money import format_money
from core.versioning import versioned_update

__all__ = [
    "AUDIT_ACTION",
    "CashOutQuote",
    "LegPrice",
    "cash_out_early",
    "cash_out_offer",
    "cash_out_quote",
    "fair_offer",
]

CENT = Decimal("0.01")
ONE = Decimal("1")
AUDIT_ACTION = "sportsbook.cash_out_early"

PENDING = Selection.Result.PENDING
WON = Selection.Result.WON
LOST = Selection.Result.LOST
VOID = Selection.Result.VOID


# --- the formula (pure) ------------------------------------------------------------
@dataclass(frozen=True)
class LegPrice:
    """One leg as the offer sees it: the price taken, the price now (open legs), its result."""

    placed: Decimal
    current: Decimal | None = None
    result: str = PENDING


def cash_out_margin() -> Decimal:
    margin = Decimal(str(settings.SPORTSBOOK_CASH_OUT_MARGIN))
    if not (Decimal("0") <= margin < ONE):
        raise ImproperlyConfigured("SPORTSBOOK_CASH_OUT_MARGIN must be at least 0 and below 1.")
    return margin


def fair_offer(
    *, stake: Decimal, legs: Iterable[LegPrice], potential_return: Decimal, margin: Decimal | None = None
) -> Decimal | None:
    """The offer for ``stake`` on ``legs`` (see the module docstring), or None: a lost leg,
    no open leg left, or an offer below one cent. Never above ``potential_return``."""
    margin = cash_out_margin() if margin is None else margin
    value = Decimal(stake)
    any_open = False
    for leg in legs:
        if leg.result == LOST:
            return None
        if leg.result == VOID:
            continue
        if leg.result == WON:
            value *= leg.placed
            continue
        if leg.current is None or leg.current <= ONE:
            return None  # an open leg without a price cannot be valued
        any_open = True
        value = value * leg.placed / leg.current
    if not any_open:
        return None
    offer = min((value * (ONE - margin)).quantize(CENT, rounding=ROUND_DOWN), potential_return)
    return offer if offer > 0 else None


# --- reading the bet's state ----------------------------------------------------------
@dataclass(frozen=True)
class CashOutQuote:
    """The offer for a bet now (``offer``), or None with the reason for the player."""

    offer: Decimal | None
    reason: str = ""

    @property
    def available(self) -> bool:
        return self.offer is not None


@dataclass(frozen=True)
class _LegRef:
    selection_id: int
    market_id: int
    placed: Decimal
    leg_id: int | None  # None: the selection of a single


def _leg_refs(bet: Sportsbet) -> list[_LegRef]:
    """The legs' selections and markets (they never change once the bet is placed)."""
    if bet.kind == Sportsbet.Kind.ACCUMULATOR:
        rows = (
            BetLeg.objects.filter(bet_id=bet.pk)
            .order_by("id")
            .values_list("id", "selection_id", "odds", "selection__market_id")
        )
        return [_LegRef(selection_id=s, market_id=m, placed=odds, leg_id=leg) for leg, s, odds, m in rows]
    market_id = Selection.objects.filter(pk=bet.selection_id).values_list("market_id", flat=True).first()
    if market_id is None:
        return []
    return [_LegRef(selection_id=bet.selection_id, market_id=market_id, placed=bet.odds, leg_id=None)]


def _markets(market_ids: list[int], *, lock: bool) -> dict[int, tuple]:
    """{market id: (market name, market status, event name, event status)}; with ``lock``,
    share-locks the markets and their events, in event then market order (as placing does,
    so a settlement or a suspension waits for this transaction, and we see theirs)."""
    sql = (
        f"SELECT m.id, m.name, m.status, e.name, e.status FROM {Market._meta.db_table} m "  # noqa: S608 - meta names
        f"JOIN {SportEvent._meta.db_table} e ON e.id = m.event_id WHERE m.id = ANY(%s) ORDER BY e.id, m.id"
    )
    if lock:
        sql += " FOR SHARE OF m, e"
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(market_ids)])
        return {row[0]: row[1:] for row in cursor.fetchall()}


def _quote(bet: Sportsbet, *, lock: bool = False) -> CashOutQuote:
    if bet.status == Sportsbet.Status.CASHED_OUT:
        return CashOutQuote(None, "This bet is already cashed out.")
    if bet.status != Sportsbet.Status.OPEN:
        return CashOutQuote(None, "This bet is settled: there is nothing to cash out early.")
    refs = _leg_refs(bet)
    if not refs:
        return CashOutQuote(None, "This bet has no selections to price.")
    markets = _markets(sorted({ref.market_id for ref in refs}), lock=lock)
    # Read after the lock: results and prices as they are now (an event settled while we
    # waited for its row shows here with its legs' results).
    selections = dict(Selection.objects.filter(pk__in=[ref.selection_id for ref in refs]).values_list("id", "odds"))
    if bet.kind == Sportsbet.Kind.ACCUMULATOR:
        results = dict(BetLeg.objects.filter(bet_id=bet.pk).values_list("id", "result"))
    else:
        results = {None: PENDING}  # a single's outcome is its bet's status (open, checked above)
    legs = []
    for ref in refs:
        market_name, market_status, event_name, event_status = markets[ref.market_id]
        result = results.get(ref.leg_id, PENDING)
        if result == LOST:
            return CashOutQuote(None, f"A leg of this accumulator lost ({event_name}).")
        if result == PENDING:
            if event_status != SportEvent.Status.OPEN:
                return CashOutQuote(None, f"{event_name} is being settled: cash-out is closed.")
            if market_status != Market.Status.OPEN:
                return CashOutQuote(
                    None, f"The {market_name} market of {event_name} is suspended: cash-out is back when it reopens."
                )
        legs.append(LegPrice(placed=ref.placed, current=selections.get(ref.selection_id), result=result))
    if not any(leg.result == PENDING for leg in legs):
        return CashOutQuote(None, "Every leg is decided: this bet settles shortly.")
    offer = fair_offer(stake=bet.stake, legs=legs, potential_return=bet.potential_return)
    if offer is None:
        return CashOutQuote(None, "This bet is worth less than one cent now: no cash-out offer.")
    return CashOutQuote(offer)


def cash_out_quote(bet: Sportsbet) -> CashOutQuote:
    """The bet's early cash-out offer now, read from the database, with the reason when there
    is none (for the bet page)."""
    current = Sportsbet.objects.filter(pk=bet.pk).first()
    if current is None:
        return CashOutQuote(None, "There is no such bet.")
    return _quote(current)


def cash_out_offer(bet: Sportsbet) -> Decimal | None:
    """The bet's early cash-out offer now (see the module docstring), or None when there is none."""
    return cash_out_quote(bet).offer


# --- the write --------------------------------------------------------------------------
def _as_offer(expected_offer) -> Decimal | None:
    if expected_offer is None or isinstance(expected_offer, float):
        return None
    try:
        value = Decimal(str(expected_offer).strip())
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


def _key_used(*, bet_id: int, key: str) -> bool:
    return AuditLog.objects.filter(action=AUDIT_ACTION, target=f"sportsbet:{bet_id}", details__key=key).exists()


def _replay(*, bet_id: int, key: str) -> Payout | None:
    """The payout of this bet's cash-out made with ``key``, if that is what happened."""
    if not Sportsbet.objects.filter(pk=bet_id, status=Sportsbet.Status.CASHED_OUT).exists():
        return None
    if not _key_used(bet_id=bet_id, key=key):
        return None
    return Payout.objects.filter(bet_id=bet_id).first()


def cash_out_early(*, bet: Sportsbet, expected_offer, idempotency_key: str) -> Payout:
    """Settle the open ``bet`` now for the offer the player accepted (``expected_offer``).

    Returns the queued cash-out ``Payout`` (paid by the payout queue once the player is not
    at a machine). ``CashOutOfferChanged`` (its ``offer`` the new one) when the offer moved
    since the player saw it; ``CashOutUnavailable`` with the reason when there is no offer
    (or the bet is already cashed out with another key). Nothing moves in either case. The
    same ``idempotency_key`` again returns the same payout; with a different
    ``expected_offer`` it is ``IdempotencyKeyReused``.
    """
    key = scoped_key("cashout", bet.pk, idempotency_key)
    seen = _as_offer(expected_offer)

    def attempt() -> Payout:
        current = Sportsbet.objects.select_related("player").filter(pk=bet.pk).first()
        if current is None:
            raise CashOutUnavailable("There is no such bet.")
        if current.status == Sportsbet.Status.CASHED_OUT and _key_used(bet_id=current.pk, key=key):
            raise Replay(Payout.objects.get(bet_id=current.pk))
        quote = _quote(current, lock=True)
        if quote.offer is None:
            if current.status == Sportsbet.Status.OPEN and _event_moved_under_us(current):
                raise ConcurrencyConflict(label="casino.sportsbet", pk=current.pk)
            raise CashOutUnavailable(quote.reason)
        if seen != quote.offer:
            shown = format_money(seen) if seen is not None else "another amount"
            raise CashOutOfferChanged(
                f"The odds moved: the cash-out offer is now {format_money(quote.offer)} (it was {shown}). "
                "Accept the new offer to cash out.",
                offer=quote.offer,
            )
        now = timezone.now()
        current.version = versioned_update(
            Sportsbet,
            pk=current.pk,
            version=current.version,
            status=Sportsbet.Status.CASHED_OUT,
            settled_at=now,
            cash_out_amount=quote.offer,
        )
        _release_liability(current)
        payout = Payout.objects.create(
            bet_id=current.pk, player_id=current.player_id, kind=Payout.Kind.CASH_OUT, amount=quote.offer
        )
        # The player asked and is answered on the spot: the notice is born seen (as a paid-now payout's is).
        Notice.objects.create(
            player_id=current.player_id,
            kind=Notice.Kind.BET_SETTLED,
            bet_id=current.pk,
            amount=quote.offer,
            seen_at=now,
        )
        audit(
            actor=current.player,
            action=AUDIT_ACTION,
            target=f"sportsbet:{current.pk}",
            key=key,
            offer=str(quote.offer),
            payout=payout.pk,
        )
        player_id = current.player_id
        # robust: a broker outage must not undo a committed cash-out; the beat sweep pays it anyway.
        transaction.on_commit(lambda: _enqueue_payout(player_id), robust=True)
        return payout

    return idempotent(
        find=lambda: _replay(bet_id=bet.pk, key=key),
        attempt=attempt,
        same=lambda payout: payout.amount == seen,
        lookup_first=False,
    )


def _event_moved_under_us(bet: Sportsbet) -> bool:
    """The bet row changed since we read it (a settlement committed while we waited for a
    lock): re-run against the bet as it is now rather than answer from a stale read."""
    return not Sportsbet.objects.filter(pk=bet.pk, version=bet.version).exists()


def _enqueue_payout(player_id: int) -> None:
    from casino.tasks import pay_out_player  # noqa: PLC0415 - tasks call services; a service enqueues lazily

    pay_out_player.delay(player_id)


def _release_liability(bet: Sportsbet) -> None:
    """The bet leaves the book early: give its exposure back to the liability counters of its
    selection (a single) or of every leg's selection (an accumulator reserved its whole
    exposure on each), in selection order like every multi-shard lock (no deadlock)."""
    exposure = liability.exposure_of(stake=bet.stake, odds=bet.odds)
    if bet.selection_id is not None:
        selections = [Selection.objects.get(pk=bet.selection_id)]
    else:
        selections = [leg.selection for leg in bet.legs.select_related("selection").order_by("selection_id")]
    for selection in selections:
        if selection.max_liability is not None:
            liability.release(selection=selection, exposure=exposure)
