"""Sportsbook pages: slip, place (form + htmx), bad input answers, my bets, bet detail, cash out, notices."""

from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.selectors import balance_of
from casino import services
from casino.models import Payout, Selection, Sportsbet
from tests.helpers.sportsbook import bet, make_event, make_game, result_for, selections

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def event(db):
    return make_event()


def post_bet(client, selection, stake="10.00", odds=None, key="k1", **extra):
    data = {"selection": selection.pk, "expected_odds": odds or selection.odds, "stake": stake, "idempotency_key": key}
    return client.post(reverse("place_bet"), data, **extra)


def test_sportsbook_lists_events_with_prices(player_client, event, django_assert_max_num_queries):
    make_event(name="Second match")
    with django_assert_max_num_queries(12):
        response = player_client.get(reverse("sportsbook"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Home FC vs Away FC" in body and "Second match" in body and "2.00" in body


def test_slip_fragment_for_htmx(player_client, event):
    home, _, _ = selections(event)
    response = player_client.get(reverse("sportsbook"), {"selection": home.pk}, **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="slip"' in body and "<h1>" not in body and 'name="stake"' in body


def test_place_bet_plain_post_redirects_to_the_bet(player_client, player, event):
    home, _, _ = selections(event)
    response = post_bet(player_client, home)
    placed = Sportsbet.objects.get()
    assert response.status_code == 302 and response.url == placed.get_absolute_url()
    assert balance_of(player=player) == Decimal("90.00")
    assert post_bet(player_client, home).status_code == 302  # same key (double submit): one bet
    assert Sportsbet.objects.count() == 1


def test_place_bet_htmx_shows_receipt(player_client, event):
    home, _, _ = selections(event)
    response = post_bet(player_client, home, **HTMX)
    assert response.status_code == 200
    assert "placed" in response.content.decode() and "toast" in response.headers["HX-Trigger"]


@pytest.mark.parametrize(
    "stake, message",
    [("0", "more than zero"), ("-1", "enter a number"), ("abc", "enter a number"), ("1.001", "enter a number"),
     ("100.01", "Not enough money"), ("", "required")],
)  # fmt: skip
def test_bad_stakes_get_422_and_nothing_moves(player_client, player, event, stake, message):
    home, _, _ = selections(event)
    response = post_bet(player_client, home, stake=stake, **HTMX)
    assert response.status_code == 422
    assert message.lower() in response.content.decode().lower()
    assert balance_of(player=player) == Decimal("100.00") and not Sportsbet.objects.exists()


def test_over_market_max_gets_422(player_client, player):
    small = make_event(max_stake="5.00")
    home, _, _ = selections(small)
    response = post_bet(player_client, home, stake="6.00")
    assert response.status_code == 422 and "maximum stake" in response.content.decode()


def test_odds_changed_shows_new_price_and_second_click_accepts_it(player_client, player, event):
    home, _, _ = selections(event)
    Selection.objects.filter(pk=home.pk).update(odds=Decimal("2.50"))
    response = post_bet(player_client, home, odds="2.00", **HTMX)
    body = response.content.decode()
    assert response.status_code == 422
    assert "changed from 2.00 to 2.50" in body and 'value="2.50"' in body
    assert not Sportsbet.objects.exists()
    assert post_bet(player_client, home, odds="2.50", key="k2").status_code == 302
    assert Sportsbet.objects.get().odds == Decimal("2.50")


def test_unknown_selection_and_settled_event_are_clear_errors(player_client, event):
    home, draw, _ = selections(event)
    response = player_client.post(
        reverse("place_bet"), {"selection": 999999, "expected_odds": "2.00", "stake": "1", "idempotency_key": "x"}
    )
    assert response.status_code == 422 and "not offered" in response.content.decode()
    services.settle_event(event=event, result=result_for(event, draw))
    response = post_bet(player_client, home)
    assert response.status_code == 422 and "betting is closed" in response.content.decode()


def test_someone_elses_bet_is_404(client, player, other_player, event):
    home, _, _ = selections(event)
    theirs = bet(other_player, home)
    client.force_login(player)
    assert client.get(reverse("bet_detail", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("cash_out_bet", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("bet_detail", args=[999999])).status_code == 404


def test_login_required(client, event):
    assert client.get(reverse("sportsbook")).status_code == 302
    assert client.get(reverse("my_bets")).status_code == 302


def test_my_bets_lists_and_filters(player_client, player, event, django_assert_max_num_queries):
    home, _, away = selections(event)
    won, lost = bet(player, home), bet(player, away)
    services.settle_event(event=event, result=result_for(event, home))
    with django_assert_max_num_queries(12):
        body = player_client.get(reverse("my_bets")).content.decode()
    assert f"#{won.pk}" in body and f"#{lost.pk}" in body and "Winnings queued" in body
    body = player_client.get(reverse("my_bets"), {"status": "lost"}, **HTMX).content.decode()
    assert f"#{lost.pk}" in body and f"#{won.pk}<" not in body


def test_notices_of_settled_bets_and_paid_payouts_since_last_visit(player_client, player, event):
    home, _, _ = selections(event)
    placed = bet(player, home)
    player_client.get(reverse("my_bets"))  # first visit sets the marker
    services.settle_event(event=event, result=result_for(event, home))
    body = player_client.get(reverse("my_bets")).content.decode()
    assert f"Bet #{placed.pk} on Home FC won." in body
    services.pay_out_player(player=player)
    body = player_client.get(reverse("my_bets")).content.decode()
    assert "Payout of 20.00" in body and "won." not in body  # each notice once


def test_cash_out_button_pays_now(player_client, player, event):
    home, _, _ = selections(event)
    placed = bet(player, home)
    services.settle_event(event=event, result=result_for(event, home))
    assert "Cash out 20.00" in player_client.get(placed.get_absolute_url()).content.decode()
    response = player_client.post(reverse("cash_out_bet", args=[placed.pk]), **HTMX)
    assert response.status_code == 200 and "Winnings paid" in response.content.decode()
    assert balance_of(player=player) == Decimal("110.00")
    assert Payout.objects.get().state == Payout.State.PAID


def test_cash_out_mid_session_explains_and_pays_nothing(player_client, player, event):
    home, _, _ = selections(event)
    placed = bet(player, home)
    services.settle_event(event=event, result=result_for(event, home))
    services.open_session(player=player, game=make_game())
    assert "when you leave the machine" in player_client.get(placed.get_absolute_url()).content.decode()
    response = player_client.post(reverse("cash_out_bet", args=[placed.pk]))
    assert response.status_code == 409 and "when you leave the machine" in response.content.decode()
    assert Payout.objects.get().state == Payout.State.QUEUED


def test_cash_out_an_open_bet_is_409(player_client, player, event):
    home, _, _ = selections(event)
    placed = bet(player, home)
    response = player_client.post(reverse("cash_out_bet", args=[placed.pk]))
    assert response.status_code == 409 and "not settled" in response.content.decode()


def test_wallet_shows_pending_and_paid_payouts(player_client, player, event):
    home, _, _ = selections(event)
    bet(player, home)
    services.settle_event(event=event, result=result_for(event, home))
    body = player_client.get(reverse("wallet")).content.decode()
    assert "Sportsbook payouts" in body and 'data-testid="pending-payouts">20.00' in body
    services.pay_out_player(player=player)
    body = player_client.get(reverse("wallet")).content.decode()
    assert "1 payout paid since your last visit" in body
    assert "since your last visit" not in player_client.get(reverse("wallet")).content.decode()
