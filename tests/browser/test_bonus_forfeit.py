"""Issue 16, a Playwright journey that forfeits a bonus, at 390 px (phone) and 1280 px: the
wallet shows cash and bonus apart with the grant's progress and terms; "Forfeit this bonus"
previews exactly what is lost; confirming ends the grant, the bonus money goes back to the
promotion and the cash is the same figure as before. Screenshots: tests/artifacts/bonus_forfeit_*.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.reconcile import reconcile
from accounts.selectors import balance_of
from casino.demo import load_demo_games
from promotions import services as promotions
from promotions.models import BonusGrant
from tests.browser.conftest import log_in, no_sideways_scroll, screenshot
from tests.factories import PASSWORD, PlayerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

D = Decimal


def test_a_player_forfeits_a_bonus_after_seeing_exactly_what_is_lost(sized):
    pg, width = sized
    load_demo_games()
    player = PlayerFactory(username=f"forfeit{width}", balance="42.50")
    grant = promotions.grant_bonus(
        player=player,
        amount=D("17.35"),
        wagering_multiple=4,
        expires_at=timezone.now() + timedelta(days=5),
        max_stake=D("1.50"),
        source_key=f"browser:{uuid.uuid4().hex}",
        source="Promotion code SPRING",
    )
    keeper = promotions.grant_bonus(  # a second bonus, which stays
        player=player,
        amount=D("3.00"),
        wagering_multiple=2,
        expires_at=timezone.now() + timedelta(days=9),
        max_stake=D("1.00"),
        source_key=f"browser:{uuid.uuid4().hex}",
        source="Promotion code KEEP",
    )
    log_in(pg, player.username, PASSWORD)

    # The wallet: cash and bonus apart, the grant with its progress and terms.
    pg.goto("/wallet/")
    panel = pg.get_by_test_id("bonus-panel")
    expect(panel.get_by_test_id("wallet-cash")).to_have_text("€42.50")
    expect(panel.get_by_test_id("wallet-bonus")).to_have_text("€20.35")
    card = pg.locator(f"#bonus-{grant.pk}")
    expect(card.get_by_role("heading", name="Promotion code SPRING")).to_be_visible()
    expect(card.get_by_test_id("bonus-progress")).to_have_text("€0.00 of €69.40 wagered (0%), €69.40 to go")
    progress = card.get_by_role("progressbar", name="Wagering")
    expect(progress).to_be_visible()
    assert progress.get_attribute("max") == "69.4000"
    expect(card.get_by_test_id("bonus-max-stake")).to_have_text("€1.50")
    expect(card.get_by_test_id("bonus-expiry")).to_contain_text("(in 5 days)")
    contributions = panel.get_by_test_id("bonus-contributions")
    expect(contributions).to_contain_text("Fruit Frenzy 100%")
    expect(contributions).to_contain_text("Diamond Sevens 50%")
    no_sideways_scroll(pg)
    screenshot(pg, f"bonus_forfeit_wallet_{width}")

    # "Forfeit this bonus": the preview says exactly what is lost, and that the cash is untouched.
    card.get_by_role("link", name="Forfeit this bonus").click()
    pg.wait_for_url(f"**/bonus/{grant.pk}/forfeit/")
    preview = pg.get_by_test_id("forfeit-preview")
    expect(preview.get_by_test_id("forfeit-lost")).to_have_text("€17.35")
    expect(preview.get_by_test_id("forfeit-wagering")).to_have_text("€0.00")
    expect(preview.get_by_test_id("forfeit-cash")).to_contain_text("Your cash, €42.50, is untouched")
    no_sideways_scroll(pg)
    screenshot(pg, f"bonus_forfeit_preview_{width}")

    pg.get_by_role("button", name="Forfeit and lose €17.35 of bonus money").click()
    pg.wait_for_url("**/wallet/*")
    expect(pg.locator("#toasts")).to_contain_text("Bonus forfeited: €17.35 of bonus money went back to the promotion.")

    # The grant is gone from the active ones, listed as forfeited; the cash is unchanged.
    expect(pg.get_by_test_id("bonus-grant")).to_have_count(1)
    expect(pg.locator(f"#bonus-{keeper.pk}")).to_be_visible()
    expect(pg.get_by_test_id("bonus-ended")).to_contain_text("Promotion code SPRING, €17.35: forfeited")
    expect(pg.get_by_test_id("wallet-cash")).to_have_text("€42.50")
    expect(pg.get_by_test_id("wallet-bonus")).to_have_text("€3.00")
    expect(pg.get_by_test_id("header-balance")).to_have_text("€42.50")
    no_sideways_scroll(pg)
    screenshot(pg, f"bonus_forfeit_done_{width}")

    grant.refresh_from_db()
    assert grant.status == BonusGrant.Status.FORFEITED and grant.returned == D("17.35")
    assert balance_of(player=player) == D("42.50")
    report = reconcile()
    assert report.ok, "\n".join(report.lines())
