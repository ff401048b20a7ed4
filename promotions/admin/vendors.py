"""Admin for vendors, their promotions and history (issue 8)."""
