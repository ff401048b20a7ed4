"""The Profile page: the odds-format preference (form + service, POST/redirect)."""

import re

import pytest
from django.urls import reverse

from accounts.exceptions import UnknownOddsFormat
from accounts.models import User
from accounts.services.profile import set_odds_format
from tests.helpers.sportsbook import make_event

pytestmark = pytest.mark.django_db


def test_new_players_read_decimal_odds(player):
    assert player.odds_format == User.OddsFormat.DECIMAL


def test_the_service_saves_once_and_a_repeat_is_a_no_op(player, django_assert_num_queries):
    assert set_odds_format(player=player, odds_format="fractional") is True
    with django_assert_num_queries(1):
        assert set_odds_format(player=player, odds_format="fractional") is False  # nothing written
    player.refresh_from_db()
    assert player.odds_format == "fractional"


def test_the_service_refuses_an_unknown_format(player):
    with pytest.raises(UnknownOddsFormat):
        set_odds_format(player=player, odds_format="roman")
    player.refresh_from_db()
    assert player.odds_format == "decimal"


def test_the_page_shows_the_current_choice(player_client, player):
    player.odds_format = "american"
    player.save(update_fields=["odds_format"])
    body = player_client.get(reverse("profile")).content.decode()
    assert "<h1>Profile</h1>" in body
    assert re.search(r'<input[^>]*value="american"[^>]*checked', body)
    assert not re.search(r'<input[^>]*value="decimal"[^>]*checked', body)


def test_post_saves_and_redirects_and_a_resubmit_is_harmless(player_client, player):
    for _ in range(2):  # a double submit or a reload
        response = player_client.post(reverse("profile"), {"odds_format": "fractional"})
        assert response.status_code == 302 and response.url == reverse("profile")
    player.refresh_from_db()
    assert player.odds_format == "fractional"
    page = player_client.get(reverse("profile")).content.decode()
    assert "Saved: odds now show as Fractional (3/2)." in page


@pytest.mark.parametrize("value", ["", "roman", "decimal\x00", "x" * 500])
def test_bad_choices_get_422_with_the_error_beside_the_field(player_client, player, value):
    response = player_client.post(reverse("profile"), {"odds_format": value})
    assert response.status_code == 422 and 'class="errorlist' in response.content.decode()
    player.refresh_from_db()
    assert player.odds_format == "decimal"


def test_login_required(client):
    response = client.get(reverse("profile"))
    assert response.status_code == 302 and reverse("login") in response.url


def test_the_choice_changes_the_sportsbook(player_client, player):
    make_event(odds=("2.50", "3.40", "1.50"))
    player_client.post(reverse("profile"), {"odds_format": "american"})
    body = player_client.get(reverse("sportsbook")).content.decode()
    assert '<strong class="odds-price">+150</strong>' in body and '<strong class="odds-price">-200</strong>' in body
