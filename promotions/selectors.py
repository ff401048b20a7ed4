"""Read-side queries for promotions."""
