"""The finance report in a real browser (Debian's Chromium): no serious or critical axe violation at
390 px and 1280 px, nothing scrolls sideways on a phone, and the "Roll up now" button works."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.urls import reverse

from accounts import services as accounts
from accounts.models import User
from core.models import AuditLog
from reports import services
from tests.browser.conftest import log_in, no_sideways_scroll
from tests.browser.test_accessibility import _audit
from tests.factories import PASSWORD, PlayerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_report_is_accessible_and_rolls_up_on_a_phone_and_a_desktop(page):
    player = PlayerFactory(balance="120.00")
    accounts.withdraw(player=player, amount=Decimal("20.00"), idempotency_key="a11y-out")
    services.roll_up()
    call_command("setup_groups", verbosity=0)
    fiona = User.objects.create_user(username="fiona", password=PASSWORD, is_staff=True)
    fiona.groups.add(Group.objects.get(name="finance"))
    log_in(page, "fiona", PASSWORD)
    url = reverse("admin:reports_dailyfigure_report")
    found = _audit(page, url, name="admin_finance_report")
    found += _audit(
        page, url + "?date_from=2026-03-01&date_to=2026-02-01", name="admin_finance_report_error", status=400
    )
    assert not found, "axe found serious/critical violations:\n" + "\n".join(map(str, found))
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(url)
    no_sideways_scroll(page)
    page.get_by_role("button", name="Roll up now").click()
    page.wait_for_selector("text=Rolled up")
    assert AuditLog.objects.filter(action="reports.roll_up", actor=fiona).count() == 1
