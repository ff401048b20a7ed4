"""Vendor promotions (being written: issue 8)."""


def add_vendor_promotion(*, vendor, kind, starts_at, ends_at, **params):
    raise NotImplementedError


def archive_expired_promotions(*, now=None):
    raise NotImplementedError
