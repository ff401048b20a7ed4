from casino.models.games import FreeSpinGrant, Game, GameSession, GameVersion, Spin, Vendor
from casino.models.sportsbook import (
    BetLeg,
    LiabilityShard,
    Market,
    Notice,
    OddsChange,
    Payout,
    Selection,
    SportEvent,
    Sportsbet,
)

__all__ = [
    "BetLeg",
    "LiabilityShard",
    "OddsChange",
    "FreeSpinGrant",
    "Game",
    "GameSession",
    "GameVersion",
    "Market",
    "Notice",
    "Payout",
    "Selection",
    "Spin",
    "SportEvent",
    "Sportsbet",
    "Vendor",
]
