"""Hook points of the casino app: where a higher app (promotions) acts inside a
game-session transaction without casino importing it. Higher apps append to these
lists in their ``AppConfig.ready()``; hooks run in the order they were added.
"""

from __future__ import annotations

from collections.abc import Callable
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
