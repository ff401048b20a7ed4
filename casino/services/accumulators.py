"""Accumulators (issue 18): one stake on 2-10 legs, each from a different event.

Pricing, stated once (the slip shows it, the bet stores it, settlement pays it):

- **combined odds** = the product of the legs' decimal odds, rounded **half-up to 2 decimals**
  (``combined_odds``). That rounded figure is the bet's ``odds``: the price shown on the slip,
  frozen on the bet, and paid when every leg wins (return = stake x combined odds, half-up to
  the cent, ``casino.odds.potential_return``).
- a **void leg counts as 1.00**: a bet with void legs pays stake x (product of its won legs'
  odds, rounded half-up to 2 decimals), half-up to the cent; the same two roundings, so with
  no void leg it is exactly the return the slip showed.
- every leg void: the stake is refunded.

Exactly once: a bet is placed once (unique (player, key), ledger key ``bet:<id>:stake``); a
leg's result is written once (``WHERE result = 'pending'``); a bet is settled by whichever
settlement holds its row lock (``SELECT ... FOR NO KEY UPDATE ORDER BY id``) and re-reads its
legs after the lock, so two events of one accumulator settled at the same instant by two
traders settle it once, the second seeing the first's legs; one payout per bet (one-to-one).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.conf import settings
from django.db import connection
from django.db.models import F
from django.utils import timezone

from accounts.services import apply_to_account, check_can_play
from casino.exceptions import BettingClosed, InvalidAccumulator, InvalidStake, MarketSuspended, OddsChanged
from casino.models import BetLeg, Payout, Selection, Sportsbet
from casino.models.sportsbook import Notice
from casino.odds import CENT, DECIMAL, format_odds, potential_return
from casino.services import liability
from casino.services.sportsbook import _lock_event_for_betting, _record_bet, _shown_odds, split_outcomes
from core.idempotency import client_key, idempotent
from core.money import format_money, parse_amount

MIN_LEGS = 2
ONE = Decimal("1.00")
GONE = "A selection on your slip is no longer offered: remove it and try again."

__all__ = ["SlipChange", "add_to_slip", "combined_odds", "place_accumulator", "settle_legs", "settled_odds"]


# --- pricing ---------------------------------------------------------------------
def combined_odds(odds) -> Decimal:
    """The product of ``odds`` (Decimals) rounded half-up to 2 decimals: the accumulator's price."""
    product = ONE
    for price in odds:
        product *= Decimal(price)
    try:
        return product.quantize(CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation:  # more digits than the context holds: far beyond any maximum
        return product


def settled_odds(results: list[tuple[str, Decimal]]) -> Decimal:
    """The price a fully decided accumulator pays: its won legs' odds multiplied, a void leg
    at 1.00, rounded like ``combined_odds``. ``results``: (leg result, leg odds) pairs."""
    return combined_odds(odds if result == Selection.Result.WON else ONE for result, odds in results)


# --- placing ---------------------------------------------------------------------
def place_accumulator(
    *, player, selections: list[Selection], stake, idempotency_key: str, expected_odds: dict | None = None
) -> Sportsbet:
    """Take ``stake`` once and record one accumulator on ``selections`` (2 to
    ``ACCUMULATOR_MAX_LEGS`` legs, each from a different event).

    ``expected_odds`` maps selection id -> the decimal price the player saw; if any leg's price
    moved since, ``OddsChanged`` names every moved leg and nothing moves. The bet's ``odds`` is
    the product of the legs' odds rounded half-up to 2 decimals (see the module docstring),
    refused above ``ACCUMULATOR_MAX_ODDS``; the stake is limited by the smallest ``max_stake``
    of the legs' markets. A repeated ``idempotency_key`` returns the bet it placed first
    (with other legs or another stake: ``IdempotencyKeyReused``).
    """
    key = client_key(idempotency_key)
    amount = parse_amount(stake, field="Stake")
    ids = _leg_ids(selections)
    seen = _expected_prices(expected_odds, ids)
    style = getattr(player, "odds_format", DECIMAL)

    def attempt() -> Sportsbet:
        check_can_play(player=player)
        legs = _lock_legs(ids)
        _check_prices(legs, seen, style=style)
        price = _check_price_and_stake(legs, amount)
        exposure = potential_return(amount, price) - amount
        for leg in legs:  # each leg's selection carries the whole bet's exposure (no limit: nothing)
            liability.reserve(selection=leg, exposure=exposure, odds=price)
        account = apply_to_account(player_id=player.pk, delta=-amount)
        bet = _record_bet(
            account=account,
            key=key,
            amount=amount,
            description=f"Accumulator ({len(legs)} legs) @ {price}",
            player_id=player.pk,
            kind=Sportsbet.Kind.ACCUMULATOR,
            selection=None,
            odds=price,
        )
        BetLeg.objects.bulk_create(
            [BetLeg(bet=bet, selection=leg, event_id=leg.market.event_id, odds=leg.odds) for leg in legs]
        )
        return bet

    def same(bet: Sportsbet) -> bool:
        if bet.kind != Sportsbet.Kind.ACCUMULATOR or bet.stake != amount:
            return False
        return set(bet.legs.values_list("selection_id", flat=True)) == set(ids)

    return idempotent(
        find=lambda: Sportsbet.objects.filter(player_id=player.pk, idempotency_key=key).first(),
        attempt=attempt,
        same=same,
    )


def _leg_ids(selections) -> list[int]:
    ids = [s.pk if isinstance(s, Selection) else s for s in selections or ()]
    if len(set(ids)) != len(ids):
        raise InvalidAccumulator("The same selection is on the slip twice.")
    if not MIN_LEGS <= len(ids) <= settings.ACCUMULATOR_MAX_LEGS:
        raise InvalidAccumulator(
            f"An accumulator has {MIN_LEGS} to {settings.ACCUMULATOR_MAX_LEGS} legs, not {len(ids)}."
        )
    return ids


def _expected_prices(expected_odds, ids: list[int]) -> dict[int, object] | None:
    if expected_odds is None:
        return None
    by_id = {int(k): v for k, v in expected_odds.items() if str(k).isdigit()}
    missing = [pk for pk in ids if pk not in by_id]
    if missing:
        raise InvalidAccumulator("The price of a leg is missing: check your slip and place the bet again.")
    return by_id


def _lock_legs(ids: list[int]) -> list[Selection]:
    """The legs as they are now, every event share-locked and checked open, every market
    checked open, every selection share-locked (a price change waits for this bet).

    Locks are taken in one fixed order, by event id (then market id): the event row is what a
    settlement claims, so two accumulators sharing two events can never wait on each other
    in a cycle with two settlements. (By market id alone two accumulators on different
    markets of the same two events could lock the events in opposite orders.)
    """
    legs = list(Selection.objects.select_related("market__event").filter(pk__in=ids))
    if len(legs) != len(ids):
        raise BettingClosed(GONE)
    legs.sort(key=lambda s: (s.market.event_id, s.market_id, s.pk))
    events = [s.market.event_id for s in legs]
    if len(set(events)) != len(events):
        raise InvalidAccumulator(
            "Two legs are from the same event: their results are linked, so they cannot be combined. "
            "Keep one selection per event."
        )
    for leg in legs:
        try:  # also refuses a suspended market (MarketSuspended), read under the same share lock
            _lock_event_for_betting(market_id=leg.market_id, event_id=leg.market.event_id)
        except (BettingClosed, MarketSuspended) as exc:
            raise type(exc)(f"{leg.market.event} ({leg.market.name}): {exc.message}") from exc
    # The prices and liability limits, read under a share lock (the latest committed row): a
    # trader's change of either waits for this bet to commit.
    table = Selection._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, odds, max_liability, liability_mode FROM {table} "  # noqa: S608 - name from meta
            "WHERE id = ANY(%s) ORDER BY id FOR SHARE",
            [ids],
        )
        now = {row[0]: row[1:] for row in cursor.fetchall()}
    if len(now) != len(legs):
        raise BettingClosed(GONE)
    for leg in legs:
        leg.odds, leg.max_liability, leg.liability_mode = now[leg.pk]
    return legs


def _check_prices(legs: list[Selection], seen: dict | None, *, style: str) -> None:
    if seen is None:
        return
    moved = []
    for leg in legs:
        try:
            shown = Decimal(str(seen[leg.pk]).strip())
        except (InvalidOperation, ValueError):
            shown = None
        if shown is None or not shown.is_finite() or shown != leg.odds:
            was = _shown_odds(shown, style) if shown is not None and shown.is_finite() else str(seen[leg.pk])[:10]
            moved.append(f"{leg.name} from {was} to {format_odds(leg.odds, style)}")
    if moved:
        raise OddsChanged(f"The odds changed: {'; '.join(moved)}. Check the new prices and place the bet again.")


def _check_price_and_stake(legs: list[Selection], amount: Decimal) -> Decimal:
    maximum = Decimal(settings.ACCUMULATOR_MAX_ODDS)
    price = combined_odds(leg.odds for leg in legs)
    if price > maximum:
        raise InvalidAccumulator(
            f"The combined odds ({price:,.2f}) are above the maximum of {maximum:,.2f}: remove a leg."
        )
    smallest = min(legs, key=lambda s: (s.market.max_stake, s.market_id)).market
    if amount > smallest.max_stake:
        raise InvalidStake(
            f"The maximum stake on this accumulator is {format_money(smallest.max_stake)} "
            f"(the limit of {smallest.event}: {smallest.name})."
        )
    return price


# --- settling ---------------------------------------------------------------------
def settle_legs(*, event, parsed: dict, now) -> dict:
    """Settle the accumulator legs on ``event`` and every accumulator that is now decided.

    Called by ``settle_event`` inside the settlement's transaction, after the singles.
    ``parsed``: market id -> winning selection id or ``"void"``. Returns counts of the bets
    settled (``won``, ``lost``, ``void``), ``payouts``, ``queued_amount`` and ``player_ids``.

    A lost leg settles its bet as lost at once; a bet is won when its last leg is decided and
    none lost (void legs at 1.00), void (stake refunded) when every leg is void. Bets are
    row-locked in id order before their legs are read, so a concurrent settlement of another
    event of the same bet either finished first (and its legs are seen) or waits for this one.
    """
    report = {"won": 0, "lost": 0, "void": 0, "payouts": 0, "queued_amount": Decimal("0.00"), "player_ids": []}
    won_ids, void_markets, decided_markets = split_outcomes(parsed)
    pending = BetLeg.objects.filter(event=event, result=Selection.Result.PENDING)
    stamp = {"settled_at": now, "updated_at": now}
    touched = pending.filter(selection__market_id__in=void_markets).update(result=Selection.Result.VOID, **stamp)
    touched += pending.filter(selection_id__in=won_ids).update(result=Selection.Result.WON, **stamp)
    touched += pending.filter(selection__market_id__in=decided_markets).update(result=Selection.Result.LOST, **stamp)
    if not touched:
        return report

    bets = list(
        Sportsbet.objects.select_for_update(no_key=True)
        .filter(
            kind=Sportsbet.Kind.ACCUMULATOR,
            status=Sportsbet.Status.OPEN,
            pk__in=BetLeg.objects.filter(event=event).values("bet_id"),
        )
        .order_by("id")
        .only("id", "player_id", "stake")
    )
    if not bets:
        return report
    legs: dict[int, list[tuple[str, Decimal]]] = defaultdict(list)
    for bet_id, result, odds in BetLeg.objects.filter(bet_id__in=[b.pk for b in bets]).values_list(
        "bet_id", "result", "odds"
    ):
        legs[bet_id].append((result, odds))

    outcome: dict[str, list[Sportsbet]] = defaultdict(list)
    payouts: list[Payout] = []
    for bet in bets:
        results = [result for result, _ in legs[bet.pk]]
        if Selection.Result.LOST in results:
            outcome[Sportsbet.Status.LOST].append(bet)
        elif Selection.Result.PENDING in results:
            continue
        elif all(result == Selection.Result.VOID for result in results):
            outcome[Sportsbet.Status.VOID].append(bet)
            payouts.append(Payout(bet=bet, player_id=bet.player_id, kind=Payout.Kind.REFUND, amount=bet.stake))
        else:
            outcome[Sportsbet.Status.WON].append(bet)
            amount = potential_return(bet.stake, settled_odds(legs[bet.pk]))
            payouts.append(Payout(bet=bet, player_id=bet.player_id, kind=Payout.Kind.WIN, amount=amount))

    settled: list[Sportsbet] = []
    for status, group in outcome.items():
        # Conditional (the lock makes it a formality): a bet row is never settled twice.
        count = Sportsbet.objects.filter(pk__in=[b.pk for b in group], status=Sportsbet.Status.OPEN).update(
            status=status, settled_at=now, updated_at=now, version=F("version") + 1
        )
        report[status] = count
        settled += group
    # The bets were open under our lock, so none has a payout yet (one-to-one: a second would fail).
    queued = Payout.objects.bulk_create(payouts)
    report["payouts"] = len(queued)
    report["queued_amount"] = sum((p.amount for p in queued), Decimal("0.00"))
    Notice.objects.bulk_create(
        [Notice(player_id=b.player_id, kind=Notice.Kind.BET_SETTLED, bet_id=b.pk) for b in sorted(settled, key=_pk)],
        ignore_conflicts=True,
    )
    report["player_ids"] = sorted({p.player_id for p in queued})
    return report


def _pk(bet: Sportsbet) -> int:
    return bet.pk


# --- the bet slip (a list of selection ids kept in the player's web session) -----------------
@dataclass(frozen=True)
class SlipChange:
    """The slip after adding a selection; ``replaced``: the selection of the same event it replaced."""

    ids: list[int]
    replaced: Selection | None = None
    added: bool = True


def add_to_slip(*, legs: list[Selection], selection: Selection, now=None) -> SlipChange:
    """The slip ``legs`` (with market and event loaded) plus ``selection``.

    One selection per event: a second selection of an event replaces the first, in its place.
    At most ``ACCUMULATOR_MAX_LEGS``. A selection whose event is settled or started, or whose
    market is suspended, is refused with the same errors placing would give. Adding one already
    on the slip changes nothing (``added`` False). No database writes: the view stores ``ids``.
    """
    ids = [leg.pk for leg in legs]
    if selection.pk in ids:
        return SlipChange(ids=ids, added=False)
    event, market = selection.market.event, selection.market
    if event.status != event.Status.OPEN:
        raise BettingClosed(f"{event} is settled: betting is closed.")
    if event.starts_at <= (now or timezone.now()):
        raise BettingClosed(f"{event} has started: betting is closed.")
    if not market.is_open:
        raise MarketSuspended(f"{event} ({market.name}) is suspended: no bets for now. Try again in a moment.")
    same = next((leg for leg in legs if leg.market.event_id == market.event_id), None)
    if same is not None:
        return SlipChange(ids=[selection.pk if pk == same.pk else pk for pk in ids], replaced=same)
    if len(ids) >= settings.ACCUMULATOR_MAX_LEGS:
        raise InvalidAccumulator(
            f"Your slip holds at most {settings.ACCUMULATOR_MAX_LEGS} selections: remove one to add another."
        )
    return SlipChange(ids=[*ids, selection.pk])
