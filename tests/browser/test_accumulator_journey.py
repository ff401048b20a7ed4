"""Issue 18, a Playwright journey on a phone (390 x 844, touch): a player builds a 3-leg
accumulator across three matches, sees the combined odds and the return as they type, places
it, then a trader moves a price and the player cashes the accumulator out early at the offer
shown (the payout is queued and paid into the account). Screenshots: tests/artifacts/acca_*."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from accounts.selectors import balance_of
from casino.models import Payout, Sportsbet
from casino.services import markets
from tests.browser.conftest import log_in, no_sideways_scroll, screenshot
from tests.factories import PASSWORD, PlayerFactory
from tests.helpers.sportsbook import make_event, selections

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_three_leg_accumulator_built_placed_and_cashed_out_early_on_a_phone(phone_page, assert_reconciles):
    pg = phone_page
    player = PlayerFactory(balance="100.00")
    events = [make_event(name=f"Leg {n} FC vs Rovers {n}", odds=("2.00", "3.40", "3.20")) for n in (1, 2, 3)]
    picks = [selections(event)[0] for event in events]
    log_in(pg, player.username, PASSWORD)
    pg.goto("/sportsbook/")
    no_sideways_scroll(pg)

    for n, pick in enumerate(picks, start=1):
        if pg.get_by_role("button", name="Hide the bet slip").is_visible():
            pg.get_by_role("button", name="Hide the bet slip").tap()  # the sheet folds: the next match shows
        pg.get_by_test_id(f"odds-{pick.pk}").tap()
        expect(pg.get_by_test_id("slip-count")).to_have_text(str(n))
    expect(pg.get_by_test_id("slip-kind")).to_have_text("Accumulator (3 legs)")
    expect(pg.get_by_test_id("slip-odds")).to_have_text("8.00")  # 2.00 x 2.00 x 2.00
    stake = pg.get_by_label("Stake")
    stake.fill("5")
    expect(pg.get_by_test_id("slip-return")).to_have_text("€40.00")
    screenshot(pg, "acca_slip_390")
    pg.get_by_role("button", name="Place accumulator").tap()
    expect(pg.get_by_test_id("slip-receipt")).to_contain_text("an accumulator (3 legs)")
    expect(pg.get_by_test_id("header-balance")).to_have_text("€95.00")
    bet = Sportsbet.objects.get(player=player)
    assert (bet.kind, bet.odds, bet.legs.count()) == ("accumulator", Decimal("8.00"), 3)

    # A trader shortens the first leg: the offer rises (stake x 8.00 / (1.60 x 2.00 x 2.00) x 0.95).
    markets.change_odds(selection=picks[0], odds="1.60", actor=None)
    pg.get_by_role("link", name="View bet").tap()
    expect(pg.get_by_test_id("bet-legs")).to_be_visible()
    cash_out = pg.get_by_test_id("cash-out-early")
    expect(cash_out).to_have_text("Cash out now for €5.93")
    no_sideways_scroll(pg)
    screenshot(pg, "acca_offer_390")
    cash_out.tap()
    expect(pg.get_by_test_id("bet-status")).to_contain_text("Cashed out")
    bet.refresh_from_db()
    assert (bet.status, bet.cash_out_amount) == ("cashed_out", Decimal("5.93"))
    payout = Payout.objects.get(bet=bet)
    assert (payout.kind, payout.amount) == ("cash_out", Decimal("5.93"))
    # Not at a machine: the queue pays it (eager Celery in the browser tests, or the button).
    expect(pg.get_by_test_id("payout-amount")).to_have_text("€5.93")
    payout.refresh_from_db()
    if payout.state != Payout.State.PAID:
        pg.get_by_role("button", name="Cash out €5.93").tap()
    expect(pg.get_by_test_id(f"payout-state-{bet.pk}")).to_contain_text("paid")
    assert balance_of(player=player) == Decimal("100.93")
    screenshot(pg, "acca_cashed_out_390")
    assert_reconciles()
