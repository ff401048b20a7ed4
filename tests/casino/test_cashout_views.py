"""Early cash-out pages: the offer on the bet page, accepting it (plain and htmx), a changed offer asked again,
somebody else's bet, bad input."""

import uuid
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.selectors import balance_of
from casino import services
from casino.models import Payout, Sportsbet
from tests.factories import PlayerFactory
from tests.helpers.sportsbook import bet, make_event, make_game, result_for, selections

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def placed(player):
    event = make_event()  # home 2.00
    return bet(player, selections(event)[0], "10.00")


def url(placed):
    return reverse("cash_out_early", args=[placed.pk])


def post(client, placed, offer="9.50", key=None, **extra):
    data = {"expected_offer": offer, "idempotency_key": key or uuid.uuid4().hex}
    return client.post(url(placed), data, **extra)


def test_bet_page_loads_the_offer_and_the_offer_page_shows_the_form(player_client, placed):
    page = player_client.get(placed.get_absolute_url()).content.decode()
    # Either the offer inline (the bet page's view supplies it) or the block that loads it.
    assert "Cash out now for €9.50" in page or f'hx-get="{url(placed)}"' in page
    full = player_client.get(url(placed))
    body = full.content.decode()
    assert full.status_code == 200 and "<html" in body and "Bet #" in body
    assert "Cash out now for €9.50" in body and 'name="expected_offer" value="9.50"' in body
    assert 'name="idempotency_key"' in body
    fragment = player_client.get(url(placed), **HTMX).content.decode()
    assert "<html" not in fragment and 'id="cash-out"' in fragment and "Cash out now for €9.50" in fragment


def test_accepting_the_offer_plain_post_redirects_to_the_cashed_out_bet(player_client, player, placed):
    response = post(player_client, placed)
    assert response.status_code == 302 and response["Location"] == placed.get_absolute_url()
    placed.refresh_from_db()
    assert placed.status == Sportsbet.Status.CASHED_OUT
    page = player_client.get(placed.get_absolute_url()).content.decode()
    assert "Cashed out" in page and "Early cash-out" in page and "€9.50" in page
    assert "Cash out now" not in page  # no second offer


def test_accepting_the_offer_with_htmx_swaps_the_bet_card(player_client, placed):
    response = post(player_client, placed, **HTMX)
    body = response.content.decode()
    assert response.status_code == 200 and body.lstrip().startswith('<section id="bet"')
    assert "Cashed out" in body and "balance-changed" in response.headers["HX-Trigger"]
    assert Payout.objects.get(bet=placed).kind == Payout.Kind.CASH_OUT


def test_in_session_the_page_says_the_payout_waits(player_client, player, placed):
    services.open_session(player=player, game=make_game())
    assert "when you leave the machine" in player_client.get(url(placed)).content.decode()
    response = post(player_client, placed, **HTMX)
    assert response.status_code == 200
    assert Payout.objects.get(bet=placed).state == Payout.State.QUEUED
    assert balance_of(player=player) == Decimal("90.00")


@pytest.mark.parametrize("extra", [{}, HTMX], ids=["plain", "htmx"])
def test_changed_offer_is_shown_and_asked_again(player_client, player, staff, placed, extra):
    services.change_odds(selection=placed.selection, odds="1.60", actor=staff)
    response = post(player_client, placed, offer="9.50", **extra)
    body = response.content.decode()
    assert response.status_code == 422
    assert "the cash-out offer is now €11.87" in body and "Cash out now for €11.87" in body
    assert 'name="expected_offer" value="11.87"' in body
    assert Sportsbet.objects.get(pk=placed.pk).status == Sportsbet.Status.OPEN
    assert not Payout.objects.exists()
    # The second click accepts the new offer.
    assert post(player_client, placed, offer="11.87", **extra).status_code in (200, 302)
    assert Payout.objects.get(bet=placed).amount == Decimal("11.87")


def test_suspended_market_says_why_and_refuses(player_client, staff, placed):
    services.suspend_market(market=placed.selection.market, actor=staff)
    body = player_client.get(url(placed)).content.decode()
    assert "suspended" in body and "Cash out now" not in body
    response = post(player_client, placed)
    assert response.status_code == 409 and "suspended" in response.content.decode()
    assert not Payout.objects.exists()


def test_settled_bet_has_no_early_cash_out(player_client, placed):
    event = placed.selection.market.event
    services.settle_event(event=event, result=result_for(event, placed.selection))
    assert "Cash out now" not in player_client.get(url(placed)).content.decode()
    response = post(player_client, placed)
    assert response.status_code == 409 and "settled" in response.content.decode()
    assert Payout.objects.get(bet=placed).kind == Payout.Kind.WIN


def test_somebody_elses_bet_is_404_and_moves_nothing(client, placed):
    client.force_login(PlayerFactory(balance="100.00"))
    assert client.get(url(placed)).status_code == 404
    assert post(client, placed).status_code == 404
    assert client.get(reverse("cash_out_early", args=[999999])).status_code == 404
    assert Sportsbet.objects.get(pk=placed.pk).status == Sportsbet.Status.OPEN


def test_login_required(client, placed):
    assert client.get(url(placed)).status_code == 302
    assert post(client, placed).status_code == 302
    assert not Payout.objects.exists()


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"idempotency_key": "k"},
        {"expected_offer": "9.50"},
        {"expected_offer": "abc", "idempotency_key": "k"},
        {"expected_offer": "-9.50", "idempotency_key": "k"},
        {"expected_offer": "9.501", "idempotency_key": "k"},
        {"expected_offer": "1e400", "idempotency_key": "k"},
        {"expected_offer": "9.50", "idempotency_key": "x" * 500},
        {"expected_offer": "9.50", "idempotency_key": "\x00"},
    ],
)
@pytest.mark.parametrize("extra", [{}, HTMX], ids=["plain", "htmx"])
def test_bad_input_is_4xx_and_moves_nothing(player_client, placed, data, extra):
    response = player_client.post(url(placed), data, **extra)
    assert 400 <= response.status_code < 500
    assert Sportsbet.objects.get(pk=placed.pk).status == Sportsbet.Status.OPEN
    assert not Payout.objects.exists()


def test_wrong_methods_are_405(player_client, placed):
    for method in ("put", "patch", "delete"):
        assert getattr(player_client, method)(url(placed)).status_code == 405


def test_accumulator_page_shows_legs_and_offer(player_client, player):
    events = [make_event(name=f"Match {i}") for i in range(2)]
    picks = [selections(e)[0] for e in events]
    acca = services.place_accumulator(player=player, selections=picks, stake="10.00", idempotency_key="acca")
    services.settle_event(event=events[0], result=result_for(events[0], picks[0]))
    body = player_client.get(url(acca)).content.decode()
    assert 'data-testid="bet-legs"' in body and "Match 0" in body and "Match 1" in body
    assert "Won" in body and "Pending" in body
    assert "Cash out now for €19.00" in body  # 10 x 2.00 (won) x 2.00 / 2.00 x 0.95
    assert post(player_client, acca, offer="19.00").status_code == 302
    assert Payout.objects.get(bet=acca).amount == Decimal("19.00")
