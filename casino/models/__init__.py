from casino.models.games import FreeSpinGrant, Game, GameSession, Spin, Vendor
from casino.models.sportsbook import Market, Notice, Payout, Selection, SportEvent, Sportsbet

__all__ = [
    "FreeSpinGrant",
    "Game",
    "GameSession",
    "Market",
    "Notice",
    "Payout",
    "Selection",
    "Spin",
    "SportEvent",
    "Sportsbet",
    "Vendor",
]
