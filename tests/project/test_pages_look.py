"""Error pages in the site's own look with a way back, a favicon, and a header that reaches
every player page (issue 15, first items)."""

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
