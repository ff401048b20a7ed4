"""A player opens a slot session, feeds it, spins (balance swaps in place), leaves, sees the account credited."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from accounts.selectors import balance_of
from casino.demo import load_demo_games
from casino.models import GameSession, Spin
from core.money import format_money
from tests.browser.conftest import log_in, screenshot
from tests.factories import PASSWORD, PlayerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_open_feed_spin_leave(page):
    load_demo_games()
    player = PlayerFactory(balance="100.00")
    log_in(page, player.username, PASSWORD)
    page.goto("/")
    expect(page.get_by_test_id("account-balance")).to_have_text("€100.00")
    # Opening feeds the machine in the same step (the default amount, €20).
    page.get_by_role("button", name="Play Fruit Frenzy", exact=True).click()
    page.wait_for_url("**/sessions/*/")
    balance = page.get_by_test_id("session-balance")
    expect(balance).to_have_text("€20.00")
    expect(page.get_by_test_id("account-balance")).to_have_text("€80.00")

    page.get_by_label("Amount to feed from your account").fill("5")
    page.get_by_role("button", name="Feed", exact=True).click()
    expect(balance).to_have_text("€25.00")
    expect(page.get_by_test_id("account-balance")).to_have_text("€75.00")
    expect(page.get_by_test_id("header-balance")).to_have_text("€75.00")

    # Spins swap the play panel in place: a marker on the window survives only without a reload.
    page.evaluate("window.__noReload = true")
    page.get_by_label("Stake (€0.10 – €5.00)").fill("0.50")
    for n in range(1, 6):
        page.get_by_role("button", name="Spin").click()
        expect(page.get_by_test_id("spin-count")).to_have_text(str(n))
        last = Spin.objects.filter(session__player=player).order_by("-id").first()
        expect(balance).to_have_text(format_money(last.balance_after))
    assert page.evaluate("window.__noReload") is True
    expect(page.get_by_test_id("spin-history").locator("tbody tr")).to_have_count(5)
    screenshot(page, "sessions_spinning")

    session = GameSession.objects.get(player=player)
    in_machine = session.balance
    page.get_by_role("button", name=f"Leave and cash out {format_money(in_machine)}").click()
    expect(page.get_by_test_id("closed-summary")).to_contain_text(f"Cashed out {format_money(in_machine)}")
    expected = Decimal("75.00") + in_machine
    expect(page.get_by_test_id("account-balance")).to_have_text(format_money(expected))
    expect(page.get_by_test_id("header-balance")).to_have_text(format_money(expected))
    assert balance_of(player=player) == expected
    page.goto("/")
    expect(page.get_by_test_id("account-balance")).to_have_text(format_money(expected))
    screenshot(page, "sessions_after_leave")


def test_bad_stake_shows_an_error_in_place(phone_page):
    page = phone_page
    load_demo_games()
    player = PlayerFactory(balance="10.00")
    log_in(page, player.username, PASSWORD)
    page.goto("/games/diamond-sevens/")
    page.get_by_label("Amount to feed", exact=True).fill("5")
    page.get_by_role("button", name="Play Diamond Sevens", exact=True).click()
    expect(page.get_by_test_id("session-balance")).to_have_text("€5.00")
    stake = page.get_by_label("Stake (€1.00 – €50.00)")
    stake.fill("6.00")
    page.get_by_role("button", name="Spin").click()
    expect(page.get_by_text("Not enough money in the machine")).to_be_visible()
    expect(stake).to_have_attribute("aria-invalid", "true")  # the error sits beside the field
    stake.fill("0.50")
    page.get_by_role("button", name="Spin").click()
    expect(page.get_by_text("must be between 1.00 and 50.00")).to_be_visible()
    expect(page.get_by_test_id("session-balance")).to_have_text("€5.00")
    screenshot(page, "sessions_phone_error")
