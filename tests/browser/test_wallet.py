import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from accounts import selectors
from accounts.models import User
from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sign_up_deposit_and_see_balance(page):
    page.goto("/signup/")
    expect(page).to_have_title(re.compile("Sign up"))
    page.get_by_label("Username").fill("browserbob")
    page.get_by_label("Password", exact=True).fill("a-good-long-passphrase-1")
    page.get_by_label("Password confirmation").fill("a-good-long-passphrase-1")
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url("**/wallet/")
    expect(page.get_by_test_id("balance")).to_have_text("€0.00")

    page.get_by_label("Amount to deposit").fill("42.50")
    page.get_by_role("button", name="Deposit", exact=True).click()
    expect(page.get_by_test_id("balance")).to_have_text("€42.50")
    expect(page.locator("#statement")).to_contain_text("Deposit")

    page.get_by_label("Amount to deposit").fill("0")  # bad input: an inline error, nothing moves
    page.get_by_role("button", name="Deposit", exact=True).click()
    expect(page.locator(".errorlist")).to_contain_text("must be more than zero")
    expect(page.get_by_test_id("balance")).to_have_text("€42.50")
    screenshot(page, "wallet_desktop")

    user = User.objects.get(username="browserbob")
    assert selectors.balance_of(player=user) == Decimal("42.50")


def test_wallet_is_usable_at_phone_width(phone_page):
    from tests.factories import PASSWORD, PlayerFactory

    PlayerFactory(username="phoneuser", balance="10")
    from tests.browser.conftest import log_in

    log_in(phone_page, "phoneuser", PASSWORD)
    phone_page.goto("/wallet/")
    expect(phone_page.get_by_test_id("balance")).to_have_text("€10.00")
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"page scrolls sideways at phone width ({width}px)"
    screenshot(phone_page, "wallet_phone")
