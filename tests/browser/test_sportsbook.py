"""Browser: a player bets, staff settles in the admin, the player leaves a session and sees the payout paid."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from accounts.selectors import balance_of
from casino import services
from casino.models import Payout, Sportsbet
from tests.browser.conftest import log_in, screenshot
from tests.factories import PASSWORD, PlayerFactory, StaffFactory
from tests.helpers.sportsbook import make_event, make_game, selections

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_bet_settle_in_admin_leave_session_payout_paid(page, chromium, live_server):
    player = PlayerFactory(balance="100.00")
    staff = StaffFactory()
    event = make_event(name="Royal Django FC vs Celery United", odds=("2.00", "3.40", "3.20"))
    home, _, _ = selections(event)

    # The player bets 10 on the home side from the slip.
    log_in(page, player.username, PASSWORD)
    page.goto("/sportsbook/")
    page.get_by_test_id(f"odds-{home.pk}").click()
    expect(page.get_by_test_id("slip-odds")).to_have_text("2.00")
    page.get_by_label("Stake").fill("10")
    page.get_by_role("button", name="Place bet").click()
    expect(page.locator("#slip .receipt")).to_contain_text("placed: €10.00 on Home FC at 2.00")
    expect(page.get_by_test_id("balance")).to_have_text("€90.00")
    screenshot(page, "sportsbook_bet_placed")
    placed = Sportsbet.objects.get(player=player)

    # The player sits down at a machine.
    session = services.open_session(player=player, game=make_game())

    # Staff settles the event in the admin, in their own browser context.
    staff_context = chromium.new_context(viewport={"width": 1280, "height": 900}, base_url=live_server.url)
    staff_page = staff_context.new_page()
    staff_page.set_default_timeout(10_000)
    log_in(staff_page, staff.username, PASSWORD)
    staff_page.goto("/admin/casino/sportevent/")
    staff_page.get_by_role("link", name="Settle…").click()
    staff_page.get_by_label("Home FC @ 2.00").check()
    staff_page.get_by_role("button", name="Review settlement").click()
    staff_page.get_by_role("button", name="Settle event").click()
    expect(staff_page.locator(".messagelist")).to_contain_text("1 won, 0 lost, 0 void; 1 payouts queued (€20.00)")
    staff_page.goto("/admin/casino/payout/")
    expect(staff_page.get_by_test_id("liability")).to_have_text("€20.00")
    screenshot(staff_page, "sportsbook_admin_payout_queue")
    staff_context.close()

    # Mid-session: the win is queued, and the bet page says when it will be paid.
    page.goto(placed.get_absolute_url())
    expect(page.get_by_test_id(f"payout-state-{placed.pk}")).to_have_text("Winnings queued")
    expect(page.get_by_test_id("cash-out-later")).to_contain_text("when you leave the machine")
    assert Payout.objects.get(bet=placed).state == Payout.State.QUEUED

    # Leaving the machine pays the queued payout (the session-close hook enqueues it).
    page.goto(session.get_absolute_url())
    page.get_by_role("button", name="Leave and cash out").click()
    # The next full page (the closed session) announces the payout, once.
    expect(page.locator("#toasts")).to_contain_text("Payout of €20.00 for bet")
    page.goto("/bets/")
    expect(page.get_by_test_id(f"payout-state-{placed.pk}")).to_have_text("Winnings paid")
    page.goto("/wallet/")
    expect(page.get_by_test_id(f"payout-{placed.payout.pk}")).to_have_text("Paid")
    expect(page.get_by_test_id("balance")).to_have_text("€110.00")
    screenshot(page, "sportsbook_payout_paid_wallet")
    assert balance_of(player=player) == Decimal("110.00")
