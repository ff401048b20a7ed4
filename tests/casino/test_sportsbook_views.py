"""Sportsbook pages: slip, place (form + htmx), bad input answers, my bets, bet detail, cash out, notices."""

from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.selectors import balance_of
from accounts.services import responsible
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


def pick(client, selection):
    """Add ``selection`` to the slip (a price button)."""
    return client.post(reverse("slip_add"), {"selection": selection.pk}, **HTMX)


def test_sportsbook_lists_events_with_prices(player_client, event, django_assert_max_num_queries):
    make_event(name="Second match")
    with django_assert_max_num_queries(12):
        response = player_client.get(reverse("sportsbook"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Home FC vs Away FC" in body and "Second match" in body and "2.00" in body


def test_slip_fragment_for_htmx(player_client, event):
    home, _, _ = selections(event)
    pick(player_client, home)
    response = player_client.get(reverse("sportsbook"), **HTMX)
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
    assert "Payout of €20.00" in body and "won." not in body  # each notice once


def test_cash_out_button_pays_now(player_client, player, event):
    home, _, _ = selections(event)
    placed = bet(player, home)
    services.settle_event(event=event, result=result_for(event, home))
    assert "Cash out €20.00" in player_client.get(placed.get_absolute_url()).content.decode()
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
    assert "Sportsbook payouts" in body and 'data-testid="pending-payouts">€20.00' in body
    services.pay_out_player(player=player)
    body = player_client.get(reverse("wallet")).content.decode()
    assert "1 payout paid since your last visit" in body
    assert "since your last visit" not in player_client.get(reverse("wallet")).content.decode()


# --- issue 15: the picked price, the slip's return, results, odds formats, balance, breaks --------------
def test_the_picked_price_is_pressed_and_the_others_are_not(player_client, event):
    home, draw, _ = selections(event)
    pick(player_client, home)
    body = player_client.get(reverse("sportsbook")).content.decode()
    pressed = body.split(f'data-testid="odds-{home.pk}"')[0].rsplit("<button", 1)[1]
    assert 'aria-pressed="true"' in pressed and "picked" in pressed
    other = body.split(f'data-testid="odds-{draw.pk}"')[0].rsplit("<button", 1)[1]
    assert 'aria-pressed="false"' in other and "picked" not in other
    assert 'data-selections="' + str(home.pk) + '" data-testid="slip"' in body  # the slip says what it holds


def test_the_slip_shows_the_potential_return_of_a_refused_stake_form(player_client, player, event):
    home, _, _ = selections(event)
    body = pick(player_client, home).content.decode()
    assert 'data-testid="slip-return"' in body and 'data-odds="2.00"' in body and "–</output>" in body
    player.odds_format = "fractional"
    player.save(update_fields=["odds_format"])
    response = post_bet(player_client, home, stake="7.25", odds="1.50", **HTMX)  # the price moved under it
    body = response.content.decode()
    assert response.status_code == 422 and "changed from 1/2 to 1/1" in body
    assert 'data-odds="2.00"' in body and "€14.50</output>" in body  # 7.25 x 2.00, the server's figure


def test_placing_a_bet_and_cashing_out_tell_the_header_balance(player_client, player, event):
    home, _, _ = selections(event)
    response = post_bet(player_client, home, **HTMX)
    assert response.status_code == 200 and "balance-changed" in response.headers["HX-Trigger"]
    refused = post_bet(player_client, home, stake="abc", key="k2", **HTMX)
    assert refused.status_code == 422 and "balance-changed" not in refused.headers.get("HX-Trigger", "")
    placed = Sportsbet.objects.get()
    services.settle_event(event=event, result=result_for(event, home))
    response = player_client.post(reverse("cash_out_bet", args=[placed.pk]), **HTMX)
    assert response.status_code == 200 and "balance-changed" in response.headers["HX-Trigger"]
    assert "Cash out" not in response.content.decode() and "€20.00" in response.content.decode()


def test_prices_show_in_the_players_odds_format_everywhere(player_client, player, event):
    home, _, _ = selections(event)  # 2.00 / 3.50 / 4.00
    placed = bet(player, home)
    for odds_format, home_price, away_price in (("fractional", "1/1", "3/1"), ("american", "+100", "+300")):
        player.odds_format = odds_format
        player.save(update_fields=["odds_format"])
        pick(player_client, home)
        book = player_client.get(reverse("sportsbook")).content.decode()
        assert f'<strong class="odds-price">{away_price}</strong>' in book
        assert f'data-testid="slip-odds-{home.pk}">{home_price}</strong>' in book
        assert f'name="price_{home.pk}" value="2.00"' in book  # the slip still posts the decimal price
        assert f'class="num">{home_price}</td>' in player_client.get(reverse("my_bets")).content.decode()
        assert f'class="num">{home_price}</dd>' in player_client.get(placed.get_absolute_url()).content.decode()


def test_settled_events_move_to_the_results_tab(player_client, player, event):
    home, draw, _ = selections(event)
    other = make_event(name="Void FC vs Rain United")
    bet(player, home)
    services.settle_event(event=event, result=result_for(event, draw))
    services.settle_event(event=other, result=result_for(other, "void"))
    upcoming = player_client.get(reverse("sportsbook")).content.decode()
    assert "Home FC vs Away FC" not in upcoming
    results = player_client.get(reverse("sportsbook"), {"tab": "results"}).content.decode()
    market = event.markets.get()
    assert f'data-testid="winner-{market.pk}">Draw</strong>' in results
    assert f'data-testid="winner-{other.markets.get().pk}">Void</strong>' in results
    assert 'aria-current="page" data-testid="results-tab"' in results


def test_results_list_is_a_fixed_number_of_queries(player_client, django_assert_max_num_queries):
    for n in range(5):
        event = make_event(name=f"Match {n}")
        services.settle_event(event=event, result=result_for(event, selections(event)[0]))
    with django_assert_max_num_queries(12):
        body = player_client.get(reverse("sportsbook"), {"tab": "results"}).content.decode()
    assert body.count("Result: <strong") == 5


def test_the_slip_is_disabled_with_the_reason_during_a_break(player_client, player, event):
    home, _, _ = selections(event)
    pick(player_client, home)
    responsible.take_a_break(player=player, days=1)
    body = player_client.get(reverse("sportsbook")).content.decode()
    assert 'data-testid="slip-blocked"' in body
    assert '<fieldset class="plain" disabled aria-describedby="slip-blocked">' in body
    assert post_bet(player_client, home).status_code == 422  # the server refuses anyway
    assert not Sportsbet.objects.exists()


def test_my_bets_labels_every_cell_for_the_phone_cards(player_client, player, event):
    home, _, _ = selections(event)
    placed = bet(player, home)
    services.settle_event(event=event, result=result_for(event, home))
    services.pay_out_player(player=player)
    body = player_client.get(reverse("my_bets")).content.decode()
    for label in ("Bet", "Event", "Pick", "Odds", "Stake", "Return", "Status", "Cashed out"):
        assert f'data-label="{label}"' in body
    assert f'data-testid="return-{placed.pk}">€20.00</td>' in body
    cashed = body.split(f'data-testid="cashed-out-{placed.pk}">')[1].split("</td>")[0]
    assert cashed and "–" not in cashed
