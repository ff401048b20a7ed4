"""Players see a studio's running and upcoming promotions; the lobby partial shows them with their end."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from casino.models import Game, Vendor
from promotions import services
from promotions.selectors import active_promotions_for_games

DAY = timedelta(days=1)


@pytest.fixture
def vendor(db):
    vendor = Vendor.objects.create(slug="acme", name="Acme Slots")
    now = timezone.now()
    services.add_vendor_promotion(
        vendor=vendor, kind="free_spins", starts_at=now, ends_at=now + DAY, free_spins_count=5, free_spin_stake="0.50"
    )
    services.add_vendor_promotion(
        vendor=vendor, kind="cashback", starts_at=now + 2 * DAY, ends_at=now + 3 * DAY, percent=10
    )
    return vendor


def make_game(vendor, slug):
    return Game.objects.create(
        slug=slug,
        name=slug.title(),
        vendor=vendor,
        min_stake=Decimal("0.10"),
        max_stake=Decimal("1.00"),
        reels=[["cherry", "lemon"]] * 3,
        paytable=[{"line": ["cherry", "cherry", "cherry"], "pays": 5}],
    )


def test_vendor_page_shows_running_and_upcoming(player_client, vendor):
    make_game(vendor, "acme-one")
    response = player_client.get(reverse("vendor_detail", args=["acme"]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "5 free spins at €0.50" in page and "10% cashback on losses" in page and "Acme-One" in page
    assert response.context["running"][0].kind == "free_spins"
    assert [p.kind for p in response.context["upcoming"]] == ["cashback"]


def test_unknown_vendor_is_404_and_login_is_required(client, player_client, vendor):
    assert player_client.get(reverse("vendor_detail", args=["nope"])).status_code == 404
    client.logout()
    assert client.get(reverse("vendor_detail", args=["acme"])).status_code == 302


def test_lobby_partial_lists_each_games_running_promotions_with_end(vendor, django_assert_max_num_queries):
    games = [make_game(vendor, "a-game"), make_game(None, "plain"), make_game(vendor, "b-game")]
    with django_assert_max_num_queries(1):
        by_game = active_promotions_for_games(games)
    html = render_to_string("promotions/partials/_lobby_promotions.html", {"promotions": by_game[games[0].pk]})
    end = timezone.localtime(by_game[games[0].pk][0].ends_at)
    assert "5 free spins at €0.50" in html and f'until <time datetime="{end.isoformat()}">{end:%Y-%m-%d %H:%M}' in html
    assert "cashback" not in html, "upcoming promotions are not shown as running"
    assert by_game[games[1].pk] == []
    assert render_to_string("promotions/partials/_lobby_promotions.html", {"promotions": []}).strip() == ""
