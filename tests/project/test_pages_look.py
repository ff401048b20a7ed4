"""Error pages in the site's own look with a way back, a favicon, and a header that reaches
every player page (issue 15, first items)."""

import re

import pytest
from django.test import Client, override_settings
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_a_missing_page_is_the_sites_own_404_with_a_way_back(player_client):
    response = player_client.get("/no-such-page/")
    assert response.status_code == 404
    body = response.content.decode()
    assert 'data-testid="error-page"' in body and "Page not found" in body
    assert 'class="topbar"' in body and "Back to the lobby" in body


def test_an_expired_form_is_the_sites_own_403_not_djangos(player):
    client = Client(enforce_csrf_checks=True)
    client.force_login(player)
    response = client.post(reverse("deposit"), {"deposit-amount": "5", "deposit-idempotency_key": "k"})
    assert response.status_code == 403
    body = response.content.decode()
    assert "This form has expired" in body and "Back to the lobby" in body and "CSRF verification failed" not in body


@override_settings(DEBUG=False)
def test_the_500_page_needs_no_database_and_has_a_way_back():
    from django.template.loader import render_to_string

    body = render_to_string("500.html")
    assert "Something went wrong" in body and "Back to the lobby" in body and 'class="topbar"' in body


def test_the_favicon_is_served(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith("favicon.svg")
    assert 'rel="icon"' in client.get(reverse("login")).content.decode()


def test_the_header_reaches_every_player_page(player_client):
    body = player_client.get(reverse("lobby")).content.decode()
    for name in ("lobby", "sportsbook", "my_bets", "session_history", "redeem", "wallet", "responsible"):
        assert f'href="{reverse(name)}"' in body, name


def test_the_header_folds_its_menu_into_a_details_and_shows_the_balance_first(player_client):
    body = player_client.get(reverse("wallet")).content.decode()
    header = body[body.index('<header class="topbar">') : body.index("</header>")]
    assert header.index('id="header-balance"') < header.index('<details class="nav-menu" open')
    assert '<summary class="nav-toggle">' in header and '<nav aria-label="Main">' in header


def test_one_font_and_control_borders_that_reach_3_to_1(settings):
    from pathlib import Path

    css = (Path(settings.BASE_DIR) / "static" / "css" / "app.css").read_text()
    assert "button, input, select, textarea, summary { font:inherit; }" in css
    variables = dict(re.findall(r"--([a-z-]+):(#[0-9a-f]{6})", css))
    assert _contrast(variables["control-border"], variables["panel"]) >= 3
    assert _contrast(variables["control-border"], variables["bg"]) >= 3
    for text in ("ink", "muted", "accent", "bad", "ok"):
        assert _contrast(variables[text], variables["panel"]) >= 4.5, text
    assert "border:1px solid var(--control-border)" in css.split("button, .button {")[1].split("}")[0]


def test_a_404_during_a_break_still_shows_the_banner(player_client, player):
    from accounts.services import responsible

    responsible.take_a_break(player=player, days=1)
    body = player_client.get("/no-such-page/").content.decode()
    assert 'data-testid="play-block-banner"' in body and "You are on a break until" in body


def _contrast(a: str, b: str) -> float:
    def luminance(hex_colour: str) -> float:
        channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)
