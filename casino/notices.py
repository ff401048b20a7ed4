"""Notices ("toasts") of bets settled and payouts paid, stored per player.

The services write a ``Notice`` row in the same transaction as the settlement or the
payout it announces (``casino.services.sportsbook``), so a notice waits for its player
whatever browser, session or login they come back with. A full page view (lobby,
session, sportsbook, my bets, a bet) shows the player's unseen notices once: one
statement marks them seen and returns what to say (``UPDATE … RETURNING`` in a CTE,
so two tabs loading at once cannot both show the same notice). At most
``MAX_NOTICES`` of each kind are spelled out; the rest are summed up in one line.
"""

from __future__ import annotations

from django.contrib import messages
from django.db import connection
from django.utils import timezone

from casino.models import Selection, Sportsbet
from casino.models.sportsbook import Notice
from core.money import format_money

MAX_NOTICES = 4

_OUTCOME = {
    Sportsbet.Status.WON: "won",
    Sportsbet.Status.LOST: "lost",
    Sportsbet.Status.VOID: "was void (stake refunded)",
    Sportsbet.Status.CASHED_OUT: "was cashed out",
}


def take_unseen(*, player_id: int, limit: int = MAX_NOTICES) -> dict[str, list[tuple]]:
    """Mark every unseen notice of the player seen, and return up to ``limit + 1`` of each kind
    (oldest first) as ``(bet id, bet status, selection name, amount)``; one more than
    ``limit`` means "and more"."""
    notice, bet, selection = Notice._meta.db_table, Sportsbet._meta.db_table, Selection._meta.db_table
    sql = f"""
        WITH seen AS (
            UPDATE {notice} SET seen_at = %(now)s, updated_at = %(now)s
            WHERE player_id = %(player)s AND seen_at IS NULL
            RETURNING id, kind, bet_id, amount
        ), ranked AS (
            SELECT seen.*, row_number() OVER (PARTITION BY kind ORDER BY id, bet_id) AS n FROM seen
        )
        SELECT r.kind, r.bet_id, b.status, COALESCE(s.name, 'your accumulator'), r.amount
        FROM ranked r
        JOIN {bet} b ON b.id = r.bet_id
        LEFT JOIN {selection} s ON s.id = b.selection_id  -- an accumulator has no selection
        WHERE r.n <= %(cap)s
        ORDER BY r.kind, r.n
    """  # noqa: S608 - table names from model meta, values bound
    taken: dict[str, list[tuple]] = {kind: [] for kind in Notice.Kind.values}
    with connection.cursor() as cursor:
        cursor.execute(sql, {"now": timezone.now(), "player": player_id, "cap": limit + 1})
        for kind, *row in cursor.fetchall():
            taken[kind].append(tuple(row))
    return taken


def notify_since_last_visit(request) -> None:
    """Toast the player's unseen "bet settled" and "payout paid" notices, once."""
    taken = take_unseen(player_id=request.user.pk)
    settled = taken[Notice.Kind.BET_SETTLED]
    for bet_id, status, selection_name, _ in settled[:MAX_NOTICES]:
        messages.info(request, f"Bet #{bet_id} on {selection_name} {_OUTCOME.get(status, status)}.")
    if len(settled) > MAX_NOTICES:
        messages.info(request, "More bets were settled: see My bets.")
    paid = taken[Notice.Kind.PAYOUT_PAID]
    for bet_id, _, _, amount in paid[:MAX_NOTICES]:
        messages.success(request, f"Payout of {format_money(amount)} for bet #{bet_id} paid to your account.")
    if len(paid) > MAX_NOTICES:
        messages.success(request, "More payouts were paid: see your wallet.")
