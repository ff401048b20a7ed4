"""An automated accessibility audit (axe-core, via axe-playwright-python) of every player
page and the custom admin pages, at 390 px and 1280 px: 0 serious or critical violations.

The player pages are found by walking the URLconf (every GET page outside the admin),
so a new page is audited as soon as it exists: one without a way to build its address
below fails the test instead of being skipped.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.urls import reverse

from casino import services as casino_services
from casino.demo import ensure_demo_vendor
from casino.models import Vendor
from tests.browser.conftest import log_in, screenshot
from tests.factories import PASSWORD, StaffFactory
from tests.helpers.security import World, build_world, give_bonus, player_routes
from tests.helpers.sportsbook import make_event, selections

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = {"390": {"width": 390, "height": 844}, "1280": {"width": 1280, "height": 900}}
BLOCKING = {"serious", "critical"}
AXE = Axe()
SETTLE_ANIMATIONS = """() => Promise.race([
  Promise.all(document.getAnimations().filter(a => a.effect && a.effect.getTiming().iterations !== Infinity)
    .map(a => a.finished.catch(() => null))),
  new Promise(resolve => setTimeout(resolve, 2000)),
])"""

# GET URLs that are not pages a person reads: a redirect to a static file, a header fragment,
# the logout (POST only) and the actions that only take POSTs never show up (they have no GET).
NOT_PAGES = {"favicon", "header_balance", "session_statement", "fair_verifier"}  # + JSON and .py downloads
ANONYMOUS = {"login", "signup"}


@dataclass(frozen=True)
class Found:
    url: str
    width: str
    rule: str
    impact: str
    help: str
    nodes: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.url} @{self.width}px: {self.rule} ({self.impact}) {self.help}: {', '.join(self.nodes)}"


def _kwargs(world: World, vendor: Vendor) -> dict[str, dict]:
    return {
        "game_detail": {"slug": world.game.slug},
        "session_detail": {"pk": world.session.pk},
        "session_verify": {"pk": world.session.pk},
        "bet_detail": {"pk": world.bet.pk},
        "cash_out_early": {"pk": world.bet.pk},
        "redemption_detail": {"pk": world.redemption.pk},
        "bonus_forfeit": {"pk": _bonus(world).pk},
        "vendor_detail": {"slug": vendor.slug},
    }


def _bonus(world: World):
    """An active bonus (made once per player): the wallet's bonus panel and the forfeit preview."""
    return give_bonus(world, source_key=f"a11y-bonus:{world.player.pk}", source="Audit bonus")


def _audit(pg, url: str, *, name: str, status: int = 200) -> list[Found]:
    found: list[Found] = []
    for width, size in WIDTHS.items():
        pg.set_viewport_size(size)
        response = pg.goto(url)
        assert response is not None and response.status == status, f"{url}: {response and response.status}"
        # Audit the page at rest: a toast or a banner fading in mid-animation has a contrast
        # that no player reads for more than a moment (finite animations only; capped wait).
        pg.evaluate(SETTLE_ANIMATIONS)
        results = AXE.run(pg)
        for violation in results.response["violations"]:
            if violation.get("impact") in BLOCKING:
                found.append(
                    Found(
                        url=url,
                        width=width,
                        rule=violation["id"],
                        impact=violation["impact"],
                        help=violation["help"],
                        nodes=tuple(" ".join(n["target"][0:1]) for n in violation["nodes"][:5]),
                    )
                )
        screenshot(pg, f"a11y_{name}_{width}")
    return found


def _player_urls(world: World, vendor: Vendor) -> dict[str, str]:
    kwargs = _kwargs(world, vendor)
    urls: dict[str, str] = {}
    for name, route in player_routes().items():
        if name in NOT_PAGES or name in ANONYMOUS:
            continue
        if route.kwargs:
            assert name in kwargs or _post_only(route.route), f"audit cannot build the address of {name!r}: add it"
            if name not in kwargs:
                continue
            urls[name] = reverse(name, kwargs=kwargs[name])
        else:
            urls[name] = reverse(name)
    return urls


def _post_only(route: str) -> bool:
    # Actions (spin, feed, leave, open, cash out) take POSTs only; GET answers 405 and is no page.
    return any(route.rstrip("/").endswith(tail) for tail in ("/spin", "/feed", "/leave", "/seed", "/play", "/cash-out"))


def test_every_player_page_has_no_serious_or_critical_axe_violation(page):
    world = build_world()
    vendor = ensure_demo_vendor()
    urls = _player_urls(world, vendor)
    log_in(page, world.player.username, PASSWORD)
    found: list[Found] = []
    for name, url in sorted(urls.items()):
        response = page.request.get(url)
        if response.status == 405:  # an action URL without a GET page
            continue
        found += _audit(page, url, name=name)
    # A closed session: the revealed seeds, and the verify page with a row per spin.
    casino_services.leave(session=world.session)
    for name in ("session_detail", "session_verify"):
        found += _audit(page, urls[name], name=f"{name}_closed")
    assert len(urls) >= 15, sorted(urls)  # the walk really found the pages
    assert not found, "axe found serious/critical violations:\n" + "\n".join(map(str, found))


def test_signed_out_pages_have_no_serious_or_critical_axe_violation(page):
    found: list[Found] = []
    for name in sorted(ANONYMOUS):
        found += _audit(page, reverse(name), name=name)
    found += _audit(page, "/no-such-page/", name="not_found", status=404)
    assert not found, "axe found serious/critical violations:\n" + "\n".join(map(str, found))


def test_custom_admin_pages_have_no_serious_or_critical_axe_violation(page):
    world = build_world()
    vendor = ensure_demo_vendor()
    event = make_event(name="Audit FC vs Axe United")
    staff = StaffFactory()
    log_in(page, staff.username, PASSWORD)
    urls = {
        "player_change": reverse("admin:accounts_user_change", args=[world.player.pk]),
        "player_activity": reverse("admin:accounts_user_activity", args=[world.player.pk]),
        "settle": reverse("admin:casino_sportevent_settle", args=[event.pk]),
        "payout_queue": reverse("admin:casino_payout_changelist"),
        "vendor_change": reverse("admin:casino_vendor_change", args=[vendor.pk]),
        "vendor_timeline": reverse("admin:casino_vendor_timeline", args=[vendor.pk]),
        "codes": reverse("admin:promotions_promotioncode_changelist"),
        "bulk_issue": reverse("admin:promotions_code_bulk_issue"),
        "bonus_grants": reverse("admin:promotions_bonusgrant_changelist"),
        "bonus_grant_cancel": reverse("admin:promotions_bonusgrant_change", args=[_bonus(world).pk]),
        "trading": reverse("admin:casino_sportevent_trading", args=[event.pk]),
        "change_odds": reverse("admin:casino_selection_change_odds", args=[selections(event)[0].pk]),
        "finance_report": reverse("admin:reports_dailyfigure_report"),
    }
    found: list[Found] = []
    for name, url in urls.items():
        found += _audit(page, url, name=f"admin_{name}")
    assert not found, "axe found serious/critical violations:\n" + "\n".join(map(str, found))
