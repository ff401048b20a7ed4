"""Hook points of the accounts app: where a higher app (casino, promotions) acts
inside an accounts transaction or adds to an accounts page, without accounts
importing it. Higher apps append to these lists in their ``AppConfig.ready()``;
the call order is the order of ``INSTALLED_APPS``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from accounts.models import SelfExclusion, User

# Run inside ``accounts.services.self_exclude``'s transaction, right after the
# exclusion row is written: e.g. the casino closes and cashes out the player's open
# game sessions. A hook that raises a ``DomainError`` is logged and the exclusion
# still commits (it must never be refused); any other error rolls it back.
player_excluded: list[Callable[[User, SelfExclusion], None]] = []


@dataclass(frozen=True)
class BalanceSource:
    """An aggregate of a higher app that stores a balance backed by ledger accounts
    ``<prefix><key>``: ``manage.py reconcile`` checks it like the player accounts."""

    label: str
    table: str
    key_column: str
    prefix: str
    balance_column: str = "balance"


# Read by ``accounts.reconcile`` (read only).
balance_sources: list[BalanceSource] = []

# More sections of ``manage.py reconcile`` (e.g. the operator reports' roll-up against the
# ledger, issue 19): each callable returns an object with ``.ok`` and ``.lines()``.
reconcile_sections: list[Callable[[], object]] = []


@dataclass(frozen=True)
class ActivitySpan:
    """A stretch of time when something other than the account absorbed a player's
    activity (a game session), drawn under the account's timeline."""

    started_at: datetime
    ended_at: datetime | None  # None: still running
    label: str
    count: int  # e.g. spins played in it
    link: str = ""


# Read by the staff "Aggregate activity" page: (player, start, end) -> spans.
activity_spans: list[Callable[[User, datetime, datetime], list[ActivitySpan]]] = []

# Templates rendered as extra panels on the player's wallet page (read only).
wallet_panels: list[str] = []
