"""A player opens a slot session, feeds it, spins (balance swaps in place), leaves, sees the account credited."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from accounts.selectors import balance_of
from casino.demo import load_demo_games
from casino.models import GameSession, Spin
from tests.browser.conftest import log_in, screenshot
from tests.factories import PASSWORD, PlayerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_open_feed_spin_leave(page):
    load_demo_games()
    player = PlayerFactory(balance="100.00")
    log_in(page, player.username, PASSWORD)
    page.goto("/")
    expect(page.get_by_test_id("account-balance")).to_have_text("100.00")
    page.get_by_role("button", name="Play Fruit Frenzy").click()
    page.wait_for_url("**/sessions/*/")

    page.get_by_label("Amount to feed from your account").fill("20")
    page.get_by_role("button", name="Feed").click()
    balance = page.get_by_test_id("session-balance")
    expect(balance).to_have_text("20.00")
    expect(page.get_by_test_id("account-balance")).to_have_text("80.00")

    # Spins swap the play panel in place: a marker on the window survives only without a reload.
    page.evaluate("window.__noReload = true")
    page.get_by_label("Stake (0.10 – 5.00)").fill("0.50")
    for n in range(1, 6):
        page.get_by_role("button", name="Spin").click()
        expect(page.get_by_test_id("spin-count")).to_have_text(str(n))
        last = Spin.objects.filter(session__player=player).order_by("-id").first()
        expect(balance).to_have_text(str(last.balance_after))
    assert page.evaluate("window.__noReload") is True
    expect(page.get_by_test_id("spin-history").locator("tbody tr")).to_have_count(5)
    screenshot(page, "sessions_spinning")

    session = GameSession.objects.get(player=player)
    in_machine = session.balance
    page.get_by_role("button", name=f"Leave and cash out {in_machine}").click()
    expect(page.get_by_test_id("closed-summary")).to_contain_text(f"Cashed out {in_machine}")
    expected = Decimal("80.00") + in_machine
    expect(page.get_by_test_id("account-balance")).to_have_text(str(expected))
    assert balance_of(player=player) == expected
    page.goto("/")
    expect(page.get_by_test_id("account-balance")).to_have_text(str(expected))
    screenshot(page, "sessions_after_leave")


def test_bad_stake_shows_an_error_in_place(phone_page):
    page = phone_page
    load_demo_games()
    player = PlayerFactory(balance="10.00")
    log_in(page, player.username, PASSWORD)
    page.goto("/games/diamond-sevens/")
    page.get_by_role("button", name="Play Diamond Sevens").click()
    page.get_by_label("Amount to feed from your account").fill("5")
    page.get_by_role("button", name="Feed").click()
    expect(page.get_by_test_id("session-balance")).to_have_text("5.00")
    page.get_by_label("Stake (1.00 – 50.00)").fill("6.00")
    page.get_by_role("button", name="Spin").click()
    expect(page.get_by_text("Not enough money in the machine")).to_be_visible()
    page.get_by_label("Stake (1.00 – 50.00)").fill("0.50")
    page.get_by_role("button", name="Spin").click()
    expect(page.get_by_text("must be between 1.00 and 50.00")).to_be_visible()
    expect(page.get_by_test_id("session-balance")).to_have_text("5.00")
    screenshot(page, "sessions_phone_error")
