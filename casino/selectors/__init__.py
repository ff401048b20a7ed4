"""Read-side queries for the casino and the sportsbook."""

from casino.selectors.fair import *  # noqa: F403
from casino.selectors.games import *  # noqa: F403
from casino.selectors.sportsbook import *  # noqa: F403
from casino.selectors.trading import *  # noqa: F403
