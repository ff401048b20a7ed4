"""Read-side queries for the casino and the sportsbook."""
