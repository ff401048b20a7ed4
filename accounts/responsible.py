"""Responsible-gaming checks called by the money services.

Deposit limits and self-exclusion are filled in by the trust work (issue 7);
until then every deposit is allowed.
"""

from __future__ import annotations

from decimal import Decimal


def check_deposit(*, player, amount: Decimal) -> None:
    return None


def check_can_play(*, player) -> None:
    return None
