import pytest

from casino import services
from tests.helpers.sportsbook import bet, make_event, result_for, selections

pytestmark = pytest.mark.django_db


def test_a_payout_paid_while_away_is_announced_on_the_next_page_wherever_it_is(player_client, player, fruit):
    player_client.get("/")  # the player has looked: later changes are news
    event = make_event()
    home = selections(event)[0]
    placed = bet(player, home, stake="10.00")
    session = services.open_session(player=player, game=fruit)
    services.settle_event(event=event, result=result_for(event, home))

    page = player_client.get(session.get_absolute_url()).content.decode()  # mid-session: settled, not paid
    assert f"Bet #{placed.pk} on {home.name} won." in page
    assert "paid to your account" not in page

    services.leave(session=session)
    services.pay_out_player(player=player)
    lobby = player_client.get("/").content.decode()
    assert f"Payout of 20.00 for bet #{placed.pk} paid to your account." in lobby
    assert "Payout of" not in player_client.get("/").content.decode()  # each notice once
