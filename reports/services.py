"""The daily roll-up of the ledger (issue 19): ``DailyFigure`` rows per day, product, game, vendor.

Computed from the ledger only (``accounts_ledgertransaction`` / ``accounts_ledgerentry``), by
one set-based ``INSERT ... SELECT ... GROUP BY`` per day, after a ``DELETE`` of that day's
rows, in one database transaction per day: re-running it changes nothing (``computed_at``
and the rows' ids aside). Days are calendar days in ``settings.TIME_ZONE``; a transaction
belongs to the day of its ``created_at``.

Which days a run recomputes (``roll_up``): every day touched by a ledger transaction with an
id above the watermark (``RollupState.rolled_through_tx``), plus today and yesterday always.
The new watermark is the highest transaction id committed when the run starts. A
transaction still in flight then gets an id below the watermark but commits later; it is
stamped (``created_at``) when it was written, today or yesterday, and those days are
recomputed by every run. ASSUMPTION: no money transaction stays open across more than a day
(services post inside short database transactions). A run takes a PostgreSQL advisory lock
(session level, ``LOCK_KEY``): a second run at the same time waits for the first, then reads
the watermark the first left and recomputes only what is still new.

Figures, from the legs the services write (``casino.services.sessions._post_spin``,
``casino.services.sportsbook``/``accumulators``, ``promotions.services``/``effects``,
``accounts.services.wallet``); money is Decimal, figures are positive amounts:

- ``slots`` (one row per game and vendor): the transaction's ``session:<id>`` or
  ``sessionbonus:<id>`` leg names the game session -> its game -> the game's vendor (the vendor
  the game has when the day is computed). Over SPIN transactions:
  stakes = the ``system:house`` legs > 0 (the stake, cash and bonus money alike);
  wins = -(the ``system:house`` legs < 0) (wins paid from the house, to cash or bonus money);
  bonus_cost = -(the ``system:promotions`` legs < 0): free-spin wins and vendor win boosts,
  paid into the machine as cash. A losing free spin writes no transaction: it costs nothing.
- ``sportsbook`` (BET_STAKE and PAYOUT transactions): stakes = the ``system:sportsbook`` legs > 0;
  wins = -(the ``system:sportsbook`` legs < 0): payouts as they are PAID into the accounts
  (wins, void refunds, early cash-outs). Cash basis: a payout counts the day it is paid, not
  the day its bet settled (a queued payout is a liability, see ``reports.selectors.liabilities``).
- ``promotions`` (REDEMPTION, PROMOTION, BONUS_GRANT, BONUS_CONVERSION, BONUS_END transactions):
  bonus_cost = the ``player:<id>`` / ``session:<id>`` legs > 0 of REDEMPTION (a code paid as
  cash), PROMOTION (cashback paid as cash) and BONUS_CONVERSION (bonus money that became cash,
  up to the cap; the excess returns to the pot). Money moved into ``bonus:<grant>`` or
  ``sessionbonus:<id>`` accounts is not a cost (the player could not have chosen cash instead:
  the UK rule for gross gambling yield), nor is money returning to the pot (BONUS_END). Bonus
  grants and endings are counted in ``transactions`` only.
- ``payments``: deposits = the player legs of DEPOSIT transactions; withdrawals = -(the player
  legs of WITHDRAWAL transactions).
- ``transactions``: the number of ledger transactions of the product's kinds. FEED and CASH_OUT
  (money moving between a player's account and their machine) and ADJUSTMENT are in no product.

GGR = stakes - wins; NGR = GGR - bonus_cost (``DailyFigure.ggr`` / ``ngr``).
"""

from __future__ import annotations

import time
import zoneinfo
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as dtime

from django.conf import settings
from django.db import connection, connections, transaction
from django.utils import timezone

from reports.models import DailyFigure, RollupState

__all__ = [
    "LOCK_KEY",
    "PRODUCT_CASE_SQL",
    "PRODUCT_OF_KIND",
    "RollupRun",
    "day_bounds",
    "local_day",
    "recompute_days",
    "roll_up",
]

# pg_advisory_lock key of the roll-up ("reports" in ASCII, as a bigint).
LOCK_KEY = 0x7265706F727473

# The product of each ledger transaction kind (kinds not listed are in no product).
PRODUCT_OF_KIND = {
    "spin": DailyFigure.Product.SLOTS,
    "bet_stake": DailyFigure.Product.SPORTSBOOK,
    "payout": DailyFigure.Product.SPORTSBOOK,
    "redemption": DailyFigure.Product.PROMOTIONS,
    "promotion": DailyFigure.Product.PROMOTIONS,
    "bonus_grant": DailyFigure.Product.PROMOTIONS,
    "bonus_conversion": DailyFigure.Product.PROMOTIONS,
    "bonus_end": DailyFigure.Product.PROMOTIONS,
    "deposit": DailyFigure.Product.PAYMENTS,
    "withdrawal": DailyFigure.Product.PAYMENTS,
}

PRODUCT_CASE_SQL = (
    "CASE t.kind " + " ".join(f"WHEN '{k}' THEN '{p.value}'" for k, p in PRODUCT_OF_KIND.items()) + " END"
)

# One day of the ledger -> that day's rows. Transactions are picked by their created_at range
# (indexed); a spin's game is found through the session named by its session/sessionbonus leg.
_DAY_SQL = f"""
    WITH tx AS (
        SELECT t.id, t.kind, {PRODUCT_CASE_SQL} AS product
        FROM accounts_ledgertransaction t
        WHERE t.created_at >= %(start)s AND t.created_at < %(end)s AND t.kind = ANY(%(kinds)s)
    ),
    legs AS (
        SELECT tx.id AS tx_id, tx.kind, tx.product, e.account, e.amount
        FROM tx JOIN accounts_ledgerentry e ON e.transaction_id = tx.id
    ),
    spin_session AS (
        SELECT tx_id, MIN(substring(account FROM '^session(?:bonus)?:([0-9]+)$')::bigint) AS session_id
        FROM legs WHERE kind = 'spin' GROUP BY tx_id
    )
    INSERT INTO reports_dailyfigure
        (day, product, game_id, vendor_id, stakes, wins, bonus_cost, deposits, withdrawals, transactions, computed_at)
    SELECT
        %(day)s, l.product, g.id, g.vendor_id,
        COALESCE(SUM(l.amount) FILTER (WHERE l.amount > 0 AND (
            (l.kind = 'spin' AND l.account = 'system:house')
            OR (l.product = 'sportsbook' AND l.account = 'system:sportsbook'))), 0),
        COALESCE(-SUM(l.amount) FILTER (WHERE l.amount < 0 AND (
            (l.kind = 'spin' AND l.account = 'system:house')
            OR (l.product = 'sportsbook' AND l.account = 'system:sportsbook'))), 0),
        COALESCE(-SUM(l.amount) FILTER (WHERE l.kind = 'spin' AND l.account = 'system:promotions' AND l.amount < 0), 0)
        + COALESCE(SUM(l.amount) FILTER (WHERE l.kind IN ('redemption', 'promotion', 'bonus_conversion')
            AND (l.account LIKE 'player:%%' OR l.account LIKE 'session:%%') AND l.amount > 0), 0),
        COALESCE(SUM(l.amount) FILTER (WHERE l.kind = 'deposit' AND l.account LIKE 'player:%%'), 0),
        COALESCE(-SUM(l.amount) FILTER (WHERE l.kind = 'withdrawal' AND l.account LIKE 'player:%%'), 0),
        COUNT(DISTINCT l.tx_id),
        %(now)s
    FROM legs l
    LEFT JOIN spin_session ss ON ss.tx_id = l.tx_id
    LEFT JOIN casino_gamesession s ON s.id = ss.session_id
    LEFT JOIN casino_game g ON g.id = s.game_id
    GROUP BY l.product, g.id, g.vendor_id
"""  # noqa: S608 - only constants are formatted in


@dataclass(frozen=True)
class RollupRun:
    days: list[date]  # the days recomputed, in order
    seconds: float
    through_tx: int  # the watermark after the run


def _tz() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def local_day(moment: datetime) -> date:
    """The report day (in ``settings.TIME_ZONE``) of an aware datetime."""
    return moment.astimezone(_tz()).date()


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a report day as aware datetimes (DST-safe: the next local midnight)."""
    tz = _tz()
    return (
        datetime.combine(day, dtime.min, tzinfo=tz),
        datetime.combine(day + timedelta(days=1), dtime.min, tzinfo=tz),
    )


@contextmanager
def _rollup_lock() -> Iterator[None]:
    """One roll-up at a time (a session-level advisory lock: a second caller waits). Behind a
    transaction pooler a session lock would stay on whichever server connection took it, so it is
    taken on the direct connection then (``settings.SESSION_LOCK_ALIAS``)."""
    lock_connection = connections[settings.SESSION_LOCK_ALIAS]
    with lock_connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
    try:
        yield
    finally:
        with lock_connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])


def _recompute_day(day: date, *, now: datetime) -> int:
    """Replace ``day``'s rows with the ledger's figures of that day (one transaction)."""
    start, end = day_bounds(day)
    params = {"start": start, "end": end, "day": day, "now": now, "kinds": list(PRODUCT_OF_KIND)}
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("DELETE FROM reports_dailyfigure WHERE day = %s", [day])
        cur.execute(_DAY_SQL, params)
        return cur.rowcount


def recompute_days(*, days: Iterable[date], now: datetime | None = None) -> int:
    """Recompute the given days (each in its own transaction, under the roll-up lock);
    returns the number of rows written. The watermark is not moved."""
    now = now or timezone.now()
    with _rollup_lock():
        return sum(_recompute_day(day, now=now) for day in sorted(set(days)))


def _days_after(watermark: int, through: int) -> set[date]:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT DISTINCT (created_at AT TIME ZONE %s)::date FROM accounts_ledgertransaction "
            "WHERE id > %s AND id <= %s",
            [settings.TIME_ZONE, watermark, through],
        )
        return {row[0] for row in cur.fetchall()}


def roll_up(*, now: datetime | None = None) -> RollupRun:
    """Bring the roll-up up to date: recompute every day touched since the watermark, and
    today and yesterday always; then move the watermark. Idempotent and safe to run
    concurrently (a second run waits on the lock)."""
    started = time.monotonic()
    with _rollup_lock():
        now = now or timezone.now()
        state, _ = RollupState.objects.get_or_create(pk=1)
        with connection.cursor() as cur:
            cur.execute("SELECT COALESCE(MAX(id), 0) FROM accounts_ledgertransaction")
            through = cur.fetchone()[0]
        today = local_day(now)
        days = sorted(_days_after(state.rolled_through_tx, through) | {today, today - timedelta(days=1)})
        for day in days:
            _recompute_day(day, now=now)
        seconds = time.monotonic() - started
        # A conditional set-based write: the watermark never moves back.
        with connection.cursor() as cur:
            cur.execute(
                "UPDATE reports_rollupstate SET rolled_through_tx = GREATEST(rolled_through_tx, %s), "
                "last_run_at = %s, last_run_days = %s, last_run_seconds = %s WHERE id = 1 "
                "RETURNING rolled_through_tx",
                [through, now, len(days), seconds],
            )
            through = cur.fetchone()[0]
    return RollupRun(days=days, seconds=seconds, through_tx=through)
