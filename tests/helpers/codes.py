"""Shared helpers for the promotion-code tests."""

from datetime import timedelta
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from promotions import services


def make_code(code="SPRING10", **overrides):
    now = timezone.now()
    kwargs = {
        "code": code,
        "reward_kind": "bonus",
        "bonus_amount": Decimal("10.00"),
        "starts_at": now - timedelta(hours=1),
        "ends_at": now + timedelta(days=1),
    }
    kwargs.update(overrides)
    return services.issue_code(**kwargs)


def code_row_stamp(promo) -> tuple[str, object, int]:
    """(xmin, updated_at, version) of the code row: xmin changes on any write to the row."""
    with connection.cursor() as cur:
        cur.execute("SELECT xmin::text, updated_at, version FROM promotions_promotioncode WHERE id = %s", [promo.pk])
        return cur.fetchone()
