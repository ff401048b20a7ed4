from casino.admin import games, sportsbook  # noqa: F401
