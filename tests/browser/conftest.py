"""Playwright driving Debian's Chromium (never a downloaded browser build)."""

from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: run scripts/ensure_chromium.sh (make test does)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, live_server, settings):
    """A fresh browser context (own cookies) at a desktop size. Axes stays on."""
    settings.ALLOWED_HOSTS = ["*"]
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, base_url=live_server.url)
    context.set_default_timeout(10_000)
    pg = context.new_page()
    yield pg
    context.close()


@pytest.fixture
def phone_page(chromium, live_server, settings):
    settings.ALLOWED_HOSTS = ["*"]
    context = chromium.new_context(
        viewport={"width": 390, "height": 844}, base_url=live_server.url, is_mobile=True, has_touch=True
    )
    context.set_default_timeout(10_000)
    pg = context.new_page()
    yield pg
    context.close()


def screenshot(pg, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    pg.screenshot(path=str(path), full_page=True)
    return path


def log_in(pg, username: str, password: str) -> None:
    pg.goto("/login/")
    pg.get_by_label("Username").fill(username)
    pg.get_by_label("Password").fill(password)
    pg.get_by_role("button", name="Log in").click()
    pg.wait_for_url(lambda url: "/login/" not in url)


def no_sideways_scroll(pg) -> None:
    """The page is no wider than the window (nothing scrolls sideways on a phone)."""
    width = pg.evaluate("document.documentElement.scrollWidth")
    inner = pg.evaluate("window.innerWidth")
    assert width <= inner, f"{pg.url} scrolls sideways ({width}px wide in a {inner}px window)"


SIZED = {"390": "phone_page", "1280": "page"}


@pytest.fixture(params=sorted(SIZED))
def sized(request):
    """The same journey at 390 px (touch) and at 1280 px: (page, width)."""
    return request.getfixturevalue(SIZED[request.param]), int(request.param)
