"""A bonus played through to cash (issue 16 "Proof": a Playwright journey), at 1280 px and 390 px.

Staff issue a code that pays 5.00 of bonus funds (wagering 1x, maximum stake 1.00, valid 7
days). A player with no cash redeems it on the wallet, opens Fruit Frenzy feeding bonus
funds (the quick amount needs the opt-in), plays under the bonus maximum while the session
page warns and its wagering meter fills spin by spin, leaves once the requirement is met,
and finds the bonus converted: the cash on the wallet, the grant listed as converted.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone
from playwright.sync_api import expect

from accounts.selectors import balance_of
from casino.demo import load_demo_games
from casino.models import GameSession
from promotions.models import BonusGrant
from promotions.services import issue_code
from tests.browser.conftest import log_in, no_sideways_scroll, screenshot
from tests.factories import PASSWORD, PlayerFactory, StaffFactory
from tests.helpers.slots import force_reels

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = {"page": 1280, "phone_page": 390}
AXE = Axe()
LOSS = ("lemon", "plum", "bell")
WIN_2X = ("cherry", "lemon", "plum")


@pytest.fixture(params=list(WIDTHS), ids=lambda name: str(WIDTHS[name]))
def pg(request):
    page = request.getfixturevalue(request.param)
    page.width = WIDTHS[request.param]
    return page


def no_serious_axe_findings(page):
    found = [
        f"{v['id']} ({v['impact']}): {v['help']}"
        for v in AXE.run(page).response["violations"]
        if v["impact"] in {"serious", "critical"}
    ]
    assert not found, "axe found serious/critical violations:\n" + "\n".join(found)


def test_a_bonus_code_played_through_to_cash(pg, monkeypatch):
    load_demo_games()
    staff = StaffFactory()
    issue_code(
        code="PLAYTHROUGH5",
        reward_kind="bonus",
        starts_at=timezone.now() - timedelta(hours=1),
        ends_at=timezone.now() + timedelta(days=7),
        bonus_amount="5.00",
        pays_as="bonus",
        wagering_multiple=1,
        bonus_max_stake="1.00",
        bonus_valid_days=7,
        created_by=staff,
    )
    player = PlayerFactory()  # no cash: everything is played on bonus funds
    log_in(pg, player.username, PASSWORD)

    # Redeem on the wallet: bonus funds, not cash.
    pg.goto("/wallet/")
    pg.get_by_label("Promotion code").fill("playthrough5")
    pg.get_by_role("button", name="Redeem").click()
    expect(pg.get_by_test_id("redeem-result")).to_contain_text("bonus funds")
    assert balance_of(player=player) == Decimal("0.00")

    # The lobby offers the bonus; the quick amount that needs it waits for the opt-in.
    pg.goto("/")
    card = pg.get_by_test_id("game-fruit-frenzy")
    expect(pg.get_by_test_id("bonus-funds")).to_have_text("€5.00")
    chip = card.get_by_role("button", name="Play Fruit Frenzy with €5.00")
    expect(chip).to_be_disabled()
    card.get_by_label("Use bonus funds after my cash").check()
    expect(chip).to_be_enabled()
    no_sideways_scroll(pg)
    no_serious_axe_findings(pg)
    screenshot(pg, f"bonus_lobby_{pg.width}")
    chip.click()
    pg.wait_for_url("**/sessions/*/")
    session = GameSession.objects.get(player=player)

    # The session page: cash and bonus apart, the warning with the maximum stake, the meter.
    expect(pg.get_by_test_id("session-balance")).to_have_text("€0.00")
    expect(pg.get_by_test_id("session-bonus")).to_have_text("€5.00")
    expect(pg.get_by_test_id("bonus-warning")).to_contain_text(
        "You are playing with bonus funds: maximum stake €1.00; winnings from bonus stakes stay bonus money"
    )
    meter = pg.get_by_test_id("bonus-meter")
    expect(meter).to_contain_text("€0.00 of €5.00 wagered (0 %)")
    expect(pg.get_by_role("progressbar", name="Bonus wagering")).to_have_attribute("max", "5.0000")
    stake = pg.get_by_label("Stake (€0.10 – €1.00, the bonus maximum)")
    expect(stake).to_have_attribute("max", "1.00")
    no_sideways_scroll(pg)
    no_serious_axe_findings(pg)

    # Above the bonus maximum: refused beside the stake, nothing played.
    stake.fill("2.00")
    pg.get_by_role("button", name="Spin", exact=True).click()
    expect(pg.get_by_text("Bonus rule: while a bonus is active the maximum stake is €1.00")).to_be_visible()
    assert session.spins.count() == 0

    # Five spins of 1.00 (losses and 2x wins) wager the 5.00; the meter follows each answer.
    outcomes = [LOSS, WIN_2X, LOSS, WIN_2X, LOSS]
    bonus_after = ["€4.00", "€5.00", "€4.00", "€5.00", "€4.00"]
    for n, symbols in enumerate(outcomes, start=1):
        force_reels(monkeypatch, *symbols)
        pg.get_by_label("Stake (€0.10 – €1.00, the bonus maximum)").fill("1.00")
        pg.get_by_role("button", name="Spin", exact=True).click()
        expect(pg.get_by_test_id("spin-count")).to_have_text(str(n))
        expect(pg.get_by_test_id("session-bonus")).to_have_text(bonus_after[n - 1])
        expect(pg.get_by_test_id("bonus-wagered")).to_have_text(f"€{n}.00")
    expect(pg.get_by_test_id("bonus-complete")).to_contain_text("the bonus becomes cash when you leave")
    expect(pg.get_by_test_id("session-balance")).to_have_text("€0.00")  # winnings on bonus stakes stay bonus
    no_sideways_scroll(pg)
    screenshot(pg, f"bonus_session_complete_{pg.width}")

    # Leave: the bonus converts to cash in the cash-out.
    pg.get_by_role("button", name="Leave and cash out").click()
    expect(pg.get_by_test_id("closed-summary")).to_be_visible()
    grant = BonusGrant.objects.get(player=player)
    assert grant.status == BonusGrant.Status.COMPLETED and grant.converted == Decimal("4.00")
    assert balance_of(player=player) == Decimal("4.00")

    pg.goto("/wallet/")
    expect(pg.get_by_test_id("balance")).to_have_text("€4.00")
    expect(pg.get_by_test_id("bonus-ended")).to_contain_text("converted €4.00")
    no_sideways_scroll(pg)
    screenshot(pg, f"bonus_converted_wallet_{pg.width}")
