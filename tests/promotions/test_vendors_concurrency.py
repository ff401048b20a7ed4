"""Concurrent staff edits of one vendor's promotions."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from casino.models import Vendor
from promotions import services
from promotions.exceptions import PromotionOverlap
from promotions.models import VendorPromotion
from promotions.services.vendors import MAX_ACTIVE
from tests.conftest import run_in_threads

DAY = timedelta(days=1)
KINDS = ["free_spins", "win_boost", "cashback"]
PARAMS = {
    "free_spins": {"free_spins_count": 3, "free_spin_stake": Decimal("0.10")},
    "win_boost": {"percent": Decimal("20")},
    "cashback": {"percent": Decimal("5")},
}


def max_active_at_any_instant(promos) -> int:
    events = sorted([(p.starts_at, 1) for p in promos] + [(p.ends_at, -1) for p in promos])
    active = peak = 0
    for _, delta in events:
        active += delta
        peak = max(peak, active)
    return peak


@pytest.mark.django_db(transaction=True)
def test_eight_concurrent_adds_never_leave_more_than_two_at_an_instant():
    """Proves the version bump serialises check-and-add: 8 simultaneous overlapping adds leave a valid vendor."""
    vendor = Vendor.objects.create(slug="race", name="Race Studio")
    t0 = timezone.now().replace(microsecond=0) + 5 * DAY

    def add(i: int):
        kind = KINDS[i % 3]
        # Every window overlaps every other one (all contain t0 + 3 days).
        return services.add_vendor_promotion(
            vendor=Vendor.objects.get(pk=vendor.pk),
            kind=kind,
            starts_at=t0 + (i % 3) * DAY,
            ends_at=t0 + (4 + i) * DAY,
            **PARAMS[kind],
        )

    results = run_in_threads(8, add)

    added = [r for r in results if isinstance(r, VendorPromotion)]
    refused = [r for r in results if isinstance(r, PromotionOverlap)]
    assert len(added) + len(refused) == 8, f"unexpected outcomes: {results}"
    assert len(added) == 2, "all windows share an instant, so exactly two can be added"
    assert len({p.kind for p in added}) == 2

    promos = list(VendorPromotion.objects.filter(vendor=vendor))
    assert {p.pk for p in promos} == {p.pk for p in added}
    assert max_active_at_any_instant(promos) <= MAX_ACTIVE
    for kind in KINDS:
        assert max_active_at_any_instant([p for p in promos if p.kind == kind]) <= 1
    assert Vendor.objects.get(pk=vendor.pk).version == len(added), "one version per accepted change"


@pytest.mark.django_db(transaction=True)
def test_concurrent_adds_of_disjoint_windows_all_succeed_after_retries():
    """Proves conflicts are retried against the new state rather than refused: 8 non-overlapping adds all land."""
    vendor = Vendor.objects.create(slug="race2", name="Race Studio 2")
    t0 = timezone.now().replace(microsecond=0) + 5 * DAY

    def add(i: int):
        kind = KINDS[i % 3]
        return services.add_vendor_promotion(
            vendor=vendor, kind=kind, starts_at=t0 + i * DAY, ends_at=t0 + (i + 1) * DAY, **PARAMS[kind]
        )

    results = run_in_threads(8, add)
    assert all(isinstance(r, VendorPromotion) for r in results), results
    assert Vendor.objects.get(pk=vendor.pk).version == 8
