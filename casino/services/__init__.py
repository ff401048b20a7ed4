"""Casino write services. Callers import from here; the modules behind it may move.

Stable names (operators' scripts and other apps call these): open_session, feed,
spin, leave, close_idle_sessions, place_sportsbet, settle_event, pay_out_player,
cash_out_bet.
Added by issue 17: set_client_seed.
"""

from casino.services.accumulators import place_accumulator  # noqa: F401
from casino.services.cashout import cash_out_early, cash_out_offer  # noqa: F401
from casino.services.markets import change_odds, reopen_market, suspend_market  # noqa: F401
from casino.services.sessions import (  # noqa: F401
    close_idle_sessions,
    feed,
    grant_free_spins,
    leave,
    open_and_feed,
    open_session,
    set_client_seed,
    spin,
)
from casino.services.sportsbook import cash_out_bet, pay_out_player, place_sportsbet, settle_event  # noqa: F401
