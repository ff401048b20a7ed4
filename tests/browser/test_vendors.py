"""Staff add a conflicting vendor promotion in the admin and see a clear error on the form."""

from datetime import timedelta

import pytest
from django.utils import timezone

from casino.models import Vendor
from promotions import services
from promotions.models import VendorPromotion
from tests.browser.conftest import log_in, screenshot
from tests.factories import PASSWORD, StaffFactory

DAY = timedelta(days=1)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_staff_sees_the_overlap_error_on_the_admin_form(page):
    staff = StaffFactory()
    vendor = Vendor.objects.create(slug="acme", name="Acme Slots")
    t0 = timezone.localtime().replace(hour=10, minute=0, second=0, microsecond=0) + 10 * DAY
    services.add_vendor_promotion(
        vendor=vendor, kind="free_spins", starts_at=t0, ends_at=t0 + 2 * DAY, free_spins_count=5, free_spin_stake="0.20"
    )

    log_in(page, staff.username, PASSWORD)
    page.goto(f"/admin/casino/vendor/{vendor.pk}/change/")
    new = "promotions-1"
    page.locator(f'select[name="{new}-kind"]').select_option("free_spins")
    page.locator(f'input[name="{new}-starts_at_0"]').fill(f"{t0 + DAY:%Y-%m-%d}")
    page.locator(f'input[name="{new}-starts_at_1"]').fill("10:00:00")
    page.locator(f'input[name="{new}-ends_at_0"]').fill(f"{t0 + 3 * DAY:%Y-%m-%d}")
    page.locator(f'input[name="{new}-ends_at_1"]').fill("10:00:00")
    page.locator(f'input[name="{new}-free_spins_count"]').fill("3")
    page.locator(f'input[name="{new}-free_spin_stake"]').fill("0.10")
    page.get_by_role("button", name="Save", exact=True).click()

    error = page.locator(".errorlist.nonfield, .errorlist").filter(has_text="already runs then").first
    error.wait_for()
    expected = f"Free spins {t0:%Y-%m-%d} 10:00 – {t0 + 2 * DAY:%m-%d} 10:00 already runs then"
    assert expected in error.inner_text()
    assert page.locator(".errornote").is_visible(), "the admin flags the form as having errors"
    screenshot(page, "vendor_admin_overlap_error")
    assert VendorPromotion.objects.count() == 1

    # Fix it (start when the other ends: touching is fine) and save.
    page.locator(f'input[name="{new}-starts_at_0"]').fill(f"{t0 + 2 * DAY:%Y-%m-%d}")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url("**/admin/casino/vendor/")
    assert VendorPromotion.objects.count() == 2

    page.goto(f"/admin/casino/vendor/{vendor.pk}/timeline/")
    assert page.locator('[data-testid="bar"]').count() == 2
    screenshot(page, "vendor_admin_timeline")
