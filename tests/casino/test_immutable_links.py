"""Issue 13: money-bearing links are immutable once something depends on them.

A market's event once it has bets, a selection's market once it has bets, a bet's terms
always, a game's reels and paytable while a session is open on it. The admin shows them
read-only and refuses a POST that changes them (a form error, never a 500); the database
refuses any other path (SQLSTATE 23L01); what must still change (odds, settling, stakes,
a game with no open session) still does.
"""

import json
import threading
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from casino import services
from casino.admin.games import GameAdmin
from casino.admin.sportsbook import MarketAdmin
from casino.demo import load_demo_games
from casino.models import Game, GameSession, Market, Payout, Selection, SportEvent, Sportsbet
from core.db import LOCKED_LINK_SQLSTATE, LinkLocked, locked_link_error, translate_locked_links
from tests.helpers.sportsbook import bet, make_event, market_form, result_for, selections

D = Decimal
pytestmark = pytest.mark.django_db


# --- fixtures and helpers ---------------------------------------------------------------------
@pytest.fixture
def event(db):
    return make_event()


@pytest.fixture
def settled_event(db):
    other = make_event(name="Settled FC vs Done United")
    services.settle_event(event=other, result=result_for(other, "void"))
    return SportEvent.objects.get(pk=other.pk)


def refused(excinfo, constraint: str) -> LinkLocked:
    """The error is the trigger's (SQLSTATE, constraint) and translates to a LinkLocked."""
    assert excinfo.value.__cause__.sqlstate == LOCKED_LINK_SQLSTATE
    error = locked_link_error(excinfo.value)
    assert error is not None and error.constraint == constraint
    return error


def market_url(market: Market) -> str:
    return reverse("admin:casino_market_change", args=[market.pk])


# --- a market's event ---------------------------------------------------------------------------
def test_market_page_shows_the_event_read_only_once_it_has_bets(trader_client, event, player):
    market = event.markets.get()
    page = trader_client.get(market_url(market)).content.decode()
    assert 'name="event"' in page and "The event is locked" not in page  # no bets: still editable

    bet(player, selections(event)[0])
    page = trader_client.get(market_url(market)).content.decode()
    assert 'name="event"' not in page
    assert "The event is locked: bets have been placed on this market" in page


def test_admin_refuses_moving_a_market_with_bets_to_a_settled_event(trader_client, event, settled_event, player):
    market = event.markets.get()
    placed = bet(player, selections(event)[0])

    response = trader_client.post(market_url(market), market_form(market, event=settled_event.pk))
    assert response.status_code == 200  # the form again, with the reason: never a 500
    html = response.content.decode()
    assert "The event is locked" in html and "Event would have changed" in html
    assert Market.objects.get(pk=market.pk).event_id == event.pk

    services.settle_event(event=event, result=result_for(event, selections(event)[0]))
    placed.refresh_from_db()
    assert placed.status == Sportsbet.Status.WON and Payout.objects.filter(bet=placed).exists()


def test_admin_still_edits_a_market_with_bets_and_the_bet_keeps_its_odds(trader_client, event, player):
    market = event.markets.get()
    home = selections(event)[0]
    placed = bet(player, home)

    form = market_form(market, name="Full time result", max_stake="250.00", **{"selections-0-odds": "2.40"})
    response = trader_client.post(market_url(market), form)
    assert response.status_code == 302, response.content.decode()[:3000]
    market.refresh_from_db()
    assert (market.name, market.max_stake, market.event_id) == ("Full time result", D("250.00"), event.pk)
    assert Selection.objects.get(pk=home.pk).odds == D("2.40")
    placed.refresh_from_db()
    assert placed.odds == D("2.00")  # frozen at placing


def test_admin_moves_a_market_without_bets(trader_client, event):
    other = make_event(name="Other FC vs Else FC")
    market = event.markets.get()
    response = trader_client.post(market_url(market), market_form(market, event=other.pk))
    assert response.status_code == 302, response.content.decode()[:3000]
    assert Market.objects.get(pk=market.pk).event_id == other.pk


def test_admin_turns_the_databases_refusal_into_a_message(trader_client, event, player, monkeypatch):
    """The lock appears between the admin's check and the save (here: a stale check): the trigger refuses."""
    other = make_event(name="Other FC vs Else FC")
    market = event.markets.get()
    bet(player, selections(event)[0])
    monkeypatch.setattr(MarketAdmin, "locked_fields", lambda self, request, obj: ((), ""))

    response = trader_client.post(market_url(market), market_form(market, event=other.pk), follow=True)
    assert response.status_code == 200 and response.redirect_chain == [(market_url(market), 302)]
    assert "Not saved: The event of this market cannot change" in response.content.decode()
    assert Market.objects.get(pk=market.pk).event_id == event.pk


def test_database_refuses_moving_a_market_with_bets(event, settled_event, player):
    market = event.markets.get()
    bet(player, selections(event)[0])

    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        Market.objects.filter(pk=market.pk).update(event=settled_event)
    error = refused(excinfo, "market_event_locked")
    assert error.field == "event" and "bets have been placed" in error.message

    market.event = settled_event
    with pytest.raises(IntegrityError), transaction.atomic():
        market.save()
    with pytest.raises(LinkLocked), translate_locked_links(), transaction.atomic():
        market.save(update_fields=["event"])
    assert Market.objects.get(pk=market.pk).event_id == event.pk

    # Name and stake limit still change; a market without bets still moves.
    Market.objects.filter(pk=market.pk).update(name="Renamed", max_stake=D("100.00"))
    empty = Market.objects.create(event=event, name="Spare", max_stake=D("10.00"))
    Market.objects.filter(pk=empty.pk).update(event=settled_event)
    assert Market.objects.get(pk=empty.pk).event_id == settled_event.pk


# --- a selection's market ------------------------------------------------------------------------
def test_database_refuses_moving_a_selection_with_bets(event, player):
    home, draw, _ = selections(event)
    other_market = make_event(name="Other FC vs Else FC").markets.get()
    bet(player, home)

    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        Selection.objects.filter(pk=home.pk).update(market=other_market)
    assert refused(excinfo, "selection_market_locked").field == "market"
    home.market = other_market
    with pytest.raises(IntegrityError), transaction.atomic():
        home.save()
    assert Selection.objects.get(pk=home.pk).market_id == event.markets.get().pk

    # Odds move while betting is open; a selection without bets may still move.
    Selection.objects.filter(pk=home.pk).update(odds=D("2.50"))
    Selection.objects.filter(pk=draw.pk).update(market=other_market)
    assert Selection.objects.get(pk=draw.pk).market_id == other_market.pk


def test_admin_cannot_move_a_selection_to_another_market(trader_client, event, player):
    market = event.markets.get()
    home = selections(event)[0]
    bet(player, home)
    other_market = make_event(name="Other FC vs Else FC").markets.get()

    response = trader_client.post(market_url(market), market_form(market, **{"selections-0-market": other_market.pk}))
    assert response.status_code == 200  # the inline's parent is fixed: a form error
    assert Selection.objects.get(pk=home.pk).market_id == market.pk


# --- a bet's terms -------------------------------------------------------------------------------
@pytest.mark.parametrize("field", ["selection", "stake", "odds", "player", "idempotency_key"])
def test_database_refuses_changing_a_placed_bets_terms(event, player, other_player, field):
    home, draw, _ = selections(event)
    placed = bet(player, home)
    new_value = {
        "selection": draw,
        "stake": D("1000.00"),
        "odds": D("50.00"),
        "player": other_player,
        "idempotency_key": "another",
    }[field]

    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        Sportsbet.objects.filter(pk=placed.pk).update(**{field: new_value})
    assert refused(excinfo, "sportsbet_terms_locked").field == field
    setattr(placed, field, new_value)
    with pytest.raises(IntegrityError), transaction.atomic():
        placed.save()
    again = Sportsbet.objects.get(pk=placed.pk)
    assert (again.selection_id, again.stake, again.odds, again.player_id) == (home.pk, D("10.00"), D("2.00"), player.pk)


def test_settling_still_changes_a_bets_status(event, player):
    home, draw, _ = selections(event)
    won, lost = bet(player, home), bet(player, draw)
    services.settle_event(event=event, result=result_for(event, home))
    won.refresh_from_db()
    lost.refresh_from_db()
    assert (won.status, lost.status) == (Sportsbet.Status.WON, Sportsbet.Status.LOST)
    assert won.settled_at is not None and won.version == 1
    assert Payout.objects.get(bet=won).amount == D("20.00")


def test_bets_stay_read_only_in_the_admin(trader_client, event, player):
    placed = bet(player, selections(event)[0])
    url = reverse("admin:casino_sportsbet_change", args=[placed.pk])
    response = trader_client.post(url, {"stake": "999.00", "odds": "99.00", "status": "won"})
    assert response.status_code == 403
    assert Sportsbet.objects.get(pk=placed.pk).stake == D("10.00")


# --- a game's reels and paytable -------------------------------------------------------------------
def game_form(game: Game, **overrides) -> dict:
    data = {
        "slug": game.slug,
        "name": game.name,
        "vendor": game.vendor_id or "",
        "description": game.description,
        "min_stake": str(game.min_stake),
        "max_stake": str(game.max_stake),
        "reels": json.dumps(game.reels),
        "paytable": json.dumps(game.paytable),
        "is_active": "on" if game.is_active else "",
    }
    data.update(overrides)
    return data


def edited(paytable: list) -> list:
    """The paytable with its first (top) rule paying one less: still a valid machine."""
    return [{**paytable[0], "pays": paytable[0]["pays"] - 1}, *paytable[1:]]


def game_url(game: Game) -> str:
    return reverse("admin:casino_game_change", args=[game.pk])


@pytest.fixture
def open_session(player, fruit):
    return services.open_session(player=player, game=fruit)


def test_game_page_shows_reels_and_paytable_read_only_while_a_session_is_open(staff_client, fruit, player):
    page = staff_client.get(game_url(fruit)).content.decode()
    assert 'name="paytable"' in page and 'name="reels"' in page

    services.open_session(player=player, game=fruit)
    page = staff_client.get(game_url(fruit)).content.decode()
    assert 'name="paytable"' not in page and 'name="reels"' not in page
    assert "Reels and paytable are locked while 1 session(s) are open on this game" in page


def test_admin_refuses_a_paytable_change_while_a_session_is_open(staff_client, fruit, open_session):
    before = Game.objects.get(pk=fruit.pk).paytable
    response = staff_client.post(game_url(fruit), game_form(fruit, paytable=json.dumps(edited(fruit.paytable))))
    assert response.status_code == 200
    assert "Paytable would have changed" in response.content.decode()
    assert Game.objects.get(pk=fruit.pk).paytable == before


def test_admin_still_changes_stakes_and_active_while_a_session_is_open(staff_client, fruit, open_session):
    form = game_form(fruit, min_stake="0.20", max_stake="4.00", is_active="")  # the page as first opened
    response = staff_client.post(game_url(fruit), form)
    assert response.status_code == 302, response.content.decode()[:3000]
    game = Game.objects.get(pk=fruit.pk)
    assert (game.min_stake, game.max_stake, game.is_active) == (D("0.20"), D("4.00"), False)


def test_admin_changes_the_paytable_once_no_session_is_open(staff_client, fruit, open_session):
    services.leave(session=open_session)
    new = edited(fruit.paytable)
    response = staff_client.post(game_url(fruit), game_form(fruit, paytable=json.dumps(new)))
    assert response.status_code == 302, response.content.decode()[:3000]
    assert Game.objects.get(pk=fruit.pk).paytable == new


def test_game_admin_turns_the_databases_refusal_into_a_message(staff_client, fruit, open_session, monkeypatch):
    monkeypatch.setattr(GameAdmin, "locked_fields", lambda self, request, obj: ((), ""))
    form = game_form(fruit, paytable=json.dumps(edited(fruit.paytable)))
    response = staff_client.post(game_url(fruit), form, follow=True)
    assert response.status_code == 200 and response.redirect_chain == [(game_url(fruit), 302)]
    assert "Not saved: The reels and paytable of this game cannot change" in response.content.decode()
    assert Game.objects.get(pk=fruit.pk).paytable == fruit.paytable


def test_database_refuses_reels_or_paytable_while_a_session_is_open(fruit, open_session, games):
    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        Game.objects.filter(pk=fruit.pk).update(paytable=edited(fruit.paytable))
    assert refused(excinfo, "game_machine_locked").field == "paytable"
    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        Game.objects.filter(pk=fruit.pk).update(reels=[*fruit.reels[:-1], fruit.reels[-1][::-1]])
    assert refused(excinfo, "game_machine_locked").field == "reels"
    fruit.paytable = edited(fruit.paytable)
    with pytest.raises(IntegrityError), transaction.atomic():
        fruit.save()

    # Stakes, texts, the active flag and a same-machine save (seed_demo) still go through;
    # so does another game's paytable.
    Game.objects.filter(pk=games["fruit-frenzy"].pk).update(min_stake=D("0.20"), name="Fruit", is_active=False)
    Game.objects.get(pk=games["fruit-frenzy"].pk).save()
    diamond = games["diamond-sevens"]
    Game.objects.filter(pk=diamond.pk).update(paytable=edited(diamond.paytable))

    services.leave(session=open_session)
    Game.objects.filter(pk=fruit.pk).update(paytable=fruit.paytable)
    assert Game.objects.get(pk=fruit.pk).paytable == fruit.paytable


# --- races: a dependant being inserted while the link changes --------------------------------------
def _change_while_insert_in_flight(insert, change) -> tuple[bool, object]:
    """Run ``insert`` in a transaction held open, then ``change`` in another thread.

    Returns (whether ``change`` was still waiting while the insert was uncommitted, its outcome).
    """
    inserted, release, done = threading.Event(), threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def inserter():
        try:
            with transaction.atomic():
                insert()
                inserted.set()
                release.wait(10)
        finally:
            inserted.set()
            connection.close()

    def changer():
        inserted.wait(10)
        try:
            change()
            outcome["result"] = "changed"
        except Exception as exc:
            outcome["result"] = exc
        finally:
            done.set()
            connection.close()

    threads = [threading.Thread(target=inserter), threading.Thread(target=changer)]
    for t in threads:
        t.start()
    inserted.wait(10)
    waited = not done.wait(0.5)
    release.set()
    for t in threads:
        t.join(20)
    return waited, outcome.get("result")


@pytest.mark.django_db(transaction=True)
def test_moving_a_market_waits_for_a_bet_in_flight_then_refuses(player):
    """Proves the race is closed: a bet placed but not committed still stops its market from moving."""
    event, other = make_event(), make_event(name="Other FC vs Else FC")
    market = event.markets.get()
    waited, result = _change_while_insert_in_flight(
        lambda: bet(player, selections(event)[0]),
        lambda: Market.objects.filter(pk=market.pk).update(event=other),
    )
    assert waited, "the market move did not wait for the bet in flight"
    assert isinstance(result, IntegrityError) and locked_link_error(result).constraint == "market_event_locked"
    assert Market.objects.get(pk=market.pk).event_id == event.pk and Sportsbet.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_paytable_change_waits_for_a_session_being_opened_then_refuses(player):
    """Proves the race is closed: a session opened but not committed still stops a paytable change."""
    fruit = next(g for g in load_demo_games() if g.slug == "fruit-frenzy")
    waited, result = _change_while_insert_in_flight(
        lambda: services.open_session(player=player, game=fruit),
        lambda: Game.objects.filter(pk=fruit.pk).update(paytable=edited(fruit.paytable)),
    )
    assert waited, "the paytable change did not wait for the session being opened"
    assert isinstance(result, IntegrityError) and locked_link_error(result).constraint == "game_machine_locked"
    assert Game.objects.get(pk=fruit.pk).paytable == fruit.paytable
    assert GameSession.objects.filter(game=fruit, status=GameSession.Status.OPEN).count() == 1
