"""Admin for sports events, bets, payouts (issue 4)."""
