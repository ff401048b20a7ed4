"""Vendor admin: promotions inline through the services, errors on the form, history, timeline."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from casino.models import Game, Vendor
from core.models import AuditLog
from promotions import services
from promotions.forms.vendors import VendorPromotionFormSet
from promotions.models import PromotionHistory, VendorPromotion

DAY = timedelta(days=1)


@pytest.fixture
def admin_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def vendor(db):
    return Vendor.objects.create(slug="acme", name="Acme Slots")


@pytest.fixture
def t0():
    return timezone.localtime().replace(hour=10, minute=0, second=0, microsecond=0) + 10 * DAY


def split(at):
    at = timezone.localtime(at)
    return at.strftime("%Y-%m-%d"), at.strftime("%H:%M:%S")


def row(prefix, *, kind, starts_at, ends_at, pk="", delete=False, **params):
    data = {
        f"{prefix}-id": pk,
        f"{prefix}-kind": kind,
        f"{prefix}-starts_at_0": split(starts_at)[0],
        f"{prefix}-starts_at_1": split(starts_at)[1],
        f"{prefix}-ends_at_0": split(ends_at)[0],
        f"{prefix}-ends_at_1": split(ends_at)[1],
        f"{prefix}-free_spins_count": params.get("free_spins_count", ""),
        f"{prefix}-free_spin_stake": params.get("free_spin_stake", ""),
        f"{prefix}-percent": params.get("percent", ""),
    }
    if delete:
        data[f"{prefix}-DELETE"] = "on"
    return data


def vendor_post(vendor, rows, *, initial=0, name=None):
    """The change form's POST: the vendor's fields plus the inline management form."""
    data = {
        "name": name or (vendor.name if vendor else "New Studio"),
        "slug": vendor.slug if vendor else "new-studio",
        "promotions-TOTAL_FORMS": str(len(rows)),
        "promotions-INITIAL_FORMS": str(initial),
        "promotions-MIN_NUM_FORMS": "0",
        "promotions-MAX_NUM_FORMS": "1000",
    }
    for i, r in enumerate(rows):
        data.update(row(f"promotions-{i}", **r))
    return data


def existing(promo):
    params = {"free_spins_count": promo.free_spins_count or "", "free_spin_stake": promo.free_spin_stake or ""}
    params["percent"] = promo.percent or ""
    return {"pk": promo.pk, "kind": promo.kind, "starts_at": promo.starts_at, "ends_at": promo.ends_at, **params}


def change_url(vendor):
    return reverse("admin:casino_vendor_change", args=[vendor.pk])


def test_staff_add_a_vendor_with_a_promotion_through_the_service(admin_client, staff, t0):
    response = admin_client.post(
        reverse("admin:casino_vendor_add"),
        vendor_post(None, [{"kind": "cashback", "starts_at": t0, "ends_at": t0 + DAY, "percent": "10"}]),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    vendor = Vendor.objects.get(slug="new-studio")
    promo = VendorPromotion.objects.get(vendor=vendor)
    assert (promo.kind, promo.percent, promo.starts_at) == ("cashback", Decimal("10.00"), t0)
    assert vendor.version == 1, "the add went through the aggregate"
    assert AuditLog.objects.filter(actor=staff, action="vendor_promotion.add").count() == 1


def test_a_conflicting_promotion_is_a_form_error_naming_the_other(admin_client, vendor, t0):
    a = services.add_vendor_promotion(
        vendor=vendor, kind="free_spins", starts_at=t0, ends_at=t0 + 2 * DAY, free_spins_count=5, free_spin_stake="0.2"
    )
    rows = [
        existing(a),
        {
            "kind": "free_spins",
            "starts_at": t0 + DAY,
            "ends_at": t0 + 3 * DAY,
            "free_spins_count": "3",
            "free_spin_stake": "0.10",
        },
    ]
    response = admin_client.post(change_url(vendor), vendor_post(vendor, rows, initial=1))
    assert response.status_code == 200
    errors = response.context["inline_admin_formsets"][0].formset.forms[1].non_field_errors()
    day = timezone.localtime(t0)
    assert errors == [
        f"Free spins {day:%Y-%m-%d} 10:00 – {day + 2 * DAY:%m-%d} 10:00 already runs then "
        f"(from {day + DAY:%Y-%m-%d} 10:00): only one free spins promotion may run at a time."
    ]
    assert "already runs then" in response.content.decode()
    assert VendorPromotion.objects.count() == 1


def test_a_third_at_once_is_refused_but_a_bridge_between_two_is_accepted(admin_client, vendor, t0):
    a = services.add_vendor_promotion(vendor=vendor, kind="win_boost", starts_at=t0, ends_at=t0 + 3 * DAY, percent=5)
    c = services.add_vendor_promotion(
        vendor=vendor, kind="cashback", starts_at=t0 + 5 * DAY, ends_at=t0 + 8 * DAY, percent=5
    )
    bridge = {
        "kind": "free_spins",
        "starts_at": t0 + 2 * DAY,
        "ends_at": t0 + 6 * DAY,
        "free_spins_count": "3",
        "free_spin_stake": "0.10",
    }
    # Moving C earlier, onto A, in the same submit makes the bridge a third at once.
    moved_c = {**existing(c), "starts_at": t0 + 2 * DAY}
    response = admin_client.post(change_url(vendor), vendor_post(vendor, [existing(a), moved_c, bridge], initial=2))
    assert response.status_code == 200
    assert "at most 2 promotions may run at once" in response.content.decode()
    assert VendorPromotion.objects.count() == 2

    response = admin_client.post(change_url(vendor), vendor_post(vendor, [existing(a), existing(c), bridge], initial=2))
    assert response.status_code == 302
    assert VendorPromotion.objects.count() == 3


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"percent": "150"}, "percent", "percentage"),
        ({"percent": ""}, "percent", "percentage"),
        ({"percent": "5", "free_spins_count": "3"}, None, "does not apply"),
    ],
)
def test_bad_parameters_are_field_errors(admin_client, vendor, t0, params, field, message):
    rows = [{"kind": "cashback", "starts_at": t0, "ends_at": t0 + DAY, **params}]
    response = admin_client.post(change_url(vendor), vendor_post(vendor, rows))
    assert response.status_code == 200
    form = response.context["inline_admin_formsets"][0].formset.forms[0]
    assert message in " ".join(form.errors.get(field or "__all__", []))
    assert not VendorPromotion.objects.exists()


def test_an_end_before_the_start_is_a_form_error(admin_client, vendor, t0):
    rows = [{"kind": "cashback", "starts_at": t0, "ends_at": t0 - DAY, "percent": "5"}]
    response = admin_client.post(change_url(vendor), vendor_post(vendor, rows))
    assert response.status_code == 200
    assert "The end must be after the start." in response.content.decode()


def test_edit_and_remove_go_through_the_services(admin_client, staff, vendor, t0):
    a = services.add_vendor_promotion(vendor=vendor, kind="win_boost", starts_at=t0, ends_at=t0 + DAY, percent=5)
    b = services.add_vendor_promotion(vendor=vendor, kind="cashback", starts_at=t0, ends_at=t0 + DAY, percent=5)
    rows = [{**existing(a), "ends_at": t0 + 2 * DAY, "percent": "7"}, {**existing(b), "delete": True}]
    response = admin_client.post(change_url(vendor), vendor_post(vendor, rows, initial=2))
    assert response.status_code == 302
    a.refresh_from_db()
    assert (a.ends_at, a.percent) == (t0 + 2 * DAY, Decimal("7.00"))
    assert not VendorPromotion.objects.filter(pk=b.pk).exists()
    assert Vendor.objects.get(pk=vendor.pk).version == 4
    actions = set(AuditLog.objects.filter(actor=staff).values_list("action", flat=True))
    assert {"vendor_promotion.update", "vendor_promotion.remove"} <= actions


def test_a_conflict_found_only_at_save_is_reported_not_a_500(admin_client, vendor, t0, monkeypatch):
    """If another change lands between the form check and the save, the service refuses and nothing is kept."""
    services.add_vendor_promotion(vendor=vendor, kind="cashback", starts_at=t0, ends_at=t0 + DAY, percent=5)
    monkeypatch.setattr(VendorPromotionFormSet, "clean", lambda self: None)  # as if the check ran before that add
    rows = [{"kind": "cashback", "starts_at": t0, "ends_at": t0 + DAY, "percent": "9"}]
    response = admin_client.post(change_url(vendor), vendor_post(vendor, rows, name="Renamed"), follow=True)
    assert response.status_code == 200
    assert "Promotions not saved: Cashback" in response.content.decode()
    assert VendorPromotion.objects.count() == 1
    assert Vendor.objects.get(pk=vendor.pk).name == "Acme Slots", "the whole submit was rolled back"


def test_renaming_a_vendor_never_writes_back_its_version(admin_client, vendor, t0):
    services.add_vendor_promotion(vendor=vendor, kind="cashback", starts_at=t0, ends_at=t0 + DAY, percent=5)
    data = vendor_post(vendor, [], name="Acme Renamed")
    response = admin_client.post(change_url(vendor), data)
    assert response.status_code == 302
    vendor.refresh_from_db()
    assert (vendor.name, vendor.version) == ("Acme Renamed", 1)


def test_inline_shows_only_active_and_future_and_history_is_read_only(admin_client, vendor, t0):
    old = services.add_vendor_promotion(vendor=vendor, kind="cashback", starts_at=t0, ends_at=t0 + DAY, percent=5)
    services.archive_expired_promotions(now=t0 + 2 * DAY)
    live = services.add_vendor_promotion(
        vendor=vendor, kind="cashback", starts_at=t0 + 3 * DAY, ends_at=t0 + 4 * DAY, percent=6
    )
    response = admin_client.get(change_url(vendor))
    formset = response.context["inline_admin_formsets"][0].formset
    assert [f.instance.pk for f in formset.initial_forms] == [live.pk]

    history = PromotionHistory.objects.get(original_id=old.pk)
    response = admin_client.get(reverse("admin:promotions_promotionhistory_changelist"))
    assert response.status_code == 200 and "Cashback" in response.content.decode()
    assert admin_client.get(reverse("admin:promotions_promotionhistory_add")).status_code == 403
    detail = admin_client.post(reverse("admin:promotions_promotionhistory_change", args=[history.pk]), {"percent": 99})
    assert detail.status_code == 403
    history.refresh_from_db()
    assert history.percent == Decimal("5.00")


def test_timeline_has_a_row_per_type_and_a_bar_per_promotion(admin_client, vendor, django_assert_max_num_queries):
    now = timezone.now()
    services.add_vendor_promotion(vendor=vendor, kind="win_boost", starts_at=now, ends_at=now + 3 * DAY, percent=5)
    services.add_vendor_promotion(
        vendor=vendor,
        kind="free_spins",
        starts_at=now + DAY,
        ends_at=now + 2 * DAY,
        free_spins_count=4,
        free_spin_stake="0.25",
    )
    old = services.add_vendor_promotion(vendor=vendor, kind="cashback", starts_at=now, ends_at=now + DAY, percent=5)
    VendorPromotion.objects.filter(pk=old.pk).update(starts_at=now - 3 * DAY, ends_at=now - 2 * DAY)
    services.archive_expired_promotions()
    url = reverse("admin:casino_vendor_timeline", args=[vendor.pk])
    with django_assert_max_num_queries(12):
        response = admin_client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count('class="tl-row"') == 3
    assert page.count('data-testid="bar"') == 3
    assert 'tl-bar active"' in page and 'tl-bar future"' in page and 'tl-bar past"' in page
    assert "4 × 0.25" in page
    assert admin_client.get(url + "?from=not-a-date").status_code == 200
    assert admin_client.get(reverse("admin:casino_vendor_timeline", args=[999999])).status_code == 404


def test_players_cannot_reach_the_vendor_admin(client, player, vendor):
    client.force_login(player)
    response = client.get(reverse("admin:casino_vendor_timeline", args=[vendor.pk]))
    assert response.status_code == 302 and "/login/" in response["Location"]


# --- issue 13: a promotion made in code, edited by marketing ---------------------------
def running_in_code(vendor):
    """A win boost started three minutes ago at an instant with seconds and microseconds."""
    now = timezone.now()
    start = (now - timedelta(minutes=3)).replace(second=17, microsecond=654321)
    return services.add_vendor_promotion(vendor=vendor, kind="win_boost", starts_at=start, ends_at=now + DAY, percent=5)


# The admin's date and time boxes post seconds; a datetime-local input only minutes.
AS_POSTED = {
    "seconds": lambda at: at.replace(microsecond=0),
    "minutes": lambda at: at.replace(second=0, microsecond=0),
}


@pytest.mark.parametrize("precision", AS_POSTED)
def test_marketing_moves_the_end_of_a_running_promotion_made_in_code(marketing_client, vendor, precision):
    promo = running_in_code(vendor)
    start = promo.starts_at
    new_end = AS_POSTED["seconds"](timezone.now() + 2 * DAY)
    rows = [{**existing(promo), "starts_at": AS_POSTED[precision](start), "ends_at": new_end}]
    response = marketing_client.post(change_url(vendor), vendor_post(vendor, rows, initial=1))
    assert response.status_code == 302, response.content.decode()[:3000]
    promo.refresh_from_db()
    assert (promo.starts_at, promo.ends_at) == (start, new_end), "the stored start is kept to the microsecond"
    assert AuditLog.objects.filter(actor=marketing_client.user, action="vendor_promotion.update").count() == 1


@pytest.mark.parametrize("moved", [timedelta(minutes=-1), timedelta(minutes=1), timedelta(hours=1)])
def test_marketing_still_cannot_move_the_start_of_a_running_promotion(marketing_client, vendor, moved):
    promo = running_in_code(vendor)
    start, end = promo.starts_at, promo.ends_at
    rows = [{**existing(promo), "starts_at": AS_POSTED["minutes"](start + moved), "ends_at": end + DAY}]
    response = marketing_client.post(change_url(vendor), vendor_post(vendor, rows, initial=1))
    assert response.status_code == 200
    assert "This promotion has started: only its end can change." in response.content.decode()
    promo.refresh_from_db()
    assert (promo.starts_at, promo.ends_at) == (start, end)


def test_saving_the_vendor_leaves_an_untouched_promotion_made_in_code_alone(marketing_client, vendor):
    """A start and end posted back as shown are no change: no service call, no version bump, no audit row."""
    promo = running_in_code(vendor)
    rows = [{**existing(promo), "starts_at": AS_POSTED["minutes"](promo.starts_at)}]
    response = marketing_client.post(change_url(vendor), vendor_post(vendor, rows, initial=1, name="Acme Renamed"))
    assert response.status_code == 302, response.content.decode()[:3000]
    vendor.refresh_from_db()
    assert (vendor.name, vendor.version) == ("Acme Renamed", 1)
    assert not AuditLog.objects.filter(action="vendor_promotion.update").exists()


def test_a_free_spin_stake_above_a_vendor_game_max_is_a_field_error(marketing_client, vendor, t0):
    Game.objects.create(
        slug="small-fry",
        name="Small Fry",
        vendor=vendor,
        min_stake=Decimal("0.10"),
        max_stake=Decimal("5.00"),
        reels=[["cherry"] * 2] * 3,
        paytable=[{"line": ["cherry"] * 3, "pays": 2}],
    )
    row = {"kind": "free_spins", "starts_at": t0, "ends_at": t0 + DAY, "free_spins_count": "10"}
    response = marketing_client.post(change_url(vendor), vendor_post(vendor, [{**row, "free_spin_stake": "100.00"}]))
    assert response.status_code == 200
    form = response.context["inline_admin_formsets"][0].formset.forms[0]
    assert form.errors["free_spin_stake"] == [
        "Free spin stake 100.00 is outside the stake range of Small Fry (0.10–5.00): "
        "a stake from 0.10 to 5.00 fits all its games."
    ]
    assert not VendorPromotion.objects.exists()

    response = marketing_client.post(change_url(vendor), vendor_post(vendor, [{**row, "free_spin_stake": "5.00"}]))
    assert response.status_code == 302
    assert VendorPromotion.objects.get().free_spin_stake == Decimal("5.00")
