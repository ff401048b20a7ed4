"""The player's redeem page, the wallet panel and the htmx swap."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.selectors import balance_of
from promotions import services
from promotions.models import Redemption
from tests.factories import PlayerFactory, StaffFactory
from tests.helpers.codes import make_code

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def test_redeem_requires_login(client):
    response = client.get(reverse("redeem"))
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert client.post(reverse("redeem"), {"code": "X"}).status_code == 302


def test_redeem_page_shows_form_and_list(player_client, player):
    make_code(code="SHOWN")
    services.redeem(player=player, code="SHOWN")
    response = player_client.get(reverse("redeem"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="code"' in html and "SHOWN" in html and "+€10.00" in html


def test_htmx_redeem_swaps_in_the_reward_and_new_balance(player_client, player):
    make_code(code="HELLO", bonus_amount=Decimal("12.50"))
    response = player_client.post(reverse("redeem"), {"code": " hello ", "from": "wallet"}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="redeem-form-area"')  # only what changed (issue 14)
    assert 'hx-swap-oob="afterbegin:#redemption-rows"' in html  # the new row, out of band
    assert "€12.50 bonus" in html
    assert 'data-testid="redeem-balance">€112.50<' in html
    assert 'hx-swap-oob="outerHTML:#money .balance"' in html  # the wallet's balance is updated too
    trigger = json.loads(response.headers["HX-Trigger"])
    assert "balance-changed" in trigger  # the header's balance re-reads itself
    assert trigger["toast"][0]["message"] == "HELLO redeemed: €12.50 bonus. Balance €112.50."
    assert balance_of(player=player) == Decimal("112.50")
    assert response["Vary"].count("HX-Request") == 1


def test_plain_post_redirects_back_with_a_message(player_client, player):
    make_code(code="PLAIN")
    response = player_client.post(reverse("redeem"), {"code": "plain", "from": "wallet"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("wallet")
    html = response.content.decode()
    assert "PLAIN redeemed: €10.00 bonus. Balance €110.00." in html
    assert 'data-testid="header-balance">€110.00<' in html
    assert Redemption.objects.filter(player=player).count() == 1


@pytest.mark.parametrize("htmx", [True, False])
@pytest.mark.parametrize(
    ("setup", "typed", "message"),
    [
        (None, "", "Enter a promotion code."),
        (None, "   ", "Enter a promotion code."),
        (None, "NOPE", "does not exist"),
        (None, "bad code!", "only letters"),
        ("later", "LATER", "not yet active"),
        ("gone", "GONE", "has expired"),
        ("off", "OFF", "has been deactivated"),
        ("mine", "MINE", "already redeemed"),
        ("full", "FULL", "fully redeemed"),
    ],
)
def test_every_failure_is_a_form_error_not_a_500(player_client, player, setup, typed, message, htmx):
    now = timezone.now()
    if setup == "later":
        make_code(code="LATER", starts_at=now + timedelta(days=1), ends_at=now + timedelta(days=2))
    elif setup == "gone":
        make_code(code="GONE", starts_at=now - timedelta(days=2), ends_at=now - timedelta(days=1))
    elif setup == "off":
        services.deactivate_code(code=make_code(code="OFF"), actor=StaffFactory())
    elif setup == "mine":
        make_code(code="MINE")
        services.redeem(player=player, code="MINE")
    elif setup == "full":
        make_code(code="FULL", limit_policy="strict", limit=1)
        services.redeem(player=PlayerFactory(), code="FULL")
    before = balance_of(player=player)
    response = player_client.post(reverse("redeem"), {"code": typed}, **(HTMX if htmx else {}))
    assert response.status_code == 422
    assert "balance-changed" not in response.headers.get("HX-Trigger", "")
    html = response.content.decode()
    assert 'data-testid="redeem-error"' in html and message in html.replace("&#x27;", "'")
    assert balance_of(player=player) == before


def test_redemption_detail_is_only_for_its_owner(client, player, other_player):
    make_code(code="OWNED")
    redemption = services.redeem(player=player, code="OWNED")
    client.force_login(player)
    assert client.get(reverse("redemption_detail", args=[redemption.pk])).status_code == 200
    client.force_login(other_player)
    assert client.get(reverse("redemption_detail", args=[redemption.pk])).status_code == 404
    assert client.get(reverse("redemption_detail", args=[999999])).status_code == 404


def test_players_see_only_their_own_redemptions(client, player, other_player):
    make_code(code="THEIRS")
    make_code(code="YOURS")
    services.redeem(player=other_player, code="THEIRS")
    services.redeem(player=player, code="YOURS")
    client.force_login(player)
    html = client.get(reverse("wallet")).content.decode()
    assert "YOURS" in html and "THEIRS" not in html


def test_wallet_shows_the_redeem_panel_with_bounded_queries(player_client, player, django_assert_max_num_queries):
    for i in range(15):
        make_code(code=f"Q{i}")
        services.redeem(player=player, code=f"Q{i}")
    with django_assert_max_num_queries(20):
        response = player_client.get(reverse("wallet"))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="redeem-panel"' in html and 'name="from" value="wallet"' in html
    assert html.count("/redemptions/") == 15


def test_redeem_rejects_other_methods(player_client):
    assert player_client.put(reverse("redeem")).status_code == 405
