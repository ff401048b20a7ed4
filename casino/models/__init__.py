from casino.models.games import FreeSpinGrant, Game, GameSession, Spin, Vendor
from casino.models.sportsbook import Market, Payout, Selection, SportEvent, Sportsbet

__all__ = [
    "FreeSpinGrant",
    "Game",
    "GameSession",
    "Market",
    "Payout",
    "Selection",
    "Spin",
    "SportEvent",
    "Sportsbet",
    "Vendor",
]
