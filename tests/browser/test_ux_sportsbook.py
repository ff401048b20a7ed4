"""Browser journeys for the sportsbook's player UX (issue 15, points 4, 5 (My bets) and 6),
each at 390 px (a phone, touch) and 1280 px: the picked price, the slip as a bottom sheet
on phones, the live potential return, results, odds formats from the Profile page, My bets
as cards, notices that survive logging out, the slip disabled during a break, the header
balance after a bet. No page scrolls sideways; screenshots go to tests/artifacts/."""

from decimal import Decimal

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from accounts.selectors import balance_of
from accounts.services import responsible
from casino import services
from casino.models import Sportsbet
from tests.browser.conftest import log_in, no_sideways_scroll, screenshot
from tests.factories import PASSWORD, PlayerFactory
from tests.helpers.sportsbook import bet, make_event, result_for, selections

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = {"page": 1280, "phone_page": 390}
AXE = Axe()


@pytest.fixture(params=list(WIDTHS), ids=lambda name: str(WIDTHS[name]))
def pg(request):
    pg = request.getfixturevalue(request.param)
    pg.width = WIDTHS[request.param]
    return pg


def in_viewport(pg, locator) -> bool:
    pg.evaluate("() => Promise.all(document.getAnimations().map(a => a.finished))")  # the sheet has slid up
    box = locator.bounding_box()
    size = pg.viewport_size
    return (
        box is not None
        and box["x"] >= 0
        and box["y"] >= 0
        and box["x"] + box["width"] <= size["width"]
        and box["y"] + box["height"] <= size["height"]
    )


def test_the_picked_price_stays_highlighted_and_the_slip_is_in_view(pg):
    player = PlayerFactory(balance="100.00")
    event = make_event(name="Royal Django FC vs Celery United", odds=("2.00", "3.40", "3.20"))
    home, draw, _ = selections(event)
    log_in(pg, player.username, PASSWORD)
    pg.goto("/sportsbook/")
    if pg.width < 760:  # a phone: no slip until a price is tapped (it used to sit ~1,200 px down)
        expect(pg.get_by_test_id("slip")).to_be_hidden()
    no_sideways_scroll(pg)

    pick = pg.get_by_test_id(f"odds-{home.pk}")
    pick.tap() if pg.width < 760 else pick.click()
    expect(pick).to_have_attribute("aria-pressed", "true")
    expect(pick).to_have_class("odds picked")
    expect(pg.get_by_test_id(f"odds-{draw.pk}")).to_have_attribute("aria-pressed", "false")
    stake = pg.get_by_label("Stake")
    expect(stake).to_be_visible()
    assert in_viewport(pg, stake), "the slip's stake input is off screen"
    screenshot(pg, f"ux_sportsbook_slip_{pg.width}")
    assert in_viewport(pg, pg.get_by_role("button", name="Place bet"))

    stake.fill("10")
    pg.get_by_role("button", name="Place bet").click()
    expect(pg.locator("#slip .receipt")).to_contain_text("placed: €10.00 on Home FC at 2.00")
    expect(pick).to_have_attribute("aria-pressed", "false")  # placed: its leg left the slip (issue 18)
    expect(pg.get_by_test_id("header-balance")).to_have_text("€90.00")  # htmx balance-changed
    no_sideways_scroll(pg)

    # Another price of the same match replaces the one on the slip (one per event); clearing empties it.
    pick.click()
    expect(pick).to_have_attribute("aria-pressed", "true")
    other = pg.get_by_test_id(f"odds-{draw.pk}")
    other.click()
    expect(other).to_have_attribute("aria-pressed", "true")
    expect(pick).to_have_attribute("aria-pressed", "false")
    expect(pg.get_by_test_id("slip-odds")).to_have_text("3.40")
    expect(pg.get_by_test_id("slip-notice")).to_contain_text("Draw replaced Home FC")
    if pg.width < 760:  # the sheet's x folds it down to its title bar, and opens it again
        pg.get_by_role("button", name="Hide the bet slip").click()
        expect(pg.get_by_test_id("slip-clear")).to_be_hidden()
        pg.get_by_role("button", name="Show the bet slip").click()
    pg.get_by_test_id("slip-clear").click()
    expect(other).to_have_attribute("aria-pressed", "false")
    if pg.width < 760:
        expect(pg.get_by_test_id("slip")).to_be_hidden()
    else:
        expect(pg.get_by_test_id("slip")).to_contain_text("Pick a price to start a bet.")
    assert Sportsbet.objects.get().stake == Decimal("10.00")


def test_the_slip_shows_the_potential_return_as_the_stake_is_typed(pg):
    player = PlayerFactory(balance="100.00")
    event = make_event(odds=("1.01", "3.33", "4.00"))
    home, draw, _ = selections(event)
    log_in(pg, player.username, PASSWORD)
    pg.goto("/sportsbook/")
    pg.get_by_test_id(f"odds-{draw.pk}").click()
    figure = pg.get_by_test_id("slip-return")
    expect(figure).to_have_text("–")
    stake = pg.get_by_label("Stake")
    expect(stake).to_be_focused()  # the slip has settled and is ready for the stake
    stake.press_sequentially("3.33")
    expect(figure).to_have_text("€11.09")  # 11.0889, half up
    stake.fill("1,000")
    expect(figure).to_have_text("–")  # not a stake: the server explains on submit
    stake.fill("1000")
    expect(figure).to_have_text("€3,330.00")

    pg.get_by_test_id(f"odds-{home.pk}").click()
    expect(pg.get_by_test_id("slip-odds")).to_have_text("1.01")  # the new slip has arrived
    stake = pg.get_by_label("Stake")
    expect(stake).to_be_focused()
    stake.fill("0.50")
    expect(pg.get_by_test_id("slip-return")).to_have_text("€0.51")  # 0.505 (a float would say 0.50)
    pg.get_by_role("button", name="Place bet").click()
    expect(pg.locator("#slip .receipt")).to_be_visible()
    assert Sportsbet.objects.get().potential_return == Decimal("0.51")  # the server's figure agrees
    no_sideways_scroll(pg)


def test_settled_events_move_to_results_with_the_winner(pg):
    player = PlayerFactory(balance="100.00")
    event = make_event(name="Settled FC vs Done United")
    make_event(name="Still To Play FC vs Later United")
    _, draw, _ = selections(event)
    bet(player, draw)
    services.settle_event(event=event, result=result_for(event, draw))
    log_in(pg, player.username, PASSWORD)
    pg.goto("/sportsbook/")
    expect(pg.get_by_text("Still To Play FC vs Later United")).to_be_visible()
    expect(pg.get_by_text("Settled FC vs Done United")).to_have_count(0)
    pg.get_by_role("link", name="Results").click()
    card = pg.get_by_test_id(f"result-{event.pk}")
    expect(card).to_contain_text("Settled FC vs Done United")
    expect(card.get_by_test_id(f"winner-{event.markets.get().pk}")).to_have_text("Draw")
    expect(card).to_contain_text("Final")
    expect(pg.get_by_text("Still To Play FC vs Later United")).to_have_count(0)
    no_sideways_scroll(pg)
    screenshot(pg, f"ux_sportsbook_results_{pg.width}")


def test_odds_format_is_chosen_on_the_profile_page_and_used_everywhere(pg):
    player = PlayerFactory(balance="100.00")
    event = make_event(odds=("2.50", "3.40", "1.50"))
    home, _, away = selections(event)
    placed = bet(player, home)
    log_in(pg, player.username, PASSWORD)
    pg.goto("/profile/")
    expect(pg.get_by_label("Decimal (2.50)")).to_be_checked()
    no_sideways_scroll(pg)
    screenshot(pg, f"ux_profile_{pg.width}")
    pg.get_by_label("Fractional (3/2)").check()
    pg.get_by_role("button", name="Save").click()
    expect(pg.locator("#toasts")).to_contain_text("odds now show as Fractional (3/2)")
    expect(pg.get_by_label("Fractional (3/2)")).to_be_checked()

    pg.goto("/sportsbook/")
    expect(pg.get_by_test_id(f"odds-{home.pk}")).to_contain_text("3/2")
    expect(pg.get_by_test_id(f"odds-{away.pk}")).to_contain_text("1/2")
    pg.goto(placed.get_absolute_url())
    expect(pg.locator(".facts")).to_contain_text("3/2")

    pg.goto("/profile/")
    pg.get_by_label("American (+150)").check()
    pg.get_by_role("button", name="Save").click()
    pg.goto("/sportsbook/")
    expect(pg.get_by_test_id(f"odds-{home.pk}")).to_contain_text("+150")
    expect(pg.get_by_test_id(f"odds-{away.pk}")).to_contain_text("-200")
    pg.get_by_test_id(f"odds-{away.pk}").click()
    expect(pg.get_by_test_id("slip-odds")).to_have_text("-200")
    pg.get_by_label("Stake").fill("20")
    expect(pg.get_by_test_id("slip-return")).to_have_text("€30.00")  # the decimal price underneath
    pg.get_by_role("button", name="Place bet").click()
    expect(pg.locator("#slip .receipt")).to_contain_text("at -200")
    assert Sportsbet.objects.get(selection=away).odds == Decimal("1.50")


def test_my_bets_never_cuts_off_return_status_or_cashed_out(pg):
    player = PlayerFactory(balance="500.00")
    event = make_event(name="A Rather Long Team Name Athletic vs Another Long Name Wanderers")
    home, _, away = selections(event)
    won = bet(player, home, stake="123.45")
    bet(player, away, stake="10.00")
    services.settle_event(event=event, result=result_for(event, home))
    services.pay_out_player(player=player)
    open_event = make_event(name="Open FC vs Pending United")
    bet(player, selections(open_event)[0], stake="5.00")
    log_in(pg, player.username, PASSWORD)
    pg.goto("/bets/")
    no_sideways_scroll(pg)
    for testid, text in ((f"return-{won.pk}", "€246.90"), (f"status-{won.pk}", "Won")):
        cell = pg.get_by_test_id(testid)
        expect(cell).to_contain_text(text)
        box = cell.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= pg.viewport_size["width"], testid
    cashed = pg.get_by_test_id(f"cashed-out-{won.pk}")
    cashed.scroll_into_view_if_needed()
    box = cashed.bounding_box()
    assert box["x"] + box["width"] <= pg.viewport_size["width"]
    if pg.width < 600:  # stacked cards: each cell names its column
        label = cashed.evaluate("el => getComputedStyle(el, '::before').content")
        assert "Cashed out" in label
        assert pg.locator("table.bets thead").bounding_box()["height"] <= 1
    else:
        expect(pg.get_by_role("columnheader", name="Cashed out")).to_be_visible()
    screenshot(pg, f"ux_my_bets_{pg.width}")
    pg.goto(won.get_absolute_url())
    no_sideways_scroll(pg)
    screenshot(pg, f"ux_bet_detail_{pg.width}")


def test_a_bet_settled_while_logged_out_is_announced_once_after_logging_in(pg):
    player = PlayerFactory(balance="100.00")
    event = make_event()
    home, _, _ = selections(event)
    placed = bet(player, home)
    log_in(pg, player.username, PASSWORD)
    log_out = pg.get_by_role("button", name=f"Log out ({player.username})")
    if not log_out.is_visible():  # a phone: the menu is folded
        pg.locator("summary.nav-toggle").click()
    log_out.click()
    pg.wait_for_url("**/login/")

    services.settle_event(event=event, result=result_for(event, home))  # while nobody is looking
    services.pay_out_player(player=player)

    log_in(pg, player.username, PASSWORD)
    toasts = pg.locator("#toasts")
    expect(toasts).to_contain_text(f"Bet #{placed.pk} on Home FC won.")
    expect(toasts).to_contain_text(f"Payout of €20.00 for bet #{placed.pk} paid to your account.")
    screenshot(pg, f"ux_notices_{pg.width}")
    pg.goto("/bets/")
    expect(pg.locator("#toasts .toast")).to_have_count(0)  # once only
    assert balance_of(player=player) == Decimal("110.00")


def test_during_a_break_the_slip_is_disabled_with_the_reason(pg):
    player = PlayerFactory(balance="100.00")
    event = make_event()
    home, _, _ = selections(event)
    log_in(pg, player.username, PASSWORD)
    responsible.take_a_break(player=player, days=1)
    pg.goto("/sportsbook/")
    pg.get_by_test_id(f"odds-{home.pk}").click()
    expect(pg.get_by_test_id("slip-blocked")).to_be_visible()
    expect(pg.get_by_test_id("slip-blocked")).not_to_be_empty()
    expect(pg.get_by_role("button", name="Place bet")).to_be_disabled()
    expect(pg.get_by_label("Stake")).to_be_disabled()
    screenshot(pg, f"ux_sportsbook_break_{pg.width}")
    assert not Sportsbet.objects.exists()


def test_sportsbook_pages_at_both_widths(pg):
    player = PlayerFactory(balance="100.00")
    make_event(name="Royal Django FC vs Celery United")
    make_event(name="Gunicorn Town vs Nginx Rovers", odds=("1.91", "3.60", "4.33"))
    log_in(pg, player.username, PASSWORD)
    for url, name in (("/sportsbook/", "sportsbook"), ("/bets/", "my_bets"), ("/profile/", "profile")):
        pg.goto(url)
        no_sideways_scroll(pg)
        screenshot(pg, f"ux_{name}_page_{pg.width}")
    pg.goto("/sportsbook/")
    pg.keyboard.press("Escape")  # nothing open: nothing happens
    first = pg.locator("button.odds").first
    first.focus()
    pg.keyboard.press("Enter")  # prices are buttons: the keyboard picks them too
    expect(first).to_have_attribute("aria-pressed", "true")
    expect(pg.get_by_label("Stake")).to_be_focused()
    pg.keyboard.press("Escape")  # and Escape folds the phone's sheet away; the slip still holds the price
    expect(first).to_have_attribute("aria-pressed", "true")
    if pg.width < 760:
        expect(pg.get_by_label("Stake")).to_be_hidden()


def test_the_open_slip_and_the_results_have_no_serious_axe_violation(pg):
    """The URL walk (test_accessibility) sees /sportsbook/ as first loaded; this audits the
    states a player reaches from it: the slip holding a price (the phone's bottom sheet), and Results."""
    player = PlayerFactory(balance="100.00")
    event = make_event()
    settled = make_event(name="Settled FC vs Done United")
    services.settle_event(event=settled, result=result_for(settled, selections(settled)[0]))
    log_in(pg, player.username, PASSWORD)
    pg.goto("/sportsbook/")
    pg.get_by_test_id(f"odds-{selections(event)[0].pk}").click()
    pg.get_by_label("Stake").fill("12.50")
    expect(pg.get_by_test_id("slip-return")).to_have_text("€25.00")
    found = [v for v in AXE.run(pg).response["violations"] if v.get("impact") in {"serious", "critical"}]
    pg.goto("/sportsbook/?tab=results")
    found += [v for v in AXE.run(pg).response["violations"] if v.get("impact") in {"serious", "critical"}]
    assert not found, [(v["id"], v["help"], [n["target"] for n in v["nodes"][:3]]) for v in found]
