"""Hooks through which vendor promotions act on game sessions.

The session services call these at fixed points, inside their own
transaction; the vendor-promotion work (issue 8) gives them their effect.
"""

from __future__ import annotations

from decimal import Decimal


def on_session_opened(*, session) -> None:
    """After a session opens: e.g. grant a vendor's free spins (once per player per promotion)."""
    return


def win_boost_percent(*, game, at) -> Decimal:
    """Percentage by which wins on ``game`` are raised at instant ``at`` (0 when none)."""
    return Decimal("0")


def on_session_closed(*, session) -> None:
    """After a session closes and is cashed out: e.g. pay cashback on net losses."""
    return
