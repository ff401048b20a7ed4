"""Notices of bets settled and payouts paid: stored per player (a Notice row written in the
settlement's / the payout's transaction), shown once on the next full page view, whatever
browser or login the player comes back with."""

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from casino import services
from casino.models.sportsbook import Notice
from casino.notices import MAX_NOTICES, take_unseen
from tests.factories import PASSWORD
from tests.helpers.sportsbook import bet, make_event, result_for, selections

pytestmark = pytest.mark.django_db


def log_in(client, player) -> None:
    """Through the login form, as the player does (a fresh web session each time)."""
    response = client.post(reverse("login"), {"username": player.username, "password": PASSWORD})
    assert response.status_code == 302


def test_a_payout_paid_while_away_is_announced_on_the_next_page_wherever_it_is(player_client, player, fruit):
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
    assert f"Payout of €20.00 for bet #{placed.pk} paid to your account." in lobby
    assert "Payout of" not in player_client.get("/").content.decode()  # each notice once


def test_settled_while_logged_out_shows_once_after_logging_in(client, player):
    event = make_event()
    home, _, away = selections(event)
    won, lost = bet(player, home), bet(player, away)
    log_in(client, player)
    client.get(reverse("lobby"))
    client.post(reverse("logout"))

    services.settle_event(event=event, result=result_for(event, home))  # nobody is looking
    services.pay_out_player(player=player)

    log_in(client, player)  # a new web session
    page = client.get(reverse("lobby")).content.decode()
    assert f"Bet #{won.pk} on Home FC won." in page
    assert f"Bet #{lost.pk} on Away FC lost." in page
    assert f"Payout of €20.00 for bet #{won.pk} paid to your account." in page
    again = client.get(reverse("lobby")).content.decode()
    assert "won." not in again and "Payout of" not in again


def test_one_notice_per_player_not_per_browser(player):
    event = make_event()
    placed = bet(player, selections(event)[0])
    phone, laptop = Client(), Client()
    phone.force_login(player)
    laptop.force_login(player)
    services.settle_event(event=event, result=result_for(event, selections(event)[0]))
    assert f"Bet #{placed.pk} on Home FC won." in phone.get(reverse("my_bets")).content.decode()
    assert "won." not in laptop.get(reverse("my_bets")).content.decode()  # seen already, on the phone


def test_notices_are_the_players_own(player, other_player):
    event = make_event()
    home = selections(event)[0]
    bet(player, home)
    services.settle_event(event=event, result=result_for(event, home))
    other = Client()
    other.force_login(other_player)
    assert "won." not in other.get(reverse("lobby")).content.decode()
    assert Notice.objects.get().seen_at is None  # still waiting for its player


def test_the_notice_is_written_with_the_settlement_and_only_with_it(player):
    event = make_event()
    home = selections(event)[0]
    placed = bet(player, home)
    with pytest.raises(RuntimeError), transaction.atomic():
        services.settle_event(event=event, result=result_for(event, home))
        assert Notice.objects.filter(bet=placed, kind=Notice.Kind.BET_SETTLED).exists()
        raise RuntimeError("roll back")
    assert not Notice.objects.exists()
    services.settle_event(event=event, result=result_for(event, home))
    assert list(Notice.objects.values_list("kind", "bet_id", "seen_at")) == [("settled", placed.pk, None)]


def test_a_paid_notice_carries_the_amount_and_comes_once_per_payout(player):
    event = make_event()
    home = selections(event)[0]
    placed = bet(player, home)
    services.settle_event(event=event, result=result_for(event, home))
    services.pay_out_player(player=player)
    services.pay_out_player(player=player)  # nothing left to pay: no second notice
    paid = Notice.objects.get(kind=Notice.Kind.PAYOUT_PAID)
    assert (paid.bet_id, str(paid.amount), paid.player_id) == (placed.pk, "20.00", player.pk)


def test_a_cash_out_is_told_on_the_spot_and_not_again(player_client, player):
    event = make_event()
    home = selections(event)[0]
    placed = bet(player, home)
    services.settle_event(event=event, result=result_for(event, home))
    player_client.get(reverse("my_bets"))  # "won." shown
    body = player_client.post(reverse("cash_out_bet", args=[placed.pk]), follow=True).content.decode()
    assert "€20.00 paid to your account." in body
    assert "Payout of" not in player_client.get(reverse("lobby")).content.decode()


def test_many_notices_are_capped_with_one_overflow_line(player_client, player):
    event = make_event()
    home = selections(event)[0]
    bets = [bet(player, home, stake="1.00") for _ in range(MAX_NOTICES + 2)]
    services.settle_event(event=event, result=result_for(event, home))
    page = player_client.get(reverse("my_bets")).content.decode()
    shown = [b for b in bets if f"Bet #{b.pk} on Home FC won." in page]
    assert shown == bets[:MAX_NOTICES]  # oldest first
    assert "More bets were settled: see My bets." in page
    assert not Notice.objects.filter(seen_at__isnull=True).exists()  # all of them are seen
    assert "More bets" not in player_client.get(reverse("my_bets")).content.decode()


def test_taking_the_notices_is_one_statement(player, django_assert_num_queries):
    event = make_event()
    home = selections(event)[0]
    bet(player, home)
    services.settle_event(event=event, result=result_for(event, home))
    with django_assert_num_queries(1):
        taken = take_unseen(player_id=player.pk)
    assert len(taken[Notice.Kind.BET_SETTLED]) == 1
    with django_assert_num_queries(1):
        assert take_unseen(player_id=player.pk) == {"settled": [], "paid": []}
