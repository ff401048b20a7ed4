"""vendor_race: W staff members add promotions to ONE vendor at the same instant.

- disjoint windows: every add is valid, so all must land; the vendor's version
  serialises them (optimistic conflicts, jittered retries). An add that runs out
  of its retry budget (``ConcurrencyConflict`` reaches the caller: the admin
  shows "try again") is submitted again, as the staff member would, up to
  ``RESUBMITS`` times. Reported: conflicts, retries, exhausted budgets,
  resubmits, and the time until the last add committed ("time to converge").
- one window: W adds of three kinds over the same window: the invariants allow
  exactly two (one per kind, two at a time); checked at the end.
"""

from __future__ import annotations

import time
from datetime import timedelta

from django.utils import timezone

from bench.common import Config, WorkerResult, count, reset_data, run_pool
from casino.models import Vendor
from core.exceptions import ConcurrencyConflict
from promotions.models import VendorPromotion
from promotions.models.vendors import PromotionKind
from promotions.services import vendors

RESUBMITS = 5
KINDS = [PromotionKind.WIN_BOOST, PromotionKind.CASHBACK, PromotionKind.FREE_SPINS]


def _params(kind: str) -> dict:
    if kind == PromotionKind.FREE_SPINS:
        return {"free_spins_count": 5, "free_spin_stake": "0.50"}
    return {"percent": "10"}


def run(config: Config) -> dict:
    return {"disjoint": _race(config, overlapping=False), "overlapping": _race(config, overlapping=True)}


def _race(config: Config, *, overlapping: bool) -> dict:
    reset_data()
    vendor = Vendor.objects.create(slug="race", name="Race Studio")
    base = timezone.now() + timedelta(days=1)

    def work(index: int, result: WorkerResult) -> None:
        kind = KINDS[index % len(KINDS)]
        start = base if overlapping else base + timedelta(days=index)
        for resubmit in range(RESUBMITS + 1):  # a staff member whose save failed clicks again
            value = result.timed(
                vendors.add_vendor_promotion,
                vendor=Vendor(pk=vendor.pk, version=0),
                kind=kind,
                starts_at=start,
                ends_at=start + timedelta(hours=20),
                **_params(kind),
            )
            if not isinstance(value, ConcurrencyConflict):
                break
            result.extra["resubmits"] = resubmit + 1
        result.extra["done_at"] = time.perf_counter_ns() / 1e9
        result.extra["added"] = isinstance(value, VendorPromotion)

    pool = run_pool(work, config=config)
    t0 = min(r.t0 for r in pool.results)
    converge = max(r.extra["done_at"] for r in pool.results) - t0
    live = list(VendorPromotion.objects.filter(vendor=vendor))
    kinds = [p.kind for p in live]
    return {
        "attempted": config.workers,
        "added": len(live),
        "refused": pool.errors.get("PromotionOverlap", 0),
        "errors": pool.errors,
        "converge_s": round(converge, 3),
        "p50_ms": pool.latency_ms()["p50_ms"],
        "p99_ms": pool.latency_ms()["p99_ms"],
        "conflicts": count(pool.counts, "conflict", "promotions.vendor"),
        "retries": count(pool.counts, "retry", "promotions.vendor"),
        "exhausted": count(pool.counts, "exhausted", "promotions.vendor"),
        "resubmits": sum(r.extra.get("resubmits", 0) for r in pool.results),
        "vendor_version": Vendor.objects.get(pk=vendor.pk).version,
        # Disjoint windows never overlap; one shared window may hold at most two, one per kind.
        "invariant_ok": len(live) <= 2 and len(set(kinds)) == len(kinds) if overlapping else True,
    }
