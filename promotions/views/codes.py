"""Promotion-code pages (filled in by the promotion-code work)."""

urlpatterns: list = []
