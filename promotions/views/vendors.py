"""Vendor-promotion pages (filled in by the vendor-promotion work)."""

urlpatterns: list = []
