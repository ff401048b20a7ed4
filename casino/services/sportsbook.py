"""Sportsbook: place a bet, settle an event, pay queued payouts.

The design (seeds/002): the stake leaves the account when the bet is placed;
settling an event touches only bets and payouts (no money moves), and the
winnings sit in a queue of ``Payout`` rows that Celery pays into the account
when the player is not at a machine (on leaving a session, and by the beat
sweep). A player may also cash out one settled bet with a button.

Exactly-once, by construction:
- a bet is placed once: unique (player, idempotency key); the ledger key
  ``bet:<id>:stake`` is unique too;
- an event is settled once: a versioned status change on ``SportEvent``;
  bets are settled by conditional updates ``WHERE status = 'open'``;
- a bet has at most one payout: ``Payout.bet`` is one-to-one;
- a payout is paid once: conditional (versioned) update queued -> paid, and the
  ledger credit carries the idempotency key ``payout:<id>``.

Each settled bet and each paid payout leaves the player a ``Notice`` row, written
in the same transaction (so the notice exists exactly when the thing it announces
does, whoever is logged in where); ``casino.notices`` shows it once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from accounts import ledger
from accounts.models import LedgerTransaction
from accounts.services import apply_to_account, check_can_play, hold_player, move_money
from casino.exceptions import (
    AlreadySettled,
    BettingClosed,
    InvalidResult,
    InvalidStake,
    MarketSuspended,
    NotCashable,
    OddsChanged,
    PlayerInSession,
)
from casino.models import GameSession, Market, Payout, Selection, SportEvent, Sportsbet
from casino.models.sportsbook import Notice
from casino.odds import DECIMAL, format_odds
from casino.services import liability
from core.audit import audit
from core.exceptions import ConcurrencyConflict, DuplicateTransaction
from core.idempotency import client_key, idempotent
from core.money import format_money, parse_amount
from core.versioning import retry_on_conflict, versioned_update

logger = logging.getLogger(__name__)

VOID = "void"


# --- placing a bet --------------------------------------------------------------
def place_sportsbet(
    *, player, selection: Selection, stake, idempotency_key: str, expected_odds: Decimal | None = None
) -> Sportsbet:
    """Take ``stake`` from the player's account and record a single bet at the selection's odds.

    ``expected_odds`` is the price the player saw; if the selection's odds moved
    since, ``OddsChanged`` (nothing moves). A repeated ``idempotency_key`` returns
    the bet it placed first.
    """
    key = client_key(idempotency_key)
    amount = parse_amount(stake, field="Stake")

    def attempt() -> Sportsbet:
        check_can_play(player=player)
        market_id, event_id = _lock_selection_for_betting(selection_id=selection.pk)
        # Read after the lock: the price and the limit as they are now. A trader's price or
        # limit change takes the market row exclusively, so it committed before the lock was
        # granted (and is seen here) or waits for this bet to commit.
        current = Selection.objects.select_related("market__event").filter(pk=selection.pk).first()
        if current is None:
            raise BettingClosed("This selection is no longer offered.")
        if (current.market_id, current.market.event_id) != (market_id, event_id):  # cannot move while locked
            raise ConcurrencyConflict(label="casino.selection", pk=selection.pk)
        _check_odds(selection=current, expected_odds=expected_odds, style=getattr(player, "odds_format", DECIMAL))
        _check_max_stake(amount, market=current.market)
        if current.max_liability is not None:  # issue 18: in this transaction, before the debit
            liability.reserve(selection=current, exposure=liability.exposure_of(stake=amount, odds=current.odds))
        account = apply_to_account(player_id=player.pk, delta=-amount)
        return _record_bet(
            account=account,
            key=key,
            amount=amount,
            description=f"{current.market.event} - {current.name} @ {current.odds}",
            player_id=player.pk,
            selection=current,
            odds=current.odds,
        )

    return idempotent(
        find=lambda: _existing_bet(player_id=player.pk, key=key),
        attempt=attempt,
        same=lambda bet: bet.selection_id == selection.pk and bet.stake == amount,
    )


def _record_bet(*, account, key: str, amount: Decimal, description: str, **fields) -> Sportsbet:
    """The bet row (``fields``: player, selection or kind, odds) and its stake's ledger
    transaction ``bet:<id>:stake``, after the caller debited ``account`` in this transaction:
    a single and an accumulator alike. A key committed meanwhile by a concurrent double-click
    is ``DuplicateTransaction`` (the caller's retry finds that bet)."""
    try:
        with transaction.atomic():
            bet = Sportsbet.objects.create(stake=amount, idempotency_key=key, **fields)
    except IntegrityError as exc:
        raise DuplicateTransaction(label="casino.sportsbet", pk=key) from exc
    ledger.post(
        kind=LedgerTransaction.Kind.BET_STAKE,
        idempotency_key=f"bet:{bet.pk}:stake",
        entries=[(account.ledger_code, -amount), (ledger.SYSTEM_SPORTSBOOK, amount)],
        reference=f"sportsbet:{bet.pk}",
        description=description[:200],
    )
    return bet


def _existing_bet(*, player_id: int, key: str) -> Sportsbet | None:
    return Sportsbet.objects.filter(player_id=player_id, idempotency_key=key).first()


def _lock_selection_for_betting(*, selection_id: int) -> tuple[int, int]:
    """Share-lock the selection's market and its event (as ``_lock_event_for_betting``) and
    check they take bets; returns (market id, event id). A selection that is gone is
    ``BettingClosed``."""
    return _lock_for_betting(
        where=f"m.id = (SELECT market_id FROM {Selection._meta.db_table} WHERE id = %s)",  # noqa: S608 - meta
        param=selection_id,
        missing="This selection is no longer offered.",
    )


def _lock_event_for_betting(*, market_id: int, event_id: int) -> None:
    """Share-lock the market and its event, and check the event still takes bets.

    ``FOR SHARE`` lets any number of bets be placed at once (they do not block
    each other) but makes ``settle_event``'s status UPDATE wait for in-flight
    bets to commit, and makes a bet that starts after the settlement see it. So
    no bet can slip onto an event after its bets were settled. The market is
    locked too: a market moved to another event since we read it (only possible
    while it has no bets) is a lost race, re-run against the market as it is now;
    a suspended market (issue 18) refuses the bet with ``MarketSuspended``.
    """
    _, locked_event_id = _lock_for_betting(where="m.id = %s", param=market_id, missing="This event no longer exists.")
    if locked_event_id != event_id:
        raise ConcurrencyConflict(label="casino.market", pk=market_id)


def _lock_for_betting(*, where: str, param: int, missing: str) -> tuple[int, int]:
    """The one share-locking statement of ``_lock_event_for_betting`` and
    ``_lock_selection_for_betting``: (market id, event id) once the event and market are
    checked open."""
    sql = (
        f"SELECT m.id, e.id, e.status, e.starts_at, m.status FROM {Market._meta.db_table} m "  # noqa: S608 - meta
        f"JOIN {SportEvent._meta.db_table} e ON e.id = m.event_id WHERE {where} FOR SHARE OF m, e"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [param])
        row = cursor.fetchone()
    if row is None:
        raise BettingClosed(missing)
    market_id, event_id, status, starts_at, market_status = row
    if status != SportEvent.Status.OPEN:
        raise BettingClosed("This event is settled: betting is closed.")
    if starts_at <= timezone.now():
        raise BettingClosed("This event has started: betting is closed.")
    if market_status != Market.Status.OPEN:
        # Read under the same share lock: suspend_market's UPDATE waits for the bets in
        # flight, and a bet locking after the suspension committed reads it here.
        raise MarketSuspended()
    return market_id, event_id


def _check_odds(*, selection: Selection, expected_odds, style: str = DECIMAL) -> None:
    if expected_odds is None:
        return
    try:
        seen = Decimal(str(expected_odds).strip())
    except (InvalidOperation, ValueError):
        seen = None
    if seen is None or not seen.is_finite() or seen != selection.odds:
        shown = _shown_odds(seen, style) if seen is not None and seen.is_finite() else str(expected_odds)[:10]
        raise OddsChanged(
            f"The odds on {selection.name} changed from {shown} to {format_odds(selection.odds, style)}. "
            "Check the new price and bet again."
        )


def _shown_odds(odds: Decimal, style: str) -> str:
    """The price the player saw, in their format (a tampered price that is no price: as decimal)."""
    try:
        return format_odds(odds, style)
    except ValueError:
        return f"{odds:.2f}"


def _check_max_stake(amount: Decimal, *, market: Market) -> None:
    if amount > market.max_stake:
        raise InvalidStake(f"The maximum stake on {market.name} is {format_money(market.max_stake)}.")


# --- settling an event ------------------------------------------------------------
@dataclass
class Settlement:
    event: SportEvent
    won: int = 0
    lost: int = 0
    void: int = 0
    payouts: int = 0
    queued_amount: Decimal = Decimal("0.00")
    player_ids: list[int] = field(default_factory=list)


def parse_result(*, event: SportEvent, result: dict) -> dict[int, int | str]:
    """Check ``result`` names every market of the event exactly once.

    ``result`` maps market id -> winning selection id, or ``"void"`` (stakes
    refunded). Keys and selection ids may be ints or digit strings (admin form).
    """
    if not isinstance(result, dict) or not result:
        raise InvalidResult("Give a result for every market of the event.")
    markets = {m.pk: {s.pk for s in m.selections.all()} for m in event.markets.prefetch_related("selections")}
    if not markets:
        raise InvalidResult("This event has no markets to settle.")
    parsed: dict[int, int | str] = {}
    for raw_market, raw_outcome in result.items():
        market_id = _as_id(raw_market)
        if market_id not in markets or market_id in parsed:
            raise InvalidResult(f"Market {raw_market} is not a market of {event}.")
        if str(raw_outcome).strip().lower() == VOID:
            parsed[market_id] = VOID
            continue
        selection_id = _as_id(raw_outcome)
        if selection_id not in markets[market_id]:
            raise InvalidResult(f"Selection {raw_outcome} is not in market {market_id}.")
        parsed[market_id] = selection_id
    missing = set(markets) - set(parsed)
    if missing:
        raise InvalidResult(f"Missing a result for market(s) {', '.join(map(str, sorted(missing)))}.")
    return parsed


def _as_id(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    return int(text) if text.isascii() and text.isdigit() else None


def settle_event(*, event: SportEvent, result: dict, actor=None) -> Settlement:
    """Mark the result and settle every bet on the event exactly once.

    Winning bets get one queued ``Payout`` of stake x odds, void markets a queued
    refund of the stake, losing bets nothing. No money moves here: payouts are
    paid by ``pay_out_player``. Settling twice (or concurrently) raises
    ``AlreadySettled`` for everybody but the first. ``actor`` (staff) gets an
    audit row in the settlement's own transaction.
    """
    parsed = parse_result(event=event, result=result)

    def attempt() -> Settlement:
        with transaction.atomic():
            current = SportEvent.objects.get(pk=event.pk)
            if current.status != SportEvent.Status.OPEN:
                raise AlreadySettled(f"{current} was already settled.")
            now = timezone.now()
            # The claim: one settler wins this conditional UPDATE; it waits for
            # bets in flight (they hold FOR SHARE on the row) to commit first.
            current.version = versioned_update(
                SportEvent, pk=current.pk, version=current.version, status=SportEvent.Status.SETTLED, settled_at=now
            )
            report = _settle_bets(event=current, parsed=parsed, now=now)
            if actor is not None:
                audit(
                    actor=actor,
                    action="sportsbook.settle_event",
                    target=f"sportevent:{current.pk}",
                    result={str(k): str(v) for k, v in parsed.items()},
                    won=report.won,
                    lost=report.lost,
                    void=report.void,
                    queued=str(report.queued_amount),
                )
            # robust: a broker outage must not turn a committed settlement into an error;
            # the beat sweep enqueues from the database anyway.
            transaction.on_commit(_enqueue_payouts, robust=True)
            return report

    report = retry_on_conflict(attempt)
    event.refresh_from_db()
    logger.info("settled %s: %s won, %s lost, %s void", event, report.won, report.lost, report.void)
    return report


def split_outcomes(parsed: dict[int, int | str]) -> tuple[list[int], list[int], list[int]]:
    """A parsed result (market id -> winning selection id or ``"void"``) as the settlement's
    UPDATEs use it: (winning selection ids, void market ids, decided market ids)."""
    won_ids, void_market_ids, decided_market_ids = [], [], []
    for market_id, outcome in parsed.items():
        if outcome == VOID:
            void_market_ids.append(market_id)
        else:
            decided_market_ids.append(market_id)
            won_ids.append(outcome)
    return won_ids, void_market_ids, decided_market_ids


def _settle_bets(*, event: SportEvent, parsed: dict[int, int | str], now) -> Settlement:
    report = Settlement(event=event)
    won_ids, void_market_ids, decided_market_ids = split_outcomes(parsed)
    selections = Selection.objects.filter(market__event=event)
    selections.filter(market_id__in=void_market_ids).update(result=Selection.Result.VOID)
    selections.filter(pk__in=won_ids).update(result=Selection.Result.WON)
    selections.filter(market_id__in=decided_market_ids).exclude(pk__in=won_ids).update(result=Selection.Result.LOST)

    # Conditional, set-based updates (WHERE status = 'open', version bumped):
    # only the transaction that claimed the event gets here, and a bet row is
    # never settled twice even if this ran again. The conditions are on the bet row
    # itself (selection ids, no join): an UPDATE re-checks them on a row another
    # transaction changed meanwhile (an early cash-out), which a join's subquery would not.
    market_of = dict(selections.values_list("pk", "market_id"))
    open_bets = Sportsbet.objects.filter(status=Sportsbet.Status.OPEN)

    def settle(selection_ids, status) -> int:
        bets = open_bets.filter(selection_id__in=selection_ids)
        return bets.update(status=status, settled_at=now, version=F("version") + 1)

    report.won = settle(won_ids, Sportsbet.Status.WON)
    report.void = settle([s for s, m in market_of.items() if m in void_market_ids], Sportsbet.Status.VOID)
    report.lost = settle([s for s, m in market_of.items() if m in decided_market_ids], Sportsbet.Status.LOST)
    report.payouts, report.queued_amount = _queue_payouts(event_id=event.pk, now=now)
    _notify_settled(event_id=event.pk, now=now)
    report.player_ids = list(
        Payout.objects.filter(bet__selection__market__event=event).values_list("player_id", flat=True).distinct()
    )
    # Accumulators (issue 18): this event's legs, then every accumulator now decided, in this transaction.
    from casino.services.accumulators import settle_legs  # noqa: PLC0415 - accumulators imports this module

    accas = settle_legs(event=event, parsed=parsed, now=now)
    report.won += accas["won"]
    report.lost += accas["lost"]
    report.void += accas["void"]
    report.payouts += accas["payouts"]
    report.queued_amount += accas["queued_amount"]
    report.player_ids = sorted(set(report.player_ids) | set(accas["player_ids"]))
    return report


def _queue_payouts(*, event_id: int, now) -> tuple[int, Decimal]:
    """One set-based INSERT: a queued payout per won/void bet of the event.

    Amounts use the same rounding as ``Sportsbet.potential_return`` (half-up
    to the cent). ``ON CONFLICT (bet_id) DO NOTHING`` plus the one-to-one
    constraint make a payout per bet exactly once even for huge events.
    """
    payout, bet = Payout._meta.db_table, Sportsbet._meta.db_table
    selection, market = Selection._meta.db_table, Market._meta.db_table
    sql = f"""
        INSERT INTO {payout} (bet_id, player_id, kind, amount, state, version, created_at, updated_at)
        SELECT b.id, b.player_id,
               CASE WHEN b.status = %(won)s THEN %(win)s ELSE %(refund)s END,
               CASE WHEN b.status = %(won)s THEN round(b.stake * b.odds, 2) ELSE b.stake END,
               %(queued)s, 0, %(now)s, %(now)s
        FROM {bet} b
        JOIN {selection} s ON s.id = b.selection_id
        JOIN {market} m ON m.id = s.market_id
        WHERE m.event_id = %(event)s AND b.status IN (%(won)s, %(void)s)
        ON CONFLICT (bet_id) DO NOTHING
        RETURNING amount
    """  # noqa: S608 - table names from model meta, values bound
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                "won": Sportsbet.Status.WON,
                "void": Sportsbet.Status.VOID,
                "win": Payout.Kind.WIN,
                "refund": Payout.Kind.REFUND,
                "queued": Payout.State.QUEUED,
                "now": now,
                "event": event_id,
            },
        )
        amounts = [row[0] for row in cursor.fetchall()]
    return len(amounts), sum(amounts, Decimal("0.00"))


def _notify_settled(*, event_id: int, now) -> None:
    """One set-based INSERT: a "bet settled" notice per bet this settlement settled
    (those stamped ``settled_at = now``), in the settlement's transaction."""
    notice, bet = Notice._meta.db_table, Sportsbet._meta.db_table
    selection, market = Selection._meta.db_table, Market._meta.db_table
    sql = f"""
        INSERT INTO {notice} (player_id, kind, bet_id, created_at, updated_at)
        SELECT b.player_id, %(kind)s, b.id, %(now)s, %(now)s
        FROM {bet} b
        JOIN {selection} s ON s.id = b.selection_id
        JOIN {market} m ON m.id = s.market_id
        WHERE m.event_id = %(event)s AND b.settled_at = %(now)s
        ORDER BY b.id
        ON CONFLICT (bet_id, kind) DO NOTHING
    """  # noqa: S608 - table names from model meta, values bound
    with connection.cursor() as cursor:
        cursor.execute(sql, {"kind": Notice.Kind.BET_SETTLED, "now": now, "event": event_id})


def _enqueue_payouts() -> None:
    # Settled while the players are away from the machines: pay them now rather
    # than at the next beat tick. The sweep skips anybody in a session.
    from casino.tasks import sweep_payouts  # noqa: PLC0415 - tasks call services; a service enqueues lazily

    sweep_payouts.delay()


# --- paying payouts -------------------------------------------------------------
def player_in_session(*, player_id: int) -> bool:
    return GameSession.objects.filter(player_id=player_id, status=GameSession.Status.OPEN).exists()


def pay_out_player(*, player, actor=None) -> list[Payout]:
    """Pay every queued payout of ``player``, each in its own short transaction.

    Never while the player sits at a machine: each payout's transaction takes the
    player's gate exclusively and checks for an open session under it, so a session
    being opened either committed first (the payout waits for the player to leave:
    paid on ``leave`` or by the sweep) or opens after the payout committed. Returns
    what it paid (``[]`` while the player is in a session). Safe to run twice at once:
    each payout is paid by whoever wins its conditional update.
    """
    paid: list[Payout] = []
    payout_ids = list(
        Payout.objects.filter(player_id=player.pk, state=Payout.State.QUEUED)
        .order_by("id")
        .values_list("id", flat=True)
    )
    for payout_id in payout_ids:
        try:
            payout, did_pay = _pay(payout_id=payout_id, actor=actor)
        except PlayerInSession:
            logger.info("player %s sat down at a machine: remaining payouts wait", player.pk)
            break
        if did_pay:
            paid.append(payout)
    return paid


def cash_out_bet(*, bet: Sportsbet) -> Payout:
    """Pay one settled bet's payout into the account now (the player's button).

    Raises ``NotCashable`` for a bet without a payout (open or lost) and
    ``PlayerInSession`` while the player is at a machine. An already paid
    payout is returned as it is.
    """
    payout = Payout.objects.filter(bet_id=bet.pk).first()
    if payout is None:
        if bet.status == Sportsbet.Status.OPEN:
            raise NotCashable("This bet is not settled yet.")
        raise NotCashable("This bet has nothing to cash out.")
    if payout.state == Payout.State.PAID:
        return payout
    if player_in_session(player_id=payout.player_id):
        raise PlayerInSession()  # the quick answer; _pay checks again under the player's gate
    payout, _ = _pay(payout_id=payout.pk, announced=True)
    return payout


def _pay(*, payout_id: int, actor=None, announced: bool = False) -> tuple[Payout, bool]:
    """queued -> paid (versioned) plus one ledger credit keyed ``payout:<id>`` and the player's
    "payout paid" notice, in one transaction (with the audit row when staff paid it).
    ``announced``: the player asked for it and is told on the spot, so the notice is born seen."""

    def attempt() -> tuple[Payout, bool]:
        with transaction.atomic():
            payout = Payout.objects.get(pk=payout_id)
            if payout.state != Payout.State.QUEUED:
                return payout, False
            hold_player(player_id=payout.player_id)  # a session opening now waits for this payout
            if player_in_session(player_id=payout.player_id):
                raise PlayerInSession()
            now = timezone.now()
            payout.version = versioned_update(
                Payout, pk=payout.pk, version=payout.version, state=Payout.State.PAID, paid_at=now
            )
            payout.state, payout.paid_at = Payout.State.PAID, now
            move_money(
                player_id=payout.player_id,
                delta=payout.amount,
                counterparty=ledger.SYSTEM_SPORTSBOOK,
                kind=LedgerTransaction.Kind.PAYOUT,
                idempotency_key=payout.ledger_key,
                reference=f"sportsbet:{payout.bet_id}",
                description=f"{payout.get_kind_display()} for bet #{payout.bet_id}",
            )
            Notice.objects.create(
                player_id=payout.player_id,
                kind=Notice.Kind.PAYOUT_PAID,
                bet_id=payout.bet_id,
                amount=payout.amount,
                seen_at=now if announced else None,
            )
            if actor is not None:
                audit(
                    actor=actor,
                    action="sportsbook.pay_out_player",
                    target=f"payout:{payout.pk}",
                    player=payout.player_id,
                    bet=payout.bet_id,
                    amount=str(payout.amount),
                )
            return payout, True

    return retry_on_conflict(attempt)


def create_match_event(
    *,
    name: str,
    home: str,
    away: str,
    odds: tuple,
    starts_at=None,
    sport: str = "Football",
    max_stake: Decimal = Decimal("500.00"),
    extra_markets: dict | None = None,
) -> SportEvent:
    """A football match with a 1X2 ("Match result") market: home / draw / away.

    ``extra_markets`` (issue 18) adds more markets, each with its two prices:
    ``{"over_under": ("1.90", "1.90"), "btts": ("1.80", "2.00")}`` gives "Over/under 2.5 goals"
    (Over 2.5 / Under 2.5; ``"over_under_line"`` sets another line, default 2.5) and
    "Both teams to score" (Yes / No). Unknown keys raise ``ValueError`` (a programming error).
    """
    extra = dict(extra_markets or {})
    line = Decimal(str(extra.pop("over_under_line", "2.5")))
    unknown = set(extra) - {Market.Kind.OVER_UNDER, Market.Kind.BTTS}
    if unknown:
        raise ValueError(f"unknown market kinds: {', '.join(sorted(unknown))}")
    starts_at = starts_at or timezone.now() + timedelta(days=2)
    with transaction.atomic():
        event = SportEvent.objects.create(name=name, sport=sport, starts_at=starts_at)
        specs = [(Market.Kind.MATCH_RESULT, "Match result", None, (home, "Draw", away), odds)]
        if Market.Kind.OVER_UNDER in extra:
            labels = (f"Over {line}", f"Under {line}")
            specs.append((Market.Kind.OVER_UNDER, f"Over/under {line} goals", line, labels, extra["over_under"]))
        if Market.Kind.BTTS in extra:
            specs.append((Market.Kind.BTTS, "Both teams to score", None, ("Yes", "No"), extra["btts"]))
        for kind, market_name, market_line, labels, prices in specs:
            market = Market.objects.create(
                event=event, name=market_name, kind=kind, line=market_line, max_stake=max_stake
            )
            Selection.objects.bulk_create(
                [
                    Selection(market=market, name=label, odds=Decimal(str(price)))
                    for label, price in zip(labels, prices, strict=True)
                ]
            )
    return event


__all__ = [
    "VOID",
    "Settlement",
    "cash_out_bet",
    "create_match_event",
    "parse_result",
    "pay_out_player",
    "place_sportsbet",
    "player_in_session",
    "settle_event",
]
