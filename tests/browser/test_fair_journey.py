"""Issue 17, a Playwright journey at 390 px (phone) and 1280 px: a player sees the
commitment before play, types their own client seed, spins, leaves, sees the server seed
revealed (its SHA-256 is the commitment they saw), and verifies every spin: a ✓ per spin.
Screenshots: tests/artifacts/fair_*."""

from __future__ import annotations

import hashlib
import json

import pytest
from playwright.sync_api import expect

from casino.demo import load_demo_games
from tests.browser.conftest import log_in, no_sideways_scroll, screenshot
from tests.factories import PASSWORD, PlayerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SPINS = 4


def test_a_player_checks_every_spin_after_leaving(sized):
    pg, width = sized
    load_demo_games()
    player = PlayerFactory(username=f"fair{width}", balance="60.00")
    log_in(pg, player.username, PASSWORD)
    pg.goto("/games/fruit-frenzy/")
    pg.get_by_role("button", name="Play Fruit Frenzy", exact=True).click()
    pg.wait_for_url("**/sessions/*/")

    card = pg.get_by_test_id("fair-card")
    commitment = card.get_by_test_id("commitment").inner_text().strip()
    assert len(commitment) == 64
    expect(card.get_by_test_id("server-seed")).to_have_count(0)  # secret while the session is open
    card.get_by_label("Your client seed").fill(f"my-own-seed-{width}")
    card.get_by_role("button", name="Use this seed").click()
    expect(pg.get_by_test_id("client-seed")).to_have_text(f"my-own-seed-{width}")
    no_sideways_scroll(pg)

    for n in range(1, SPINS + 1):
        pg.get_by_role("button", name="Spin", exact=True).click()
        expect(pg.get_by_test_id("spin-count")).to_have_text(str(n))
    # The first spin fixed the seed: the form is gone without a reload.
    expect(pg.get_by_test_id("seed-form")).to_have_count(0)
    expect(pg.locator("#fair-client-seed")).to_contain_text("fixed since the first spin")

    pg.get_by_role("button", name="Leave and cash out").click()
    revealed = pg.get_by_test_id("server-seed")
    expect(revealed).to_be_visible()
    seed = revealed.inner_text().strip()
    assert hashlib.sha256(bytes.fromhex(seed)).hexdigest() == commitment, "the seed is the one committed to"
    no_sideways_scroll(pg)
    screenshot(pg, f"fair_revealed_{width}")

    pg.get_by_test_id("verify-link").click()
    expect(pg.get_by_test_id("verify-summary")).to_contain_text("Every spin verified")
    expect(pg.get_by_test_id("check-ok")).to_have_count(SPINS)
    expect(pg.get_by_test_id("check-bad")).to_have_count(0)
    no_sideways_scroll(pg)
    screenshot(pg, f"fair_verified_{width}")

    with pg.expect_download() as download:
        pg.get_by_role("link", name="Download the statement (JSON)").first.click()
    statement = json.loads(open(download.value.path(), encoding="utf-8").read())  # noqa: PTH123, SIM115
    assert statement["server_seed"] == seed and statement["client_seed"] == f"my-own-seed-{width}"
    assert [spin["nonce"] for spin in statement["spins"]] == list(range(1, SPINS + 1))
