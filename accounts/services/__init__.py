"""Accounts write services. Callers import from here; the modules behind it may move.

Stable names (operators' scripts and other apps call these): deposit, withdraw.
"""

from accounts.services.responsible import (  # noqa: F401
    KEEP,
    check_can_play,
    check_deposit,
    gate_sql,
    hold_player,
    raise_blocked,
    self_exclude,
    set_deposit_limits,
    take_a_break,
)
from accounts.services.wallet import (  # noqa: F401
    account_for,
    apply_to_account,
    create_player,
    deposit,
    move_money,
    withdraw,
)
