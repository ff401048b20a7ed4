"""Staff pages (issue 15, "Staff"), at 1280 px and 390 px: the player's page links to its
aggregate activity, which keeps this player's figures apart from the global counters;
settling asks for confirmation (and warns before kick-off); the bulk-issue form shows only
its reward kind's fields, with default dates, with and without JavaScript; no staff page
scrolls sideways (the vendor page and its timeline included)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from casino.demo import ensure_demo_vendor
from casino.models import Game, Payout, SportEvent, Sportsbet, Vendor
from promotions import services as promo_services
from promotions.models import PromotionCode
from tests.browser.conftest import log_in, screenshot
from tests.factories import PASSWORD, PlayerFactory, StaffFactory
from tests.helpers.security import build_world
from tests.helpers.sportsbook import bet, make_event, selections

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Axe()
FREE_SPIN_FIELDS = ("free_spins_game", "free_spins_count", "free_spin_stake")
WIDTHS = {"1280": {"width": 1280, "height": 900}, "390": {"width": 390, "height": 844}}


@pytest.fixture(params=["1280", "390"])
def staff_page(request, chromium, live_server, settings):
    """A staff member's browser at each width (the phone one with touch)."""
    settings.ALLOWED_HOSTS = ["*"]
    phone = request.param == "390"
    context = chromium.new_context(
        viewport=WIDTHS[request.param], base_url=live_server.url, is_mobile=phone, has_touch=phone
    )
    context.set_default_timeout(10_000)
    pg = context.new_page()
    pg.width = request.param
    staff = StaffFactory()
    log_in(pg, staff.username, PASSWORD)
    yield pg
    context.close()


def assert_no_sideways_scroll(pg, where: str) -> None:
    width = pg.evaluate("document.documentElement.scrollWidth")
    inner = pg.evaluate("window.innerWidth")
    assert width <= inner, f"{where} scrolls sideways at {inner}px ({width}px wide)"


# --- the player's page -> aggregate activity: this player apart from the global counters ----------
def test_player_page_links_to_activity_that_separates_player_from_global(staff_page):
    player = PlayerFactory(username="activity-ann", balance="40")
    staff_page.goto(reverse("admin:accounts_user_change", args=[player.pk]))
    screenshot(staff_page, f"staff_player_change_{staff_page.width}")
    staff_page.get_by_role("link", name="Aggregate activity").click()
    staff_page.wait_for_url(f"**{reverse('admin:accounts_user_activity', args=[player.pk])}")

    mine = staff_page.get_by_role("region", name="This player: activity-ann")
    world = staff_page.get_by_role("region", name="Global counters: all players")
    expect(mine).to_be_visible()
    expect(world).to_be_visible()
    expect(mine.get_by_test_id("player-account-writes")).to_have_text("1")  # the factory's deposit
    expect(mine.get_by_role("img", name="Account activity timeline of activity-ann")).to_be_visible()
    expect(mine.get_by_test_id("global-counters")).to_have_count(0)
    expect(world.get_by_test_id("global-counters")).to_be_visible()
    expect(world).to_contain_text("global, not this player")
    # The player's section comes first, the global one below it.
    assert mine.bounding_box()["y"] < world.bounding_box()["y"]
    assert_no_sideways_scroll(staff_page, "the activity page")
    screenshot(staff_page, f"staff_player_activity_{staff_page.width}")


# --- settling: a review of what will be paid before anything is written; kick-off warning -------------
def test_settling_asks_for_confirmation_and_warns_before_kick_off(staff_page):
    event = make_event(name="Review FC vs Confirm United")  # kicks off tomorrow
    home, _, _ = selections(event)
    placed = bet(PlayerFactory(balance="50"), home, "10.00")
    staff_page.goto(reverse("admin:casino_sportevent_changelist"))
    staff_page.get_by_role("link", name="Settle…").click()
    warning = staff_page.get_by_test_id("kickoff-warning")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("Kick-off is in the future")
    staff_page.get_by_label("Home FC @ 2.00").check()
    assert_no_sideways_scroll(staff_page, "the settle page")
    screenshot(staff_page, f"staff_settle_{staff_page.width}")
    staff_page.get_by_role("button", name="Review settlement").click()

    # The review: event, market, chosen result and what will be paid; nothing written yet.
    review = staff_page.get_by_test_id("settle-confirm")
    expect(review).to_be_visible()
    expect(staff_page.get_by_test_id("confirm-event")).to_contain_text("Review FC vs Confirm United")
    expect(staff_page.get_by_test_id("settle-preview")).to_contain_text("Match result")
    expect(staff_page.get_by_test_id("settle-preview")).to_contain_text("Home FC wins @ 2.00")
    expect(staff_page.get_by_test_id("preview-total")).to_have_text("€20.00")
    expect(warning).to_be_in_viewport()  # prominent: at the top of the review, not below the fold
    assert SportEvent.objects.get(pk=event.pk).status == SportEvent.Status.OPEN and not Payout.objects.exists()
    assert_no_sideways_scroll(staff_page, "the settle review")
    screenshot(staff_page, f"staff_settle_confirm_{staff_page.width}")

    # Changing the mind goes back with the choice kept; confirming settles.
    staff_page.get_by_role("button", name="Change the result").click()
    expect(staff_page.get_by_label("Home FC @ 2.00")).to_be_checked()
    staff_page.get_by_role("button", name="Review settlement").click()
    staff_page.get_by_role("button", name="Settle event before kick-off").click()
    expect(staff_page.locator(".messagelist")).to_contain_text("1 won, 0 lost, 0 void; 1 payouts queued (€20.00)")
    placed.refresh_from_db()
    assert placed.status == Sportsbet.Status.WON and Payout.objects.get(bet=placed).amount == 20


def test_settling_after_kick_off_has_no_warning(page):
    event = make_event(name="Played FC vs Over United")
    SportEvent.objects.filter(pk=event.pk).update(starts_at=timezone.now() - timedelta(hours=2))
    log_in(page, StaffFactory().username, PASSWORD)
    page.goto(reverse("admin:casino_sportevent_settle", args=[event.pk]))
    page.get_by_label("Void: refund every stake").check()
    page.get_by_role("button", name="Review settlement").click()
    expect(page.get_by_test_id("settle-confirm")).to_be_visible()
    expect(page.get_by_test_id("kickoff-warning")).to_have_count(0)
    page.get_by_role("button", name="Settle event", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("0 won, 0 lost, 0 void")


# --- bulk issue: field by field, default dates, only the reward kind's fields (JS or not) -------------
@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_bulk_issue_form_shows_only_the_reward_kind_fields(chromium, live_server, settings, javascript):
    settings.ALLOWED_HOSTS = ["*"]
    game = Game.objects.create(
        slug="bulk-browser-slot", name="Bulk browser slot", min_stake="0.10", max_stake="5.00",
        reels=[["cherry", "lemon"], ["cherry", "lemon"], ["cherry", "lemon"]],
        paytable=[{"line": ["cherry", "cherry", "cherry"], "pays": 2}],
    )  # fmt: skip
    staff = StaffFactory()
    for width, size in WIDTHS.items():
        context = chromium.new_context(viewport=size, base_url=live_server.url, java_script_enabled=javascript)
        context.set_default_timeout(10_000)
        pg = context.new_page()
        log_in(pg, staff.username, PASSWORD)
        pg.goto(reverse("admin:promotions_code_bulk_issue"))

        # Default dates: from now, for 30 days.
        starts = datetime.strptime(pg.get_by_label("Starts").input_value(), "%Y-%m-%dT%H:%M").replace(tzinfo=UTC)
        ends = datetime.strptime(pg.get_by_label("Ends").input_value(), "%Y-%m-%dT%H:%M").replace(tzinfo=UTC)
        assert abs(timezone.now() - starts) < timedelta(minutes=2) and ends - starts == timedelta(days=30)

        # Bonus (the default kind): the bonus amount, no free-spin fields; and the other way round.
        expect(pg.get_by_label("Bonus amount")).to_be_visible()
        for name in FREE_SPIN_FIELDS:
            expect(pg.locator(f'[name="{name}"]')).to_have_count(1)  # there, and hidden
            expect(pg.locator(f'[name="{name}"]')).to_be_hidden()
        assert_no_sideways_scroll(pg, f"bulk issue (javascript={javascript})")
        screenshot(pg, f"staff_bulk_issue_{'js' if javascript else 'nojs'}_{width}")
        pg.get_by_role("radio", name="Free spins").check()
        expect(pg.locator('[name="bonus_amount"]')).to_have_count(1)
        expect(pg.locator('[name="bonus_amount"]')).to_be_hidden()
        for label in ("Game:", "Spins per code:", "Stake per spin:"):
            expect(pg.get_by_label(label, exact=True)).to_be_visible()
        screenshot(pg, f"staff_bulk_issue_free_spins_{'js' if javascript else 'nojs'}_{width}")

        # Issue free-spin codes: labels, inputs, help per field; the error beside its field.
        campaign = f"Spins {width} {javascript}"
        pg.get_by_label("Count").fill("2")
        pg.get_by_label("Campaign").fill(campaign)
        pg.get_by_label("Spins per code").fill("5")
        pg.get_by_role("button", name="Issue codes").click()
        game_row = pg.locator(".form-row.field-free_spins_game")
        expect(game_row.locator(".errorlist")).to_contain_text("Pick the game")
        expect(pg.locator(".form-row.field-campaign .errorlist")).to_have_count(0)
        expect(pg.locator('[name="bonus_amount"]')).to_be_hidden()  # the kind stays picked after an error
        pg.get_by_label("Game:", exact=True).select_option(str(game.pk))
        pg.get_by_label("Stake per spin").fill("0.20")
        pg.get_by_role("button", name="Issue codes").click()
        expect(pg.get_by_text("Issued 2 codes for campaign")).to_be_visible()
        issued = PromotionCode.objects.filter(campaign=campaign)
        assert issued.count() == 2 and {(c.free_spins_count, c.bonus_amount) for c in issued} == {(5, None)}
        context.close()


# --- no sideways scroll: the vendor page (and its timeline) at 1280, every custom staff page ---------
def _vendor_with_promotions() -> Vendor:
    vendor = ensure_demo_vendor()
    t0 = timezone.now().replace(microsecond=0) + timedelta(days=2)
    promo_services.add_vendor_promotion(
        vendor=vendor, kind="free_spins", starts_at=t0, ends_at=t0 + timedelta(days=3),
        free_spins_count=10, free_spin_stake="0.20",
    )  # fmt: skip
    promo_services.add_vendor_promotion(
        vendor=vendor, kind="win_boost", starts_at=t0 + timedelta(days=1), ends_at=t0 + timedelta(days=6), percent=25
    )
    return vendor


def test_vendor_page_and_timeline_fit_1280(page):
    vendor = _vendor_with_promotions()
    log_in(page, StaffFactory().username, PASSWORD)
    page.goto(reverse("admin:casino_vendor_change", args=[vendor.pk]))
    rows = page.locator("#promotions-group tbody tr.form-row.has_original")
    expect(rows).to_have_count(2)
    # Every column of the inline, Delete included, is on screen without scrolling.
    for name in ("promotions-0-free_spin_stake", "promotions-1-percent", "promotions-0-DELETE"):
        box = page.locator(f'[name="{name}"]').bounding_box()
        assert box and box["x"] + box["width"] <= 1280, name
    assert_no_sideways_scroll(page, "the vendor page")
    screenshot(page, "staff_vendor_change_1280")
    page.locator("#promotions-group .add-row a").click()
    expect(page.locator("#promotions-group tbody tr.form-row:not(.empty-form)")).to_have_count(4)
    assert_no_sideways_scroll(page, "the vendor page with a new row")

    page.get_by_role("link", name="Timeline").first.click()
    expect(page.locator('[data-testid="bar"]')).to_have_count(2)
    assert_no_sideways_scroll(page, "the vendor timeline")
    screenshot(page, "staff_vendor_timeline_1280")


def test_staff_pages_do_not_scroll_sideways(staff_page):
    world = build_world()
    vendor = _vendor_with_promotions()
    event = make_event(name="Wide FC vs Narrow United")
    urls = {
        "player_change": reverse("admin:accounts_user_change", args=[world.player.pk]),
        "player_activity": reverse("admin:accounts_user_activity", args=[world.player.pk]),
        "settle": reverse("admin:casino_sportevent_settle", args=[event.pk]),
        "events": reverse("admin:casino_sportevent_changelist"),
        "payout_queue": reverse("admin:casino_payout_changelist"),
        "vendor_change": reverse("admin:casino_vendor_change", args=[vendor.pk]),
        "vendor_timeline": reverse("admin:casino_vendor_timeline", args=[vendor.pk]),
        "codes": reverse("admin:promotions_promotioncode_changelist"),
        "bulk_issue": reverse("admin:promotions_code_bulk_issue"),
        "sessions": reverse("admin:casino_gamesession_changelist"),
        "session": reverse("admin:casino_gamesession_change", args=[world.session.pk]),
        "players": reverse("admin:accounts_user_changelist"),
    }
    wide = []
    for name, url in urls.items():
        response = staff_page.goto(url)
        assert response is not None and response.status == 200, url
        width = staff_page.evaluate("document.documentElement.scrollWidth")
        if width > int(staff_page.width):
            wide.append(f"{name} ({width}px)")
        screenshot(staff_page, f"staff_{name}_{staff_page.width}")
    assert not wide, f"staff pages scroll sideways at {staff_page.width}px: {', '.join(wide)}"


# --- the states only a POST reaches (the audit in test_accessibility walks GET pages) ---------------
def _blocking(pg) -> list[str]:
    found = []
    for violation in AXE.run(pg).response["violations"]:
        if violation.get("impact") in {"serious", "critical"}:
            nodes = ", ".join(" ".join(n["target"][0:1]) for n in violation["nodes"][:5])
            found.append(f"{pg.url} @{pg.viewport_size['width']}px: {violation['id']} ({violation['impact']}): {nodes}")
    return found


def test_settle_review_and_bulk_issue_errors_pass_axe(staff_page):
    event = make_event(name="Axe FC vs Review United")
    bet(PlayerFactory(balance="50"), selections(event)[0], "5.00")
    staff_page.goto(reverse("admin:casino_sportevent_settle", args=[event.pk]))
    staff_page.get_by_label("Void: refund every stake").check()
    staff_page.get_by_role("button", name="Review settlement").click()
    expect(staff_page.get_by_test_id("settle-confirm")).to_be_visible()
    found = _blocking(staff_page)

    staff_page.goto(reverse("admin:promotions_code_bulk_issue"))
    staff_page.get_by_role("radio", name="Free spins").check()
    staff_page.get_by_role("button", name="Issue codes").click()
    expect(staff_page.locator(".form-row.field-campaign .errorlist")).to_be_visible()
    found += _blocking(staff_page)
    assert not found, "axe found serious/critical violations:\n" + "\n".join(found)
