"""Whole player journeys in a real browser, one test each, screenshots at 390px and desktop.

(a) sign up -> deposit -> deposit limit -> play (open, feed, spin) -> bet -> staff
    settles in the admin -> leave the session -> payout paid
(b) redeem a code
(c) staff adds a vendor promotion in the admin; the player sees it in the lobby
(d) a break (asked to confirm first) blocks play with a clear message: a banner on every
    page, the deposit controls disabled with the reason

Every key player page is checked for sideways scrolling at 390px. Screenshots:
``tests/artifacts/journey_<step>_{390,desktop}.png``.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import SelfExclusion, User
from accounts.selectors import balance_of
from casino.demo import load_demo_games
from casino.models import GameSession, Payout, Sportsbet, Vendor
from core.money import format_money
from promotions.demo import ensure_demo_codes
from promotions.models import Redemption, VendorPromotion
from tests.browser.conftest import log_in, screenshot
from tests.factories import PASSWORD, PlayerFactory, StaffFactory
from tests.helpers.sportsbook import make_event, selections

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
D = Decimal


def amount(value) -> re.Pattern:
    """An amount on a page another area renders, with or without its currency sign ("€20.00")."""
    return re.compile(rf"^\s*€?{re.escape(str(value))}\s*$")


def shoot(pg, name: str, *, player_page: bool = True) -> None:
    """Screenshots at 390px and at desktop width; a player page must not scroll sideways at 390px."""
    original = pg.viewport_size
    pg.set_viewport_size(PHONE)
    if player_page:
        width = pg.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{name}: the page scrolls sideways at 390px ({width}px wide)"
    screenshot(pg, f"journey_{name}_390")
    pg.set_viewport_size(DESKTOP)
    screenshot(pg, f"journey_{name}_desktop")
    pg.set_viewport_size(original)


def staff_page(chromium, live_server):
    context = chromium.new_context(viewport=DESKTOP, base_url=live_server.url)
    context.set_default_timeout(10_000)
    pg = context.new_page()
    log_in(pg, StaffFactory().username, PASSWORD)
    return context, pg


def test_journey_sign_up_to_payout_paid(page, chromium, live_server):
    load_demo_games()
    event = make_event(name="Royal Django FC vs Celery United", odds=("2.00", "3.40", "3.20"))
    home, _, _ = selections(event)

    # Sign up.
    page.goto("/signup/")
    page.get_by_label("Username").fill("journeyer")
    page.get_by_label("Email").fill("journeyer@example.com")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password confirmation").fill(PASSWORD)
    shoot(page, "a1_signup")
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url("**/wallet/")
    expect(page.locator("#toasts")).to_contain_text("Welcome, journeyer")
    player = User.objects.get(username="journeyer")

    # Deposit.
    page.get_by_label("Amount to deposit").fill("200")
    page.get_by_role("button", name="Deposit", exact=True).click()
    expect(page.get_by_test_id("balance")).to_have_text("€200.00")
    expect(page.get_by_test_id("header-balance")).to_have_text("€200.00")
    shoot(page, "a2_deposit")

    # Set a deposit limit: a lower limit applies at once.
    page.get_by_role("link", name="Responsible gaming", exact=True).click()
    page.get_by_label("24-hour limit").fill("250")
    page.get_by_role("button", name="Save limits").click()
    expect(page.get_by_test_id("limit-daily")).to_contain_text("€250.00")
    expect(page.get_by_test_id("limit-daily")).to_contain_text("€50.00")  # left today: 250 - 200
    shoot(page, "a3_deposit_limit")

    # Play a session: open, feed, spin.
    page.get_by_role("link", name="Lobby").click()
    card = page.get_by_test_id("game-fruit-frenzy")
    card.get_by_label("Amount to feed", exact=True).fill("20")
    card.get_by_role("button", name="Play Fruit Frenzy", exact=True).click()
    page.wait_for_url("**/sessions/*/")
    expect(page.get_by_test_id("session-balance")).to_have_text(amount("20.00"))
    page.get_by_label(re.compile(r"^Stake \(€?0\.10 – €?5\.00\)")).fill("0.50")
    page.get_by_role("button", name="Spin", exact=True).click()
    expect(page.get_by_test_id("spin-count")).to_have_text("1")
    shoot(page, "a4_session")
    session = GameSession.objects.get(player=player)

    # Bet on sports.
    page.get_by_role("link", name="Sportsbook").click()
    page.get_by_test_id(f"odds-{home.pk}").click()
    expect(page.get_by_test_id("slip-odds")).to_have_text("2.00")
    page.get_by_label("Stake").fill("10")
    page.get_by_role("button", name="Place bet").click()
    expect(page.locator("#slip .receipt")).to_contain_text("placed: €10.00 on Home FC at 2.00")
    expect(page.get_by_test_id("balance")).to_have_text(amount("170.00"))
    expect(page.get_by_test_id("header-balance")).to_have_text("€170.00")
    shoot(page, "a5_bet_placed")
    bet = Sportsbet.objects.get(player=player)

    # Staff settles the event in the admin, in their own browser context.
    context, admin = staff_page(chromium, live_server)
    admin.goto("/admin/casino/sportevent/")
    admin.get_by_role("link", name="Settle…").click()
    admin.get_by_label("Home FC @ 2.00").check()
    admin.get_by_role("button", name="Review settlement").click()
    shoot(admin, "a6_admin_settle", player_page=False)
    admin.get_by_role("button", name="Settle event").click()
    expect(admin.locator(".messagelist")).to_contain_text("1 won, 0 lost, 0 void")
    context.close()

    # Still at the machine: the win waits.
    page.goto(bet.get_absolute_url())
    expect(page.get_by_test_id("cash-out-later")).to_contain_text("when you leave the machine")
    shoot(page, "a7_bet_queued")
    assert Payout.objects.get(bet=bet).state == Payout.State.QUEUED

    # Leave the session: the machine balance comes back and the payout is paid.
    session.refresh_from_db()
    page.goto(session.get_absolute_url())
    page.get_by_role("button", name=re.compile(rf"Leave and cash out €?{re.escape(str(session.balance))}")).click()
    expect(page.get_by_test_id("closed-summary")).to_contain_text(
        re.compile(rf"Cashed out €?{re.escape(str(session.balance))}")
    )
    page.get_by_role("link", name="Wallet").click()
    payout = Payout.objects.get(bet=bet)
    expect(page.get_by_test_id(f"payout-{payout.pk}")).to_have_text("Paid")
    expected = D("170.00") + session.balance + D("20.00")
    expect(page.get_by_test_id("balance")).to_have_text(format_money(expected))
    expect(page.get_by_test_id("header-balance")).to_have_text(format_money(expected))
    shoot(page, "a8_payout_paid")
    assert balance_of(player=player) == expected


def test_journey_redeem_a_code(phone_page):
    page = phone_page
    player = PlayerFactory(username="redeemer", balance="50.00")
    ensure_demo_codes()
    log_in(page, "redeemer", PASSWORD)
    page.goto("/redeem/")
    page.get_by_label("Promotion code").fill("welcome10")
    page.get_by_role("button", name="Redeem", exact=True).click()
    expect(page.get_by_test_id("redeem-result")).to_contain_text("€10.00 bonus")
    expect(page.get_by_test_id("redeem-balance")).to_have_text("€60.00")
    expect(page.get_by_test_id("header-balance")).to_have_text("€60.00")  # updated without a reload
    shoot(page, "b1_redeemed")
    redemption = Redemption.objects.get(player=player)
    page.goto(f"/redemptions/{redemption.pk}/")
    expect(page.locator("main")).to_contain_text("WELCOME10")
    shoot(page, "b2_redemption_detail")
    page.goto("/wallet/")
    expect(page.get_by_test_id("balance")).to_have_text("€60.00")
    shoot(page, "b3_wallet")
    assert balance_of(player=player) == D("60.00")


def test_journey_staff_adds_a_vendor_promotion_player_sees_it(page, phone_page):
    (game, *_) = load_demo_games()
    vendor = Vendor.objects.create(slug="spinworks", name="Spinworks Studio")
    game.vendor = vendor
    game.save(update_fields=["vendor"])
    staff = StaffFactory()

    log_in(page, staff.username, PASSWORD)
    page.goto(f"/admin/casino/vendor/{vendor.pk}/change/")
    start = timezone.localtime().replace(second=0, microsecond=0)
    end = start + timedelta(days=7)
    row = "promotions-0"
    page.locator(f'select[name="{row}-kind"]').select_option("win_boost")
    page.locator(f'input[name="{row}-starts_at_0"]').fill(f"{start:%Y-%m-%d}")
    page.locator(f'input[name="{row}-starts_at_1"]').fill(f"{start:%H:%M:%S}")
    page.locator(f'input[name="{row}-ends_at_0"]').fill(f"{end:%Y-%m-%d}")
    page.locator(f'input[name="{row}-ends_at_1"]').fill(f"{end:%H:%M:%S}")
    page.locator(f'input[name="{row}-percent"]').fill("25")
    shoot(page, "c1_admin_vendor_promotion", player_page=False)
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url("**/admin/casino/vendor/")
    assert VendorPromotion.objects.filter(vendor=vendor, kind="win_boost").count() == 1

    player = PlayerFactory(balance="20.00")
    log_in(phone_page, player.username, PASSWORD)
    phone_page.goto("/")
    promo = phone_page.get_by_test_id(f"game-{game.slug}").get_by_test_id("vendor-promo-win_boost")
    expect(promo).to_be_visible()
    expect(promo).to_contain_text("25")
    shoot(phone_page, "c2_lobby_promotion")
    phone_page.goto(f"/vendors/{vendor.slug}/")
    expect(phone_page.locator("main")).to_contain_text("Spinworks Studio")
    shoot(phone_page, "c3_vendor_page")


def test_journey_a_break_blocks_play(phone_page):
    page = phone_page
    load_demo_games()
    player = PlayerFactory(username="breaker", balance="40.00")
    log_in(page, "breaker", PASSWORD)
    page.goto("/responsible/")
    page.get_by_label("24 hours").check()
    page.get_by_role("button", name="Start my break").click()
    expect(page.get_by_test_id("break-confirm")).to_contain_text("Nobody can end the break early")
    shoot(page, "d0_break_confirm")
    assert not SelfExclusion.objects.filter(player=player).exists()  # asked, not started
    page.get_by_role("button", name="Yes, start my break").click()
    expect(page.get_by_test_id("rg-status")).to_contain_text("Until")
    expect(page.get_by_test_id("play-block-banner")).to_contain_text("You are on a break until")
    shoot(page, "d1_break_started")

    page.goto("/")
    expect(page.get_by_test_id("play-block-banner")).to_contain_text("play, bets and deposits are paused")
    play = page.get_by_role("button", name="Play Fruit Frenzy", exact=True)
    if play.is_enabled():  # the lobby may also disable Play during a break (header.play_block)
        play.click()
        expect(page.locator("#toasts")).to_contain_text("You are on a break until")
        expect(page.locator("#toasts")).to_contain_text("play and bets are paused")
    shoot(page, "d2_play_refused")
    assert not GameSession.objects.filter(player=player).exists()

    page.goto("/wallet/")
    expect(page.get_by_role("button", name="Deposit", exact=True)).to_be_disabled()
    expect(page.get_by_test_id("deposit-blocked")).to_contain_text("on a break")
    shoot(page, "d3_deposit_refused")
    assert balance_of(player=player) == D("40.00")
