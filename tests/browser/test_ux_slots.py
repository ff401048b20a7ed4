"""Slots as a player meets them (issue 15, points 2, 3, 5, 8, 9), at 390 px and 1280 px.

Each journey runs at both widths (the ``pg`` fixture): open a machine with a feed amount and
spin at once; Enter spins twice; the stake +/- stays in the game's range; a forced win is
celebrated; the reels roll while a spin is in flight (a plain indicator with reduced motion);
the header's machine balance follows spins and feeds; the lobby stops advertising free spins
the player used up; the vendor line links to the vendor page; the spin table and the session
history are readable on a phone; play controls are disabled with the reason during a break.
"""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts import services as accounts_services
from casino import services
from casino.demo import load_demo_games
from casino.models import GameSession, Spin, Vendor
from core.money import format_money
from promotions.models import VendorPromotion
from tests.browser.conftest import log_in, no_sideways_scroll, screenshot
from tests.factories import PASSWORD, PlayerFactory
from tests.helpers.slots import force_reels

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = {"page": 1280, "phone_page": 390}


@pytest.fixture(params=list(WIDTHS), ids=lambda name: str(WIDTHS[name]))
def pg(request):
    """The same journey in a desktop browser (1280 px) and on a phone (390 px)."""
    page = request.getfixturevalue(request.param)
    page.width = WIDTHS[request.param]
    return page


def sitting_at(page, *, game="fruit-frenzy", feed="20.00", balance="100.00"):
    """A logged-in player with a fed session open on ``game``, on its page."""
    games = {g.slug: g for g in load_demo_games()}
    player = PlayerFactory(balance=balance)
    session = services.open_session(player=player, game=games[game])
    if feed:
        services.feed(session=session, amount=feed, idempotency_key="setup")
    log_in(page, player.username, PASSWORD)
    page.goto(session.get_absolute_url())
    return player, session


def spin_button(page):
    return page.get_by_role("button", name="Spin", exact=True)


# --- 3. open with a feed amount: the first spin works -----------------------------
def test_opening_with_a_quick_amount_lets_the_first_spin_play(pg):
    load_demo_games()
    player = PlayerFactory(balance="100.00")
    log_in(pg, player.username, PASSWORD)
    pg.goto("/")
    card = pg.get_by_test_id("game-fruit-frenzy")
    # Quick amounts the account can pay, and a typed amount beside Play.
    for amount in ("€10.00", "€20.00", "€50.00", "€100.00"):
        expect(card.get_by_role("button", name=f"Play Fruit Frenzy with {amount}")).to_be_visible()
    expect(card.get_by_label("Amount to feed", exact=True)).to_have_value("20.00")
    no_sideways_scroll(pg)
    screenshot(pg, f"ux_slots_lobby_{pg.width}")

    card.get_by_role("button", name="Play Fruit Frenzy with €50.00").click()
    pg.wait_for_url("**/sessions/*/")
    expect(pg.get_by_test_id("session-balance")).to_have_text("€50.00")
    expect(pg.get_by_test_id("header-balance")).to_have_text("€50.00")
    spin_button(pg).click()
    expect(pg.get_by_test_id("spin-count")).to_have_text("1")
    expect(pg.get_by_text("Feed it first")).to_have_count(0)
    assert Spin.objects.filter(session__player=player).count() == 1
    no_sideways_scroll(pg)
    screenshot(pg, f"ux_slots_session_{pg.width}")


def test_opening_with_a_typed_amount_from_the_game_page(pg):
    load_demo_games()
    player = PlayerFactory(balance="30.00")
    log_in(pg, player.username, PASSWORD)
    pg.goto("/games/diamond-sevens/")
    # Only the quick amounts the account can pay: €10 and €20, not €50 or €100.
    expect(pg.get_by_role("button", name="Play Diamond Sevens with €20.00")).to_be_visible()
    expect(pg.get_by_role("button", name="Play Diamond Sevens with €50.00")).to_have_count(0)
    pg.get_by_label("Amount to feed", exact=True).fill("7.50")
    pg.get_by_role("button", name="Play Diamond Sevens", exact=True).click()
    pg.wait_for_url("**/sessions/*/")
    expect(pg.get_by_test_id("session-balance")).to_have_text("€7.50")
    no_sideways_scroll(pg)
    screenshot(pg, f"ux_slots_game_opened_{pg.width}")
    assert GameSession.objects.get(player=player).balance == Decimal("7.50")


# --- 3. focus stays on Spin: Enter (and Space) spin again --------------------------
def test_enter_spins_twice_and_focus_stays_on_spin(pg):
    player, session = sitting_at(pg)
    pg.get_by_label("Stake (€0.10 – €5.00)").fill("0.10")
    spin_button(pg).focus()
    pg.keyboard.press("Enter")
    expect(pg.get_by_test_id("spin-count")).to_have_text("1")
    expect(spin_button(pg)).to_be_focused()
    pg.keyboard.press("Enter")
    expect(pg.get_by_test_id("spin-count")).to_have_text("2")
    expect(spin_button(pg)).to_be_focused()
    pg.keyboard.press(" ")
    expect(pg.get_by_test_id("spin-count")).to_have_text("3")
    assert Spin.objects.filter(session=session).count() == 3
    assert all(s.stake == Decimal("0.10") for s in Spin.objects.filter(session=session))


# --- 3 and 8. stake +/- within the game's range ----------------------------------
def test_stake_buttons_step_within_the_games_range(pg):
    sitting_at(pg)
    stake = pg.get_by_label("Stake (€0.10 – €5.00)")
    lower = pg.get_by_role("button", name="Lower the stake")
    raise_ = pg.get_by_role("button", name="Raise the stake")
    expect(stake).to_have_attribute("min", "0.10")
    expect(stake).to_have_attribute("max", "5.00")
    expect(stake).to_have_attribute("inputmode", "decimal")
    assert stake.get_attribute("pattern") is None
    expect(stake).to_have_value("0.10")
    expect(lower).to_be_disabled()  # already the minimum
    seen = []
    for _ in range(8):  # more presses than there are levels: it stops at the maximum
        if raise_.is_disabled():
            break
        raise_.click()
        seen.append(stake.input_value())
    assert seen == ["0.20", "0.50", "1.00", "2.00", "5.00"]
    expect(raise_).to_be_disabled()
    stake.fill("3.30")
    lower.click()
    expect(stake).to_have_value("2.00")
    stake.fill("99")
    lower.click()
    expect(stake).to_have_value("5.00")  # back inside the range
    # The server's message still shows beside the field for a stake typed out of range.
    stake.fill("9")
    spin_button(pg).click()
    expect(pg.get_by_text("must be between 0.10 and 5.00")).to_be_visible()
    expect(pg.get_by_label("Stake (€0.10 – €5.00)")).to_have_attribute("aria-invalid", "true")
    expect(pg.get_by_role("button", name="Raise the stake")).to_be_visible()  # the buttons come back with the form
    no_sideways_scroll(pg)


# --- 3. a win is celebrated, scaled to the win, and announced -------------------
@pytest.mark.parametrize(
    ("symbols", "tier", "title"),
    [(("cherry", "lemon", "orange"), "small", "Win!"), (("seven", "seven", "seven"), "huge", "Huge win!")],
    ids=["small", "huge"],
)
def test_a_forced_win_is_celebrated_by_its_size(pg, monkeypatch, symbols, tier, title):
    player, session = sitting_at(pg)
    force_reels(monkeypatch, "lemon", "orange", "bell")
    pg.get_by_label("Stake (€0.10 – €5.00)").fill("0.10")
    spin_button(pg).click()
    expect(pg.get_by_test_id("spin-count")).to_have_text("1")
    expect(pg.get_by_test_id("celebration")).to_have_count(0)  # no win, no party
    expect(pg.get_by_test_id("spin-announce")).to_contain_text("No win.")

    force_reels(monkeypatch, *symbols)
    spin_button(pg).click()
    expect(pg.get_by_test_id("spin-count")).to_have_text("2")
    celebration = pg.get_by_test_id("celebration")
    expect(celebration).to_be_visible()
    expect(celebration).to_have_attribute("data-tier", tier)
    expect(celebration).to_have_text(title)
    win = Spin.objects.filter(session=session).order_by("-id").first().win
    expect(pg.get_by_test_id("last-win")).to_contain_text(f"Win {format_money(win)}")
    # Screen readers hear it: the polite live region says the win and the machine balance.
    announce = pg.get_by_test_id("spin-announce")
    expect(announce).to_have_attribute("aria-live", "polite")
    expect(announce).to_contain_text(f"{title} {format_money(win)} on a €0.10 stake.")
    session.refresh_from_db()
    expect(announce).to_contain_text(f"In the machine: {format_money(session.balance)}.")
    screenshot(pg, f"ux_slots_win_{tier}_{pg.width}")


# --- 3. the spinning state while the request is in flight ------------------------
@pytest.fixture
def slow_spins(monkeypatch):
    """Spins take a second in the server, so the page's in-flight state can be seen."""
    release = threading.Event()
    original = services.spin

    def slow(**kwargs):
        release.wait(timeout=3)
        return original(**kwargs)

    monkeypatch.setattr("casino.views.games.services.spin", slow)
    yield release
    release.set()


def test_reels_roll_while_a_spin_is_in_flight(pg, slow_spins):
    sitting_at(pg)
    spin_button(pg).click()
    result = pg.locator("#spin-result")
    expect(result).to_have_class("spin-result htmx-request")
    icon = pg.locator("#spin-result .reel .sym-icon").first
    assert icon.evaluate("el => getComputedStyle(el).animationName") == "reel-roll"
    expect(pg.get_by_test_id("spinning-text")).to_be_hidden()  # motion is the indicator here
    expect(spin_button(pg)).to_be_disabled()  # one spin at a time
    slow_spins.set()
    expect(pg.get_by_test_id("spin-count")).to_have_text("1")
    # The new result settles a moment after the out-of-band parts (htmx's settle step): wait for it.
    pg.wait_for_function(
        "() => getComputedStyle(document.querySelector('#spin-result .reel .sym-icon')).animationName === 'none'",
        timeout=5000,
    )


def test_reduced_motion_gets_a_plain_spinning_indicator(pg, slow_spins):
    pg.emulate_media(reduced_motion="reduce")
    sitting_at(pg)
    spin_button(pg).click()
    expect(pg.locator("#spin-result")).to_have_class("spin-result htmx-request")
    expect(pg.get_by_test_id("spinning-text")).to_be_visible()
    expect(pg.get_by_test_id("spinning-text")).to_have_text("Spinning…")
    icon = pg.locator("#spin-result .reel .sym-icon").first
    assert icon.evaluate("el => getComputedStyle(el).animationName") == "none"
    slow_spins.set()
    expect(pg.get_by_test_id("spin-count")).to_have_text("1")
    expect(pg.get_by_test_id("spinning-text")).to_be_hidden()


# --- 1. the header's machine balance follows spins and feeds -----------------------
def test_header_machine_balance_changes_after_a_spin_and_a_feed(pg, monkeypatch):
    player, session = sitting_at(pg)
    header = pg.get_by_test_id("header-machine")
    expect(header).to_have_text("€20.00")
    expect(pg.locator("#header-machine")).to_be_visible()
    force_reels(monkeypatch, "lemon", "orange", "bell")  # a loss: the machine goes down by the stake
    pg.get_by_label("Stake (€0.10 – €5.00)").fill("1.00")
    spin_button(pg).click()
    expect(header).to_have_text("€19.00")
    expect(pg.get_by_test_id("session-balance")).to_have_text("€19.00")
    force_reels(monkeypatch, "lemon", "lemon", "lemon")  # ×10
    spin_button(pg).click()
    expect(header).to_have_text("€28.00")
    pg.get_by_role("button", name="Feed €10.00").click()  # a quick amount on the feed card
    expect(header).to_have_text("€38.00")
    expect(pg.get_by_test_id("header-balance")).to_have_text("€70.00")  # the account moved: it re-read itself
    session.refresh_from_db()
    assert session.balance == Decimal("38.00")
    no_sideways_scroll(pg)
    screenshot(pg, f"ux_slots_header_machine_{pg.width}")


# --- 3. the lobby stops advertising free spins the player used up -----------------
def test_lobby_hides_free_spins_the_player_used_up(pg):
    games = {g.slug: g for g in load_demo_games()}
    vendor = Vendor.objects.create(slug="spinco", name="SpinCo")
    fruit = games["fruit-frenzy"]
    fruit.vendor = vendor
    fruit.save()
    VendorPromotion.objects.create(
        vendor=vendor,
        kind="free_spins",
        free_spins_count=2,
        free_spin_stake=Decimal("0.10"),
        starts_at=timezone.now() - timedelta(hours=1),
        ends_at=timezone.now() + timedelta(days=1),
    )
    player = PlayerFactory(balance="50.00")
    log_in(pg, player.username, PASSWORD)
    pg.goto("/")
    card = pg.get_by_test_id("game-fruit-frenzy")
    expect(card.get_by_test_id("vendor-promo-free_spins")).to_be_visible()  # an offer not yet taken
    card.get_by_role("button", name="Play Fruit Frenzy with €10.00").click()
    pg.wait_for_url("**/sessions/*/")
    for left in (1, 0):
        pg.get_by_test_id("free-spin").click()
        expect(pg.get_by_test_id("spin-count")).to_have_text(str(2 - left))
    expect(pg.get_by_test_id("free-spin")).to_have_count(0)
    pg.get_by_role("button", name="Leave and cash out").click()
    expect(pg.get_by_test_id("closed-summary")).to_be_visible()
    pg.goto("/")
    card = pg.get_by_test_id("game-fruit-frenzy")
    expect(card).to_be_visible()
    expect(card.get_by_test_id("vendor-promo-free_spins")).to_have_count(0)
    expect(card.get_by_test_id("free-spins-fruit-frenzy")).to_have_count(0)
    no_sideways_scroll(pg)


# --- 2. the "by <vendor>" line links to the vendor page ---------------------------
def test_vendor_line_navigates_to_the_vendor_page(pg):
    games = {g.slug: g for g in load_demo_games()}
    vendor = Vendor.objects.create(slug="reelworks", name="Reelworks")
    games["diamond-sevens"].vendor = vendor
    games["diamond-sevens"].save()
    player = PlayerFactory(balance="10.00")
    log_in(pg, player.username, PASSWORD)
    pg.goto("/")
    pg.get_by_test_id("game-diamond-sevens").get_by_role("link", name="Reelworks").click()
    pg.wait_for_url("**/vendors/reelworks/")
    expect(pg.get_by_role("heading", level=1)).to_contain_text("Reelworks")
    pg.goto("/games/diamond-sevens/")
    pg.get_by_test_id("vendor-link").click()
    pg.wait_for_url("**/vendors/reelworks/")
    no_sideways_scroll(pg)


# --- 5. the spin table and session history are readable on a phone -----------------
def assert_cells_in_view(page, selector):
    width = page.evaluate("window.innerWidth")
    cells = page.locator(selector)
    assert cells.count() > 0
    for i in range(cells.count()):
        box = cells.nth(i).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5, (selector, box, width)


def test_spin_table_and_session_history_are_readable(pg):
    player, session = sitting_at(pg)
    for i in range(3):
        services.spin(session=session, stake="0.50", idempotency_key=f"s{i}")
    services.leave(session=session)
    second = services.open_session(player=player, game=session.game)
    services.feed(session=second, amount="5.00", idempotency_key="f2")
    services.spin(session=second, stake="0.10", idempotency_key="t")
    pg.goto(second.get_absolute_url())
    for label in ("Win", "Balance after", "Stake"):
        assert_cells_in_view(pg, f"[data-testid='spin-history'] td[data-label='{label}']")
    no_sideways_scroll(pg)
    if pg.width < 600:  # stacked cards: each value carries its column's name
        cell = pg.locator("[data-testid='spin-history'] td[data-label='Balance after']").first
        assert cell.evaluate("el => getComputedStyle(el, '::before').content") == '"Balance after"'
        expect(pg.locator("[data-testid='spin-history'] thead")).not_to_be_in_viewport()
    screenshot(pg, f"ux_slots_spin_table_{pg.width}")

    pg.goto("/sessions/")
    for label in ("Cashed out", "Won", "Staked", "Fed"):
        assert_cells_in_view(pg, f"[data-testid='session-history'] td[data-label='{label}']")
    expect(pg.get_by_test_id(f"cashed-out-{session.pk}")).to_have_text(
        format_money(GameSession.objects.get(pk=session.pk).cashed_out)
    )
    expect(pg.get_by_test_id(f"cashed-out-{session.pk}")).to_be_in_viewport()
    no_sideways_scroll(pg)
    screenshot(pg, f"ux_slots_session_history_{pg.width}")


# --- 9. reel symbols: labels match icons and never break mid-word -----------------
def test_reel_labels_match_icons_and_stay_whole(pg, monkeypatch):
    sitting_at(pg, game="diamond-sevens", feed="50.00")
    force_reels(monkeypatch, "diamond", "diamond", "diamond")
    pg.get_by_label("Stake (€1.00 – €50.00)").fill("1.00")
    spin_button(pg).click()
    expect(pg.get_by_test_id("spin-count")).to_have_text("1")
    names = pg.locator("[data-testid='reels'] .sym-name")
    expect(names).to_have_text(["diamond", "diamond", "diamond"])
    one_line = "el => el.getBoundingClientRect().height < parseFloat(getComputedStyle(el).fontSize) * 2"
    for i in range(names.count()):  # one line each: no word broken across lines, nothing cut off
        assert names.nth(i).evaluate("el => el.scrollWidth <= el.clientWidth + 1")
        assert names.nth(i).evaluate(one_line)
    pg.goto("/games/fruit-frenzy/")
    paytable = pg.locator("table.paytable")
    expect(paytable).to_contain_text("grapes")
    expect(paytable).not_to_contain_text("plum")
    no_sideways_scroll(pg)
    screenshot(pg, f"ux_slots_game_{pg.width}")


# --- 7 (owned by accounts), for the slots' controls: disabled with the reason --------
def test_play_controls_are_disabled_with_the_reason_during_a_break(pg):
    load_demo_games()
    player = PlayerFactory(balance="50.00")
    accounts_services.take_a_break(player=player, days=1)
    log_in(pg, player.username, PASSWORD)
    for url in ("/", "/games/fruit-frenzy/"):
        pg.goto(url)
        form = pg.get_by_test_id("open-fruit-frenzy")
        expect(form.get_by_role("button", name="Play Fruit Frenzy", exact=True)).to_be_disabled()
        expect(form.get_by_test_id("play-block-reason")).to_be_visible()
        expect(form.get_by_role("button", name="Play Fruit Frenzy with €10.00")).to_have_count(0)
        no_sideways_scroll(pg)
    assert not GameSession.objects.filter(player=player).exists()
