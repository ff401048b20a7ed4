"""Liability limits per selection (issue 18): the most the book may lose on one selection.

Liability is the sum, over the selection's open bets, of potential return minus stake
(``exposure``). Under a storm of bets on one selection that total is a hot aggregate, so it
is never one row every bet writes (seeds/000 and seeds/003: split the hot aggregate; the
promotion codes' strict limit tokens are the same idea). It lives in
``LiabilityShard`` rows, K per selection (``settings.SPORTSBOOK_LIABILITY_SHARDS``), and a
bet adds its exposure to one shard, inside the bet's own transaction (after the event's
share lock, before the account debit), so a bet refused later (funds, a lost race) reserves
nothing.

Two modes (``Selection.liability_mode``):

* **strict** (never exceeded): shard i may hold at most ``cap_i``: ``max_liability / K``
  truncated to the cent, the last shard the remainder, so the caps add up to the limit
  exactly. Caps are derived from the current limit inside each statement, never stored;
  a trader's change (``set_max_liability``) lays the reserved total out again under the new
  caps, in the same transaction, and applies to the next bet. A bet takes, in order:

  1. one free shard with room: a conditional UPDATE of a shard picked at random among the
     unlocked ones with room (``FOR UPDATE SKIP LOCKED``): no waiting behind another bet;
  2. if every shard with room is busy: the conditional UPDATE ``reserved + x <= cap`` on
     each shard that had room, in random order, each at most once (waits for that shard);
  3. if no single shard has room for the whole exposure (fragmentation: room is spread
     over shards), the exact path: lock all K shards in shard order, and either spread
     the exposure over shards with room (each stays under its cap) or refuse with the exact
     most the player can stake (``LiabilityLimitReached.max_stake``). So a refusal is never
     caused by fragmentation: the declared cost is that bets near the limit serialise.

  Each shard stays <= its cap and the caps add up to the limit: the sum never exceeds it.

* **overbook** (a declared, measured tolerance): read the shards' sum without a lock, refuse
  if ``sum + x`` is over the limit, else add to one shard unconditionally. Concurrent bets
  that all read the same sum may overshoot by at most about (bets in flight - 1) x one bet's
  exposure; ``make bench`` (liability_storm) measures it.

A selection without a limit (``max_liability`` NULL) is not checked and reserves nothing.
Shard rows are created lazily (``INSERT ... ON CONFLICT DO NOTHING`` for all K) by the first
bet that finds none, and when a trader sets a limit (``set_max_liability``).
"""

from __future__ import annotations

import random
from decimal import ROUND_FLOOR, Decimal

from django.conf import settings
from django.db import connection, transaction

from casino.exceptions import LiabilityLimitReached
from casino.models import Selection, Sportsbet
from casino.models.sportsbook import BetLeg, LiabilityShard
from casino.odds import potential_return
from casino.services.markets import lock_market
from core.audit import audit
from core.exceptions import DomainError
from core.money import format_money, parse_amount
from core.versioning import retry_on_conflict, versioned_update

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
MAX_LIABILITY = Decimal("999999999999.99")  # the column: 14 digits, 2 decimals
SHARD = LiabilityShard._meta.db_table
SELECTION = Selection._meta.db_table

# The cap of shard ``ls.shard`` from the selection row ``s``: limit / K truncated to the cent,
# the last shard the remainder. Derived in every statement from the current limit.
_CAP = (
    "CASE WHEN ls.shard = %(k)s - 1 "
    "THEN s.max_liability - trunc(s.max_liability / %(k)s, 2) * (%(k)s - 1) "
    "ELSE trunc(s.max_liability / %(k)s, 2) END"
)

# 1. A free shard with room, no waiting: the pick locks it (SKIP LOCKED passes rows other bets
# hold) and rechecks the room on its latest version; the UPDATE then adds to that row.
_TAKE_FREE_SHARD = f"""
    WITH pick AS (
        SELECT ls.id FROM {SHARD} ls JOIN {SELECTION} s ON s.id = ls.selection_id
        WHERE ls.selection_id = %(selection)s AND ls.shard < %(k)s AND ls.reserved + %(x)s <= {_CAP}
        ORDER BY random() LIMIT 1
        FOR UPDATE OF ls SKIP LOCKED
    )
    UPDATE {SHARD} ls SET reserved = ls.reserved + %(x)s FROM pick WHERE ls.id = pick.id
    RETURNING ls.shard
"""  # noqa: S608 - table names from model meta, values bound

# 2. One given shard, waiting for it if a bet holds it: the condition is rechecked on the
# version that bet committed.
_TAKE_SHARD = f"""
    UPDATE {SHARD} ls SET reserved = ls.reserved + %(x)s FROM {SELECTION} s
    WHERE s.id = ls.selection_id AND ls.selection_id = %(selection)s AND ls.shard = %(shard)s
      AND ls.reserved + %(x)s <= {_CAP}
    RETURNING ls.shard
"""  # noqa: S608 - table names from model meta, values bound

# What the shards held when this statement started (no lock): which shards are worth waiting for.
_SNAPSHOT = f"""
    SELECT ls.shard, ls.reserved, {_CAP} FROM {SHARD} ls JOIN {SELECTION} s ON s.id = ls.selection_id
    WHERE ls.selection_id = %(selection)s ORDER BY ls.shard
"""  # noqa: S608 - table names from model meta, values bound

_ENSURE = f"""
    INSERT INTO {SHARD} (selection_id, shard, reserved)
    SELECT %(selection)s, g, 0 FROM generate_series(0, %(k)s - 1) AS g
    ON CONFLICT (selection_id, shard) DO NOTHING
"""  # noqa: S608 - table names from model meta, values bound

_LOCK_ALL = f"""
    SELECT shard, reserved FROM {SHARD} WHERE selection_id = %(selection)s ORDER BY shard FOR UPDATE
"""  # noqa: S608 - table names from model meta, values bound


def shard_count() -> int:
    return max(1, int(settings.SPORTSBOOK_LIABILITY_SHARDS))


def exposure_of(*, stake: Decimal, odds: Decimal) -> Decimal:
    """What a bet adds to the book's liability: potential return (half-up to the cent, as
    settlement pays it) minus the stake."""
    return potential_return(stake, odds) - stake


def shard_caps(*, max_liability: Decimal, shards: int | None = None) -> list[Decimal]:
    """Each shard's cap in strict mode: the limit / K truncated to the cent, the last shard the
    remainder (the same arithmetic as the SQL). They add up to the limit exactly."""
    k = shards or shard_count()
    base = (max_liability / k).quantize(CENT, rounding=ROUND_FLOOR)
    return [base] * (k - 1) + [max_liability - base * (k - 1)]


def max_stake_for(*, room: Decimal, odds: Decimal) -> Decimal:
    """The largest stake (to the cent) whose exposure fits in ``room`` at ``odds``.

    ``stake x (odds - 1) <= room`` with ``room`` a whole number of cents also bounds the
    rounded potential return, so this stake's ``exposure_of`` is <= room."""
    if room <= 0:
        return ZERO
    return max(ZERO, (room / (Decimal(odds) - 1)).quantize(CENT, rounding=ROUND_FLOOR))


def refusal(*, selection: Selection, room: Decimal, odds: Decimal) -> LiabilityLimitReached:
    most = max_stake_for(room=room, odds=odds)
    if most <= 0:
        return LiabilityLimitReached(
            f"We cannot take more bets on {selection.name} now: its limit is reached.", max_stake=ZERO
        )
    return LiabilityLimitReached(
        f"The most you can stake on {selection.name} now is {format_money(most)}.", max_stake=most
    )


# --- reserving --------------------------------------------------------------------------------------
def reserve(*, selection: Selection, exposure: Decimal, odds: Decimal | None = None) -> None:
    """Add ``exposure`` to ``selection``'s liability, or raise ``LiabilityLimitReached``.

    Call inside the bet's transaction, after the event's share lock and before the account
    debit: the reservation commits or rolls back with the bet. ``odds`` is the bet's price,
    for the refusal's "most you can stake" (default: the selection's; an accumulator leg
    passes the accumulator's combined odds). No limit (``max_liability`` None): nothing.
    """
    if selection.max_liability is None:
        return
    exposure = Decimal(exposure)
    if exposure <= 0:
        return
    odds = Decimal(odds if odds is not None else selection.odds)
    if selection.liability_mode == Selection.LiabilityMode.OVERBOOK:
        _reserve_overbook(selection=selection, exposure=exposure, odds=odds)
    else:
        _reserve_strict(selection=selection, exposure=exposure, odds=odds)


def _reserve_strict(*, selection: Selection, exposure: Decimal, odds: Decimal) -> None:
    k = shard_count()
    params = {"selection": selection.pk, "k": k, "x": exposure}
    # 1. Any free shard with room: no waiting.
    if _try(_TAKE_FREE_SHARD, params):
        return
    with connection.cursor() as cursor:
        cursor.execute(_SNAPSHOT, params)
        snapshot = cursor.fetchall()
        if len(snapshot) < k:  # the first bet on this limit: make the shards, then try again
            cursor.execute(_ENSURE, params)
    if len(snapshot) < k:
        if _try(_TAKE_FREE_SHARD, params):
            return
        with connection.cursor() as cursor:
            cursor.execute(_SNAPSHOT, params)
            snapshot = cursor.fetchall()
    # 2. Every shard with room is held by a bet in flight: wait for one, then recheck.
    candidates = [shard for shard, reserved, cap in snapshot if cap is not None and reserved + exposure <= cap]
    random.shuffle(candidates)
    for shard in candidates:
        if _try(_TAKE_SHARD, {**params, "shard": shard}):
            return
    # 3. No single shard has room for it: the exact path.
    _reserve_spread(selection=selection, exposure=exposure, odds=odds, k=k)


class _NoRow(Exception):  # noqa: N818 - a signal inside this module
    pass


def _try(sql: str, params: dict) -> bool:
    """Run one conditional shard UPDATE in a savepoint; True if it took a row.

    A row whose condition fails on recheck (after waiting for the bet that held it) stays
    locked by PostgreSQL; rolling back to the savepoint releases it (locks taken after a
    savepoint are released when it is rolled back to). So a bet never waits for a shard, or
    locks all K, while holding a shard it did not take: no deadlock between bets on one
    selection."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
            if cursor.fetchone() is None:
                raise _NoRow
            return True
    except _NoRow:
        return False


def _reserve_spread(*, selection: Selection, exposure: Decimal, odds: Decimal, k: int) -> None:
    """Lock all K shards in shard order and spread ``exposure`` over those with room, or refuse
    with the exact most the player can stake now."""
    with connection.cursor() as cursor:
        cursor.execute(_LOCK_ALL, {"selection": selection.pk})
        held = dict(cursor.fetchall())
        # Read after the locks: the limit as it is now (a statement's snapshot starts here).
        cursor.execute(f"SELECT max_liability FROM {SELECTION} WHERE id = %s", [selection.pk])  # noqa: S608
        row = cursor.fetchone()
    limit = row[0] if row else None
    if limit is None:  # the trader removed the limit meanwhile
        return
    caps = shard_caps(max_liability=limit, shards=k)
    rooms = {shard: caps[shard] - held.get(shard, ZERO) for shard in range(k)}
    # A shard over its cap (the limit was lowered) makes the sum of the other rooms more than
    # the true room; never go past the limit itself.
    room = min(sum((r for r in rooms.values() if r > 0), ZERO), limit - sum(held.values(), ZERO))
    if exposure > room:
        raise refusal(selection=selection, room=room, odds=odds)
    missing = [shard for shard in range(k) if shard not in held]
    if missing:  # unreachable after _ENSURE, unless K grew since: make them (they start at 0)
        with connection.cursor() as cursor:
            cursor.execute(_ENSURE, {"selection": selection.pk, "k": k})
    left = exposure
    adds: list[tuple[int, Decimal]] = []
    for shard, shard_room in sorted(rooms.items(), key=lambda item: (-item[1], item[0])):
        if left <= 0 or shard_room <= 0:
            break
        take = min(left, shard_room)
        adds.append((shard, take))
        left -= take
    with connection.cursor() as cursor:
        for shard, amount in adds:
            cursor.execute(
                f"UPDATE {SHARD} SET reserved = reserved + %s WHERE selection_id = %s AND shard = %s",  # noqa: S608
                [amount, selection.pk, shard],
            )


def _reserve_overbook(*, selection: Selection, exposure: Decimal, odds: Decimal) -> None:
    k = shard_count()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT s.max_liability, coalesce(sum(ls.reserved), 0), count(ls.id) FROM {SELECTION} s "  # noqa: S608
            f"LEFT JOIN {SHARD} ls ON ls.selection_id = s.id WHERE s.id = %s GROUP BY s.id",
            [selection.pk],
        )
        row = cursor.fetchone()
        if row is None or row[0] is None:
            return
        limit, known, shards = row
        if known + exposure > limit:
            raise refusal(selection=selection, room=limit - known, odds=odds)
        if shards < k:
            cursor.execute(_ENSURE, {"selection": selection.pk, "k": k})
        # Any free shard, else a random one (waiting for it): no condition, the check was the read.
        cursor.execute(
            f"WITH pick AS (SELECT id FROM {SHARD} WHERE selection_id = %(selection)s "  # noqa: S608
            "ORDER BY random() LIMIT 1 FOR UPDATE SKIP LOCKED) "
            f"UPDATE {SHARD} ls SET reserved = ls.reserved + %(x)s FROM pick WHERE ls.id = pick.id RETURNING ls.id",
            {"selection": selection.pk, "x": exposure},
        )
        if cursor.fetchone():
            return
        cursor.execute(
            f"UPDATE {SHARD} SET reserved = reserved + %s WHERE selection_id = %s AND shard = %s",  # noqa: S608
            [exposure, selection.pk, random.randrange(k)],
        )


# --- releasing ------------------------------------------------------------------------------------
def release(*, selection: Selection, exposure: Decimal) -> Decimal:
    """Give back ``exposure`` of ``selection``'s liability: an open bet left the book before its
    selection settled (early cash-out). Call inside that transaction, before touching the
    player's account. Settled selections take no more bets, so settlement releases nothing.
    Locks the K shards in shard order (releases are rare; the order is the exact path's, so
    no deadlock) and takes from the fullest first (the sum is what counts), never below zero;
    returns what it released. No limit: nothing (the shards are rebuilt from the open bets
    when a limit is set again)."""
    if selection.max_liability is None:
        return ZERO
    left = Decimal(exposure)
    released = ZERO
    with connection.cursor() as cursor:
        cursor.execute(_LOCK_ALL, {"selection": selection.pk})
        held = cursor.fetchall()
        for shard, reserved in sorted(held, key=lambda row: (-row[1], row[0])):
            take = min(reserved, left)
            if take <= 0:
                break
            cursor.execute(
                f"UPDATE {SHARD} SET reserved = reserved - %s WHERE selection_id = %s AND shard = %s",  # noqa: S608
                [take, selection.pk, shard],
            )
            left -= take
            released += take
    return released


# --- reading ------------------------------------------------------------------------------------
def liability_of(selection: Selection) -> Decimal:
    """The selection's reserved liability: the sum of its shards (no lock; for pages and traders)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT coalesce(sum(reserved), 0) FROM {SHARD} WHERE selection_id = %s", [selection.pk])  # noqa: S608
        return cursor.fetchone()[0]


def open_exposure(selection: Selection) -> Decimal:
    """Exposure of the selection's open bets, computed from the bets themselves: its singles, and
    every open accumulator with a leg on it (an accumulator's whole exposure counts on each of
    its selections, as ``reserve`` is called for each leg)."""
    sql = f"""
        SELECT coalesce(sum(round(b.stake * b.odds, 2) - b.stake), 0) FROM {Sportsbet._meta.db_table} b
        WHERE b.status = %(open)s AND (
            b.selection_id = %(selection)s
            OR b.id IN (SELECT bet_id FROM {BetLeg._meta.db_table} WHERE selection_id = %(selection)s)
        )
    """  # noqa: S608 - table names from model meta, values bound
    with connection.cursor() as cursor:
        cursor.execute(sql, {"open": Sportsbet.Status.OPEN, "selection": selection.pk})
        return cursor.fetchone()[0]


# --- the trader's limit ---------------------------------------------------------------------------
def set_max_liability(*, selection: Selection, max_liability, mode: str | None = None, actor=None) -> Selection:
    """Set (or, with ``None``, remove) a selection's liability limit and its mode; audited.

    Takes the selection's market row exclusively, so bets in flight on the market (they
    share-lock it) commit first and new ones wait: the shards are consistent with the open
    bets here. A limit set on a selection that had none rebuilds the shards from its open bets
    (bets placed without a limit reserved nothing). Lowering a limit below what is already
    reserved refuses every new bet until cash-outs bring it back under.
    """
    try:
        limit = (
            None
            if max_liability in (None, "")
            else parse_amount(max_liability, field="Maximum liability", maximum=MAX_LIABILITY)
        )
    except DomainError as exc:
        raise DomainError(exc.message, field="max_liability") from exc
    mode = mode or selection.liability_mode
    if mode not in Selection.LiabilityMode.values:
        raise DomainError(f"Unknown liability mode {mode!r}.", field="liability_mode")

    def attempt() -> Selection:
        with transaction.atomic():
            current = Selection.objects.get(pk=selection.pk)
            lock_market(market_id=current.market_id)
            was = current.max_liability
            current.version = versioned_update(
                Selection, pk=current.pk, version=current.version, max_liability=limit, liability_mode=mode
            )
            current.max_liability, current.liability_mode = limit, mode
            if limit is not None:
                _rebuild(selection=current, from_bets=was is None)
            if actor is not None:
                audit(
                    actor=actor,
                    action="sportsbook.set_max_liability",
                    target=f"selection:{current.pk}",
                    old=None if was is None else str(was),
                    new=None if limit is None else str(limit),
                    mode=mode,
                )
            return current

    current = retry_on_conflict(attempt)
    selection.max_liability, selection.liability_mode, selection.version = (
        current.max_liability,
        current.liability_mode,
        current.version,
    )
    return current


def _rebuild(*, selection: Selection, from_bets: bool) -> None:
    """Lay the total out again under the new caps: shard by shard up to each cap, the last shard
    taking any excess (a limit set below what is already reserved). Under the market lock, with
    every shard locked. So after any change of limit each shard is within its cap whenever the
    total is within the limit, which is what strict mode's per-shard conditions rely on (caps
    of the old limit laid over the new one would let the sum pass it).

    ``from_bets``: the selection had no limit, so its bets reserved nothing: the total is the
    open bets' exposure; otherwise it is what the shards hold."""
    k = shard_count()
    with connection.cursor() as cursor:
        cursor.execute(_ENSURE, {"selection": selection.pk, "k": k})
        cursor.execute(_LOCK_ALL, {"selection": selection.pk})
        held = cursor.fetchall()
    total = open_exposure(selection) if from_bets else sum((reserved for _, reserved in held), ZERO)
    amounts = []
    for shard, cap in enumerate(shard_caps(max_liability=selection.max_liability, shards=k)):
        take = total if shard == k - 1 else min(total, cap)
        amounts.append(take)
        total -= take
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {SHARD} ls SET reserved = v.amount FROM unnest(%s::int[], %s::numeric[]) AS v(shard, amount) "  # noqa: S608
            "WHERE ls.selection_id = %s AND ls.shard = v.shard",
            [list(range(k)), amounts, selection.pk],
        )
        cursor.execute(f"DELETE FROM {SHARD} WHERE selection_id = %s AND shard >= %s", [selection.pk, k])  # noqa: S608


__all__ = [
    "exposure_of",
    "liability_of",
    "max_stake_for",
    "open_exposure",
    "release",
    "reserve",
    "set_max_liability",
    "shard_caps",
]
