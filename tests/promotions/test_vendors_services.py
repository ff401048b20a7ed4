"""Vendor promotions: the aggregate's invariants, editing, removing, archiving."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from casino.demo import ensure_demo_vendor
from casino.models import Game, Vendor
from core.models import AuditLog
from promotions import services
from promotions.demo import ensure_demo_vendor_promotions
from promotions.exceptions import InvalidPromotion, PromotionOverlap
from promotions.models import PromotionHistory, VendorPromotion
from promotions.services.vendors import check_invariants

PARAMS = {
    "free_spins": {"free_spins_count": 10, "free_spin_stake": Decimal("0.20")},
    "win_boost": {"percent": Decimal("25")},
    "cashback": {"percent": Decimal("10")},
}
DAY = timedelta(days=1)


@pytest.fixture
def t0():
    """Midnight, ten days from now: every window in the table is in the future."""
    return timezone.now().replace(hour=0, minute=0, second=0, microsecond=0) + 10 * DAY


@pytest.fixture
def vendor(db):
    return Vendor.objects.create(slug="acme", name="Acme Slots")


def add(vendor, kind, start, end, **extra):
    return services.add_vendor_promotion(
        vendor=vendor, kind=kind, starts_at=start, ends_at=end, **(extra or PARAMS[kind])
    )


# Each case: existing promotions (kind, start day, end day), the new one, and
# whether it is accepted. Days are offsets from t0; windows are half-open.
CASES = [
    ("touching same kind (end == start)", [("free_spins", 0, 2)], ("free_spins", 2, 4), True),
    ("touching on the other side", [("free_spins", 2, 4)], ("free_spins", 0, 2), True),
    ("same kind, partial overlap", [("free_spins", 0, 3)], ("free_spins", 2, 5), False),
    ("same kind, nested inside", [("free_spins", 0, 10)], ("free_spins", 2, 3), False),
    ("same kind, enclosing", [("free_spins", 2, 3)], ("free_spins", 0, 10), False),
    ("same kind, identical", [("free_spins", 0, 3)], ("free_spins", 0, 3), False),
    ("other kind, identical", [("free_spins", 0, 3)], ("win_boost", 0, 3), True),
    ("two kinds already run, third partial", [("free_spins", 0, 4), ("win_boost", 2, 6)], ("cashback", 3, 5), False),
    ("two run, third only where one has ended", [("free_spins", 0, 4), ("win_boost", 2, 6)], ("cashback", 4, 8), True),
    ("two run, third inside both", [("free_spins", 0, 10), ("win_boost", 0, 10)], ("cashback", 4, 5), False),
    ("two run, third touching their overlap", [("free_spins", 0, 4), ("win_boost", 0, 4)], ("cashback", 4, 6), True),
    # A and C do not overlap; B overlaps both: never more than two at an instant.
    ("A/B/C: B bridges two disjoint ones", [("free_spins", 0, 3), ("win_boost", 5, 8)], ("cashback", 2, 6), True),
    ("A/B/C with touching A and C", [("free_spins", 0, 3), ("win_boost", 3, 8)], ("cashback", 1, 6), True),
    ("A/B/C but A and C overlap", [("free_spins", 0, 4), ("win_boost", 3, 8)], ("cashback", 2, 6), False),
]


@pytest.mark.parametrize(("name", "existing", "new", "accepted"), CASES, ids=[c[0] for c in CASES])
def test_invariants_table(vendor, t0, name, existing, new, accepted):
    for kind, a, b in existing:
        add(vendor, kind, t0 + a * DAY, t0 + b * DAY)
    kind, a, b = new
    if accepted:
        add(vendor, kind, t0 + a * DAY, t0 + b * DAY)
        assert VendorPromotion.objects.filter(vendor=vendor).count() == len(existing) + 1
    else:
        with pytest.raises(PromotionOverlap) as caught:
            add(vendor, kind, t0 + a * DAY, t0 + b * DAY)
        assert caught.value.conflicting, "the error names the conflicting promotion(s)"
        assert t0 + a * DAY <= caught.value.at < t0 + b * DAY, "the instant lies in the new window"
        assert VendorPromotion.objects.filter(vendor=vendor).count() == len(existing)


def test_overlap_message_names_promotion_and_instant(vendor, t0):
    add(vendor, "free_spins", t0 + 10 * 3600 * timedelta(seconds=1), t0 + 2 * DAY + timedelta(hours=10))
    with pytest.raises(PromotionOverlap) as caught:
        add(vendor, "free_spins", t0 + DAY, t0 + 5 * DAY)
    day = timezone.localtime(t0)
    assert caught.value.message.startswith(
        f"Free spins {day:%Y-%m-%d} 10:00 – {day + 2 * DAY:%m-%d} 10:00 already runs then"
    )
    assert caught.value.at == t0 + DAY


def test_two_at_a_time_message_names_both_and_the_instant(vendor, t0):
    a = add(vendor, "free_spins", t0, t0 + 4 * DAY)
    b = add(vendor, "win_boost", t0 + 2 * DAY, t0 + 6 * DAY)
    with pytest.raises(PromotionOverlap) as caught:
        add(vendor, "cashback", t0 + DAY, t0 + 3 * DAY)
    assert caught.value.at == t0 + 2 * DAY
    assert {p.pk for p in caught.value.conflicting} == {a.pk, b.pk}
    assert "Free spins" in caught.value.message and "Win boost" in caught.value.message
    assert f"{timezone.localtime(t0 + 2 * DAY):%Y-%m-%d %H:%M}" in caught.value.message


def test_pure_check_never_counts_more_than_the_peak(t0):
    """Many disjoint promotions each overlapping the new window are fine: the peak is one."""
    from promotions.services.vendors import Window

    others = [Window("win_boost" if i % 2 else "free_spins", t0 + i * DAY, t0 + (i + 1) * DAY) for i in range(6)]
    check_invariants(kind="cashback", starts_at=t0, ends_at=t0 + 6 * DAY, others=others)


@pytest.mark.parametrize(
    ("kind", "params", "message"),
    [
        ("jackpot", {}, "Unknown promotion type"),
        ("free_spins", {"free_spins_count": 0, "free_spin_stake": "0.10"}, "between 1 and"),
        ("free_spins", {"free_spins_count": 5, "free_spin_stake": "0.001"}, "two decimals"),
        ("free_spins", {"free_spins_count": 5, "free_spin_stake": 0.1}, None),
        ("free_spins", {"free_spins_count": 5, "free_spin_stake": "1", "percent": 5}, "does not apply"),
        ("win_boost", {"percent": "0"}, "percentage"),
        ("win_boost", {"percent": "100.01"}, "percentage"),
        ("cashback", {"percent": "NaN"}, "percentage"),
        ("cashback", {"percent": 12.5}, "percentage"),
        ("cashback", {"percent": "5", "colour": "red"}, "Unknown promotion parameter"),
    ],
)
def test_bad_parameters_are_refused(vendor, t0, kind, params, message):
    with pytest.raises(InvalidPromotion, match=message):
        services.add_vendor_promotion(vendor=vendor, kind=kind, starts_at=t0, ends_at=t0 + DAY, **params)
    assert not VendorPromotion.objects.exists()


def test_bad_windows_are_refused(vendor, t0):
    now = timezone.now()
    with pytest.raises(InvalidPromotion, match="after the start"):
        add(vendor, "cashback", t0, t0)
    with pytest.raises(InvalidPromotion, match="already be over"):
        add(vendor, "cashback", now - 2 * DAY, now - DAY)
    with pytest.raises(InvalidPromotion, match="past"):
        add(vendor, "cashback", now - DAY, now + DAY)
    with pytest.raises(InvalidPromotion, match="time zone"):
        add(vendor, "cashback", t0.replace(tzinfo=None), (t0 + DAY).replace(tzinfo=None))


def test_every_change_bumps_the_vendor_version_and_is_audited(vendor, t0, staff):
    promo = services.add_vendor_promotion(
        vendor=vendor, kind="cashback", starts_at=t0, ends_at=t0 + DAY, actor=staff, percent="5"
    )
    assert Vendor.objects.get(pk=vendor.pk).version == 1
    services.update_vendor_promotion_window(promotion=promo, starts_at=t0, ends_at=t0 + 2 * DAY, actor=staff)
    assert Vendor.objects.get(pk=vendor.pk).version == 2
    services.remove_vendor_promotion(promotion=promo, actor=staff)
    assert Vendor.objects.get(pk=vendor.pk).version == 3
    assert list(AuditLog.objects.filter(actor=staff).values_list("action", flat=True).order_by("id")) == [
        "vendor_promotion.add",
        "vendor_promotion.update",
        "vendor_promotion.remove",
    ]
    assert not VendorPromotion.objects.exists(), "a future promotion that never ran is simply removed"


def test_editing_the_window_rechecks_both_invariants(vendor, t0):
    a = add(vendor, "free_spins", t0, t0 + 2 * DAY)
    b = add(vendor, "win_boost", t0 + 2 * DAY, t0 + 4 * DAY)
    c = add(vendor, "cashback", t0 + 3 * DAY, t0 + 5 * DAY)
    later = add(vendor, "free_spins", t0 + 6 * DAY, t0 + 7 * DAY)
    with pytest.raises(PromotionOverlap, match="already runs then"):
        services.update_vendor_promotion_window(promotion=a, starts_at=t0, ends_at=t0 + 6 * DAY + DAY / 2)
    with pytest.raises(PromotionOverlap, match="at most 2"):
        services.update_vendor_promotion_window(promotion=a, starts_at=t0, ends_at=t0 + 3 * DAY + DAY / 2)
    # Moving into a slot where only one other runs is fine; a window may shrink onto itself.
    services.update_vendor_promotion_window(promotion=a, starts_at=t0, ends_at=t0 + 3 * DAY)
    services.update_vendor_promotion_window(promotion=c, starts_at=t0 + 4 * DAY, ends_at=t0 + 5 * DAY, percent="7.5")
    c.refresh_from_db()
    assert c.percent == Decimal("7.50")
    assert {p.pk for p in VendorPromotion.objects.all()} == {a.pk, b.pk, c.pk, later.pk}


def test_a_started_promotion_keeps_its_start_and_is_ended_into_history(vendor):
    now = timezone.now()
    promo = add(vendor, "win_boost", now, now + DAY)
    with pytest.raises(InvalidPromotion, match="only its end"):
        services.update_vendor_promotion_window(promotion=promo, starts_at=now + DAY / 2, ends_at=now + DAY)
    services.update_vendor_promotion_window(promotion=promo, starts_at=promo.starts_at, ends_at=now + 2 * DAY)
    history = services.remove_vendor_promotion(promotion=promo)
    assert history.original_id == promo.pk and history.starts_at == promo.starts_at
    assert history.ends_at <= timezone.now()
    assert not VendorPromotion.objects.exists()
    assert services.remove_vendor_promotion(promotion=promo) == history, "removing twice is harmless"


def test_exclusion_constraint_backs_one_per_type(vendor, t0):
    """The database refuses a same-type overlap written behind the aggregate's back."""
    add(vendor, "free_spins", t0, t0 + 2 * DAY)
    with pytest.raises(IntegrityError, match="vendor_promotion_one_per_kind"), transaction.atomic():
        VendorPromotion.objects.create(
            vendor=vendor, kind="free_spins", starts_at=t0 + DAY, ends_at=t0 + 3 * DAY, **PARAMS["free_spins"]
        )


# --- archiving ------------------------------------------------------------------
def test_archiving_moves_exactly_the_expired_ones_and_is_idempotent(vendor, t0):
    other = Vendor.objects.create(slug="other", name="Other")
    a = add(vendor, "free_spins", t0, t0 + 2 * DAY)
    b = add(vendor, "win_boost", t0 + DAY, t0 + 3 * DAY)  # ends exactly at the archive instant
    c = add(vendor, "cashback", t0 + 2 * DAY, t0 + 5 * DAY)  # active then: stays
    d = add(other, "cashback", t0, t0 + DAY)
    e = add(other, "win_boost", t0 + 4 * DAY, t0 + 6 * DAY)  # future then: stays
    before = {p.pk: p for p in VendorPromotion.objects.all()}
    versions = dict(Vendor.objects.values_list("pk", "version"))

    moved = services.archive_expired_promotions(now=t0 + 3 * DAY)

    assert sorted(h.original_id for h in moved) == sorted([a.pk, b.pk, d.pk])
    assert set(VendorPromotion.objects.values_list("pk", flat=True)) == {c.pk, e.pk}
    for h in PromotionHistory.objects.all():
        p = before[h.original_id]
        assert (h.vendor_id, h.kind, h.starts_at, h.ends_at) == (p.vendor_id, p.kind, p.starts_at, p.ends_at)
        assert (h.free_spins_count, h.free_spin_stake, h.percent) == (p.free_spins_count, p.free_spin_stake, p.percent)
        assert h.promotion_created_at == p.created_at and h.archived_at == t0 + 3 * DAY
    assert Vendor.objects.get(pk=vendor.pk).version == versions[vendor.pk] + 1
    assert Vendor.objects.get(pk=other.pk).version == versions[other.pk] + 1

    assert services.archive_expired_promotions(now=t0 + 3 * DAY) == []
    assert PromotionHistory.objects.count() == 3
    assert Vendor.objects.get(pk=vendor.pk).version == versions[vendor.pk] + 1, "nothing to do: no write"


def test_archive_task_is_thin_and_idempotent(vendor):
    from promotions.tasks import archive_expired_promotions

    now = timezone.now()
    add(vendor, "cashback", now, now + DAY)
    assert archive_expired_promotions.delay().get() == 0
    VendorPromotion.objects.update(starts_at=now - 2 * DAY, ends_at=now - DAY)  # time passes
    assert archive_expired_promotions.delay().get() == 1
    assert archive_expired_promotions.delay().get() == 0
    assert PromotionHistory.objects.count() == 1


def test_changing_a_vendor_archives_its_expired_promotions_lazily(vendor, t0):
    now = timezone.now()
    old = add(vendor, "cashback", now, now + DAY)
    VendorPromotion.objects.filter(pk=old.pk).update(starts_at=now - 3 * DAY, ends_at=now - 2 * DAY)
    add(vendor, "win_boost", t0, t0 + DAY)
    assert PromotionHistory.objects.filter(original_id=old.pk).exists()
    assert not VendorPromotion.objects.filter(pk=old.pk).exists()


def test_a_start_slightly_in_the_past_is_checked_against_history(vendor):
    """A recently archived promotion still counts for a new one starting a few minutes ago."""
    now = timezone.now()
    old = add(vendor, "cashback", now, now + DAY)
    VendorPromotion.objects.filter(pk=old.pk).update(starts_at=now - DAY, ends_at=now - timedelta(minutes=1))
    services.archive_expired_promotions()
    with pytest.raises(PromotionOverlap):
        add(vendor, "cashback", now - timedelta(minutes=5), now + DAY)


def test_demo_vendor_is_idempotent_with_an_active_promotion(db):
    vendor = ensure_demo_vendor_promotions(ensure_demo_vendor())
    again = ensure_demo_vendor_promotions(ensure_demo_vendor())
    assert vendor.pk == again.pk
    now = timezone.now()
    assert VendorPromotion.objects.filter(vendor=vendor, starts_at__lte=now, ends_at__gt=now).count() == 1
    assert VendorPromotion.objects.filter(vendor=vendor).count() == 2


# --- free-spin stake against the vendor's games (issue 13, defect 9a) -----------------
def slot(vendor, slug, low, high, *, active=True):
    return Game.objects.create(
        slug=slug,
        name=slug.title(),
        vendor=vendor,
        min_stake=Decimal(low),
        max_stake=Decimal(high),
        reels=[["cherry"] * 2] * 3,
        paytable=[{"line": ["cherry"] * 3, "pays": 2}],
        is_active=active,
    )


def test_a_free_spin_stake_must_fit_every_active_game_of_the_vendor(vendor, t0):
    slot(vendor, "small-fry", "0.10", "5.00")
    slot(vendor, "high-roller", "1.00", "50.00")
    slot(vendor, "retired", "0.01", "0.02", active=False)  # not played: not checked
    slot(Vendor.objects.create(slug="other", name="Other"), "elsewhere", "0.01", "0.01")  # another vendor's
    with pytest.raises(InvalidPromotion) as refused:
        add(vendor, "free_spins", t0, t0 + DAY, free_spins_count=5, free_spin_stake="100.00")
    assert refused.value.message == (
        "Free spin stake 100.00 is outside the stake range of High-Roller (1.00–50.00), "
        "Small-Fry (0.10–5.00): a stake from 1.00 to 5.00 fits all its games."
    )
    assert refused.value.field == "free_spin_stake"
    with pytest.raises(InvalidPromotion, match=r"of Small-Fry \(0.10–5.00\): a stake from"):
        add(vendor, "free_spins", t0, t0 + DAY, free_spins_count=5, free_spin_stake="20.00")
    with pytest.raises(InvalidPromotion, match=r"of High-Roller \(1.00–50.00\): a stake from"):
        add(vendor, "free_spins", t0, t0 + DAY, free_spins_count=5, free_spin_stake="0.50")
    assert not VendorPromotion.objects.exists()
    assert Vendor.objects.get(pk=vendor.pk).version == 0

    promo = add(vendor, "free_spins", t0, t0 + DAY, free_spins_count=5, free_spin_stake="5.00")
    assert promo.free_spin_stake == Decimal("5.00")


def test_games_with_no_common_stake_refuse_every_free_spin_stake(vendor, t0):
    slot(vendor, "penny", "0.01", "0.50")
    slot(vendor, "whale", "10.00", "100.00")
    with pytest.raises(InvalidPromotion, match="Penny .*: no single stake fits all its games"):
        add(vendor, "free_spins", t0, t0 + DAY, free_spins_count=5, free_spin_stake="20.00")


def test_a_new_stake_is_checked_but_a_window_edit_is_not_blocked_by_a_later_range(vendor, t0):
    game = slot(vendor, "small-fry", "0.10", "5.00")
    promo = add(vendor, "free_spins", t0, t0 + DAY, free_spins_count=5, free_spin_stake="2.00")
    with pytest.raises(InvalidPromotion, match=r"Free spin stake 7.50 is outside .*Small-Fry \(0.10–5.00\)"):
        services.update_vendor_promotion_window(promotion=promo, starts_at=t0, ends_at=t0 + DAY, free_spin_stake="7.50")
    # The game's range changes afterwards (the casino's game admin knows no promotions):
    # moving the window stays possible; the grant skips that game (test_effects_vendors).
    Game.objects.filter(pk=game.pk).update(min_stake=Decimal("3.00"))
    services.update_vendor_promotion_window(promotion=promo, starts_at=t0, ends_at=t0 + 2 * DAY)
    promo.refresh_from_db()
    assert (promo.ends_at, promo.free_spin_stake) == (t0 + 2 * DAY, Decimal("2.00"))


# --- a started promotion keeps its start (issue 13, defect 7) --------------------------
def test_a_started_promotion_refuses_even_a_sub_second_change_of_start(vendor):
    """The service compares exactly: tolerating an input's precision is the form's job."""
    start = timezone.now().replace(microsecond=654321) - timedelta(minutes=3)
    promo = add(vendor, "win_boost", start, start + DAY)
    with pytest.raises(InvalidPromotion, match="only its end can change"):
        services.update_vendor_promotion_window(
            promotion=promo, starts_at=start.replace(microsecond=0), ends_at=start + 2 * DAY
        )
    services.update_vendor_promotion_window(promotion=promo, starts_at=start, ends_at=start + 2 * DAY)
