from decimal import Decimal

import pytest
from playwright.sync_api import expect

from accounts.selectors import balance_of
from promotions.demo import ensure_demo_codes
from promotions.models import Redemption
from tests.browser.conftest import log_in, screenshot
from tests.factories import PASSWORD, PlayerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_redeem_a_code_on_the_wallet_then_again(page):
    player = PlayerFactory(username="codey", balance="100")
    ensure_demo_codes()
    log_in(page, "codey", PASSWORD)
    page.goto("/wallet/")

    page.get_by_label("Promotion code").fill("  welcome10 ")
    page.get_by_role("button", name="Redeem").click()
    result = page.get_by_test_id("redeem-result")
    expect(result).to_contain_text("WELCOME10 redeemed")
    expect(result).to_contain_text("€10.00 bonus")
    expect(page.get_by_test_id("redeem-balance")).to_have_text("€110.00")
    expect(page.get_by_test_id("balance")).to_have_text("€110.00")  # the wallet's balance card, swapped out of band
    expect(page.get_by_test_id("redemptions")).to_contain_text("WELCOME10")
    expect(page.locator("#statement")).to_contain_text("Promotion code reward")  # the statement reloads too
    expect(page.get_by_label("Promotion code")).to_have_value("")
    screenshot(page, "codes_redeemed")

    page.get_by_label("Promotion code").fill("WELCOME10")
    page.get_by_role("button", name="Redeem").click()
    expect(page.get_by_test_id("redeem-error")).to_contain_text("already redeemed")
    expect(page.get_by_test_id("balance")).to_have_text("€110.00")
    screenshot(page, "codes_already_redeemed")

    page.get_by_label("Promotion code").fill("NOSUCHCODE")
    page.get_by_role("button", name="Redeem").click()
    expect(page.get_by_test_id("redeem-error")).to_contain_text("does not exist")

    assert Redemption.objects.filter(player=player).count() == 1
    assert balance_of(player=player) == Decimal("110.00")


def test_redeem_page_at_phone_width(phone_page):
    PlayerFactory(username="phonecode")
    ensure_demo_codes()
    log_in(phone_page, "phonecode", PASSWORD)
    phone_page.goto("/redeem/")
    phone_page.get_by_label("Promotion code").fill("welcome10")
    phone_page.get_by_role("button", name="Redeem").click()
    expect(phone_page.get_by_test_id("redeem-result")).to_contain_text("€10.00 bonus")
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"page scrolls sideways at phone width ({width}px)"
    screenshot(phone_page, "codes_phone")
