"""Hook points of the casino app: where a higher app (promotions) acts inside a
game-session transaction without casino importing it. Higher apps append to these
lists in their ``AppConfig.ready()``; hooks run in the order they were added.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from casino.models import Game, GameSession

# Run inside ``open_session``'s transaction, after the session row is inserted
# (e.g. vendor free spins are granted). An error rolls the opening back.
session_opened: list[Callable[[GameSession], None]] = []

# Run inside ``spin``'s transaction for a winning spin: each returns a percentage by
# which the win on ``game`` is raised at that instant (0: none); the percentages add.
# The boost is paid from ``system:promotions`` in the spin's own ledger transaction.
win_boost: list[Callable[[Game, datetime], Decimal]] = []

# Run inside ``leave``'s transaction, after the session is closed and cashed out
# (e.g. cashback on net losses). An error rolls the leaving back (and it is retried).
session_closed: list[Callable[[GameSession], None]] = []


# --- bonus money (issue 16) ----------------------------------------------------------
# Bonus grants live in promotions; the session holds bonus money apart from cash
# (``GameSession.bonus_balance``, ledger ``sessionbonus:<id>``). Each list holds at most
# one handler (promotions registers them); with none, sessions hold no bonus money.
@dataclass(frozen=True)
class BonusDraw:
    """Bonus money taken from a grant for a feed: the grant and its ledger account."""

    grant_id: int
    ledger_code: str


# Read inside ``open_session`` and ``feed``: the lowest maximum stake of the player's
# active bonus grants at that instant (None: no bonus active). The session keeps it,
# and its spins above it are refused.
bonus_max_stake: list[Callable[[int, datetime], Decimal | None]] = []
# Run before ``feed``'s transaction when the player asks to feed bonus money too (each in
# its own transaction): end the player's grants past their expiry (lazy expiry).
bonus_expire_due: list[Callable[[int, datetime], None]] = []
# Run inside ``feed``'s transaction when the player feeds bonus money too: take
# ``amount`` from a grant of the player's (versioned write on the grant), raising a
# ``DomainError`` if there is not enough. ``session.bonus_source`` (if set) is the grant
# already in the machine: the draw must come from it.
bonus_draw: list[Callable[[GameSession, Decimal, datetime], BonusDraw]] = []
# Run inside ``leave``'s transaction, before the cash-out is posted, when the session
# holds bonus money: give ``amount`` back to its grant (versioned write) and return the
# ledger account to credit (the grant's, or ``system:promotions`` if it has ended).
bonus_return: list[Callable[[GameSession, Decimal, datetime], str]] = []
