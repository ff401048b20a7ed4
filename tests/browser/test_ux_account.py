"""Issue 15, the account side, in a real browser at 390 px (phone) and 1280 px (desktop):

1. the header's balance is always in view and updates (htmx ``balance-changed``) after a
   deposit on the wallet and after redeeming a cash code, without a reload; the menu folds
   behind a keyboard-operable "Menu" on phones;
5. the statement is readable at 390 px: stacked cards, no sideways scroll;
7. a break shows a banner on every page and disables the deposit controls with the reason;
   starting a break asks for confirmation first (also without JavaScript);
8. a withdrawal asks for confirmation showing the amount; a bad amount's server message
   shows beside the field (no browser ``pattern`` hides it);
and screenshots of the account pages at both widths (tests/artifacts/ux_account_*).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from accounts import services
from accounts.models import SelfExclusion
from accounts.selectors import balance_of
from accounts.services import responsible
from promotions import services as promotions
from promotions.demo import ensure_demo_codes
from tests.browser.conftest import log_in, no_sideways_scroll, screenshot
from tests.factories import PASSWORD, PlayerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

D = Decimal


def in_view_without_scrolling(pg, locator) -> None:
    box = locator.bounding_box()
    assert box is not None, "not rendered"
    size = pg.viewport_size
    assert box["x"] >= 0 and box["x"] + box["width"] <= size["width"], box
    assert box["y"] >= 0 and box["y"] + box["height"] <= size["height"], box


def mark_page(pg) -> None:
    """A marker that a full reload would wipe: the checks after it prove htmx did the update."""
    pg.evaluate("window.__noReload = 'still here'")


def not_reloaded(pg) -> None:
    assert pg.evaluate("window.__noReload") == "still here", "the page was reloaded"


# --- 1. the balance in the header -----------------------------------------------------------


def test_header_balance_follows_a_deposit_without_a_reload(sized):
    pg, width = sized
    PlayerFactory(username=f"hb{width}", balance="25")
    log_in(pg, f"hb{width}", PASSWORD)
    pg.goto("/wallet/")
    header = pg.get_by_test_id("header-balance")
    expect(header).to_have_text("€25.00")
    in_view_without_scrolling(pg, header)
    mark_page(pg)

    pg.get_by_label("Amount to deposit").fill("20")
    pg.get_by_role("button", name="Deposit", exact=True).click()
    expect(pg.get_by_test_id("balance")).to_have_text("€45.00")
    expect(header).to_have_text("€45.00")
    expect(pg.locator("#toasts")).to_contain_text("Deposited €20.00.")
    not_reloaded(pg)
    in_view_without_scrolling(pg, header)
    no_sideways_scroll(pg)


def test_header_balance_follows_a_cash_code_redeemed_on_the_redeem_page(sized):
    pg, width = sized
    player = PlayerFactory(username=f"hr{width}", balance="50")
    ensure_demo_codes()
    log_in(pg, f"hr{width}", PASSWORD)
    pg.goto("/redeem/")
    header = pg.get_by_test_id("header-balance")
    expect(header).to_have_text("€50.00")
    mark_page(pg)

    pg.get_by_label("Promotion code").fill("welcome10")
    pg.get_by_role("button", name="Redeem", exact=True).click()
    expect(pg.get_by_test_id("redeem-result")).to_contain_text("€10.00 bonus")
    expect(header).to_have_text("€60.00")
    not_reloaded(pg)
    assert balance_of(player=player) == D("60.00")
    no_sideways_scroll(pg)
    screenshot(pg, f"ux_account_redeem_{width}")


def test_the_menu_folds_on_phones_and_opens_by_keyboard(sized):
    pg, width = sized
    PlayerFactory(username=f"menu{width}", balance="5")
    log_in(pg, f"menu{width}", PASSWORD)
    pg.goto("/wallet/")
    nav = pg.get_by_role("navigation", name="Main")
    redeem_link = nav.get_by_role("link", name="Redeem a code")
    toggle = pg.locator("summary.nav-toggle")
    if width > 760:
        expect(toggle).to_be_hidden()
        expect(redeem_link).to_be_visible()
        return
    expect(toggle).to_be_visible()
    expect(toggle).to_have_accessible_name("Menu")
    expect(redeem_link).to_be_hidden()  # folded: the header is one tidy row
    header_box = pg.locator("header.topbar").bounding_box()
    assert header_box["height"] <= 80, f"the phone header is {header_box['height']}px tall"
    toggle.focus()
    pg.keyboard.press("Enter")
    expect(redeem_link).to_be_visible()
    in_view_without_scrolling(pg, redeem_link)
    pg.keyboard.press("Escape")
    expect(redeem_link).to_be_hidden()
    toggle.focus()
    pg.keyboard.press("Space")
    redeem_link.click()
    pg.wait_for_url("**/redeem/")
    no_sideways_scroll(pg)


# --- 7. breaks and exclusions -----------------------------------------------------------------


def test_a_break_shows_a_banner_everywhere_and_disables_deposits(sized):
    pg, width = sized
    player = PlayerFactory(username=f"brk{width}", balance="40")
    responsible.take_a_break(player=player, days=1)
    log_in(pg, f"brk{width}", PASSWORD)
    for url in ("/wallet/", "/", "/redeem/", "/responsible/"):
        pg.goto(url)
        banner = pg.get_by_role("status").filter(has=pg.get_by_role("heading", name="You are on a break"))
        expect(banner).to_be_visible()
        expect(banner).to_contain_text("You are on a break until")
        expect(banner).to_contain_text("play, bets and deposits are paused")
        no_sideways_scroll(pg)

    pg.goto("/wallet/")
    deposit = pg.get_by_test_id("deposit-form")
    expect(deposit.get_by_role("button", name="Deposit", exact=True)).to_be_disabled()
    expect(deposit.get_by_label("Amount to deposit")).to_be_disabled()
    expect(deposit.get_by_test_id("deposit-blocked")).to_contain_text("You are on a break until")
    expect(pg.get_by_test_id("withdraw-form").get_by_role("button", name="Withdraw")).to_be_enabled()
    screenshot(pg, f"ux_account_wallet_on_a_break_{width}")
    assert balance_of(player=player) == D("40.00")


def test_starting_a_break_asks_for_confirmation_first(sized):
    pg, width = sized
    player = PlayerFactory(username=f"cb{width}", balance="30")
    log_in(pg, f"cb{width}", PASSWORD)
    pg.goto("/responsible/")
    expect(pg.get_by_test_id("play-block-banner")).to_have_count(0)
    pg.get_by_label("7 days").check()
    pg.get_by_role("button", name="Start my break").click()

    confirm = pg.get_by_test_id("break-confirm")
    expect(confirm.get_by_role("heading", name="Start a break of 7 days?")).to_be_visible()
    expect(confirm).to_contain_text("Nobody can end the break early")
    expect(confirm.get_by_test_id("confirm-until")).not_to_be_empty()
    expect(confirm.get_by_role("button", name="Yes, start my break")).to_be_focused()
    assert not SelfExclusion.objects.filter(player=player).exists(), "asking must not start the break"
    screenshot(pg, f"ux_account_break_confirm_{width}")
    no_sideways_scroll(pg)

    confirm.get_by_role("link", name="Cancel").click()  # changing one's mind
    pg.wait_for_url("**/responsible/")
    expect(pg.get_by_role("button", name="Start my break")).to_be_visible()
    assert not SelfExclusion.objects.filter(player=player).exists()

    pg.get_by_label("7 days").check()
    pg.get_by_role("button", name="Start my break").click()
    pg.get_by_role("button", name="Yes, start my break").click()
    expect(pg.get_by_test_id("rg-status")).to_contain_text("Until")
    expect(pg.get_by_test_id("play-block-banner")).to_contain_text("You are on a break until")  # at once
    exclusion = SelfExclusion.objects.get(player=player)
    assert exclusion.kind == SelfExclusion.Kind.BREAK and (exclusion.ends_at - exclusion.starts_at).days == 7


def test_break_and_exclusion_confirmations_work_without_javascript(chromium, live_server, settings):
    settings.ALLOWED_HOSTS = ["*"]
    player = PlayerFactory(username="nojs", balance="10")
    context = chromium.new_context(
        viewport={"width": 390, "height": 844}, base_url=live_server.url, java_script_enabled=False
    )
    context.set_default_timeout(10_000)
    pg = context.new_page()
    try:
        log_in(pg, "nojs", PASSWORD)
        pg.goto("/responsible/")
        expect(pg.get_by_role("link", name="Redeem a code")).to_be_visible()  # without JS the menu stays open
        pg.get_by_label("Exclude me for").select_option(label="1 month")
        pg.get_by_role("button", name="Exclude me").click()
        confirm = pg.get_by_test_id("exclusion-confirm")
        expect(confirm.get_by_role("heading", name="Exclude yourself for 1 month?")).to_be_visible()
        assert not SelfExclusion.objects.filter(player=player).exists()
        confirm.get_by_role("button", name="Yes, exclude me").click()
        pg.wait_for_url("**/responsible/")
        expect(pg.get_by_test_id("play-block-banner")).to_contain_text("You are self-excluded until")
        assert SelfExclusion.objects.get(player=player).kind == SelfExclusion.Kind.EXCLUSION
    finally:
        context.close()


# --- 8. money inputs ----------------------------------------------------------------------------


def test_a_withdrawal_asks_for_confirmation_with_the_amount(sized):
    pg, width = sized
    player = PlayerFactory(username=f"wd{width}", balance="100")
    log_in(pg, f"wd{width}", PASSWORD)
    pg.goto("/wallet/")
    pg.get_by_label("Amount to withdraw").fill("30")
    pg.get_by_role("button", name="Withdraw", exact=True).click()

    step = pg.get_by_test_id("withdraw-confirm")
    expect(step.get_by_test_id("withdraw-confirm-amount")).to_have_text("€30.00")
    confirm = step.get_by_role("button", name="Confirm withdrawal of €30.00")
    expect(confirm).to_be_focused()
    expect(pg.get_by_test_id("header-balance")).to_have_text("€100.00")
    assert balance_of(player=player) == D("100.00"), "asking must not move money"
    screenshot(pg, f"ux_account_withdraw_confirm_{width}")
    no_sideways_scroll(pg)

    confirm.click()
    expect(pg.get_by_test_id("balance")).to_have_text("€70.00")
    expect(pg.get_by_test_id("header-balance")).to_have_text("€70.00")
    expect(pg.locator("#toasts")).to_contain_text("Withdrew €30.00.")
    expect(pg.get_by_label("Amount to withdraw")).to_have_value("")  # a fresh form for the next one
    assert balance_of(player=player) == D("70.00")


def test_a_bad_amount_shows_the_servers_message_beside_the_field(sized):
    pg, width = sized
    player = PlayerFactory(username=f"bad{width}", balance="10")
    log_in(pg, f"bad{width}", PASSWORD)
    pg.goto("/wallet/")
    amount = pg.get_by_label("Amount to deposit")
    assert amount.get_attribute("pattern") is None, "a browser pattern would hide the server's message"
    assert amount.get_attribute("inputmode") == "decimal"
    amount.fill("12,50")
    pg.get_by_role("button", name="Deposit", exact=True).click()

    amount = pg.get_by_label("Amount to deposit")
    error = pg.locator("#id_deposit-amount_error")
    expect(error).to_contain_text("enter a number like 10 or 10.50")
    expect(amount).to_have_attribute("aria-invalid", "true")
    expect(amount).to_have_attribute("aria-describedby", "id_deposit-amount_error")
    expect(amount).to_have_accessible_description(
        "Amount: enter a number like 10 or 10.50 (digits, at most two decimals)."
    )
    box, field = error.bounding_box(), amount.bounding_box()
    assert 0 <= box["y"] - (field["y"] + field["height"]) < 40, "the message sits right under its field"
    expect(pg.get_by_test_id("balance")).to_have_text("€10.00")
    screenshot(pg, f"ux_account_amount_error_{width}")
    assert balance_of(player=player) == D("10.00")


# --- 5. the statement at 390 px -----------------------------------------------------------------


def test_the_statement_is_readable_at_both_widths(sized):
    pg, width = sized
    player = PlayerFactory(username=f"st{width}", balance="1234.5")
    for n in range(4):
        services.deposit(player=player, amount=D("100000.00"), idempotency_key=f"big-{n}")
    services.withdraw(player=player, amount=D("99999.99"), idempotency_key="big-out")
    log_in(pg, f"st{width}", PASSWORD)
    pg.goto("/wallet/")
    statement = pg.get_by_test_id("statement")
    expect(statement).to_contain_text("-€99,999.99")
    no_sideways_scroll(pg)
    cells = statement.locator("tbody td")
    for i in range(cells.count()):
        box = cells.nth(i).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, f"cell {i} is cut off: {box}"
    header_row = statement.locator("thead")
    if width < 600:
        # stacked cards: each value carries its column's name
        first = statement.locator("tbody tr").first
        assert first.evaluate("el => getComputedStyle(el).display") == "block"
        label = first.locator("td[data-label=Amount]").evaluate("el => getComputedStyle(el, '::before').content")
        assert label == '"Amount"'
        assert header_row.bounding_box()["height"] <= 1  # headers stay for screen readers only
    else:
        expect(header_row).to_be_visible()
    screenshot(pg, f"ux_account_wallet_{width}")


# --- screenshots of the account pages at both widths ---------------------------------------------


def test_account_pages_at_both_widths(sized):
    pg, width = sized
    player = PlayerFactory(username=f"shots{width}", balance="75")
    ensure_demo_codes()
    redemption = promotions.redeem(player=player, code="WELCOME10")
    responsible.set_deposit_limits(player=player, daily=D("500"))
    log_in(pg, f"shots{width}", PASSWORD)
    pages = {
        "wallet": "/wallet/",
        "responsible": "/responsible/",
        "redeem": "/redeem/",
        "redemption": f"/redemptions/{redemption.pk}/",
        "not_found": "/no-such-page/",
    }
    for name, url in pages.items():
        pg.goto(url)
        expect(pg.get_by_test_id("header-balance")).to_have_text("€85.00")
        no_sideways_scroll(pg)
        screenshot(pg, f"ux_account_{name}_{width}")
    pg.goto("/responsible/")
    expect(pg.get_by_test_id("limit-daily")).to_contain_text("€500.00")
    pg.goto(f"/redemptions/{redemption.pk}/")
    expect(pg.locator("main")).to_contain_text("+€10.00")


def test_controls_use_the_one_font_and_visible_borders(page):
    PlayerFactory(username="looks", balance="5")
    log_in(page, "looks", PASSWORD)
    page.goto("/wallet/")
    body_font = page.evaluate("getComputedStyle(document.body).fontFamily")
    assert body_font.startswith("system-ui")
    for selector in ("button.primary", "#id_deposit-amount", "#id_withdraw-amount", "summary.nav-toggle"):
        font = page.locator(selector).first.evaluate("el => getComputedStyle(el).fontFamily")
        assert font == body_font, (selector, font)
    border = page.locator("#id_deposit-amount").evaluate("el => getComputedStyle(el).borderTopColor")
    card = page.get_by_test_id("deposit-form").evaluate("el => getComputedStyle(el).backgroundColor")
    assert _contrast(border, card) >= 3, (border, card)
    secondary = page.get_by_role("button", name="Withdraw", exact=True)
    assert _contrast(secondary.evaluate("el => getComputedStyle(el).borderTopColor"), card) >= 3


def _contrast(a: str, b: str) -> float:
    def luminance(css: str) -> float:
        r, g, b = (int(v) / 255 for v in css[css.index("(") + 1 : css.index(")")].split(",")[:3])
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)
