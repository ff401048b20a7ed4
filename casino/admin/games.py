"""Admin for games, sessions, spins (issue 3)."""
