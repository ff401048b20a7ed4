"""Selectors for promotion codes and redemptions (issue 5)."""
