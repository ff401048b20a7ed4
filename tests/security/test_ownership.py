"""Ownership: only the owner sees or acts on a session, bet, payout, redemption or statement.

Table-driven over the URLconf: every URL outside the admin that takes an id or
slug must be in ``OWNED`` (player B gets 404 for player A's object, as a plain
and as an htmx request, and nothing moves) or in ``PUBLIC`` (not owned by a
player). A new id-taking URL without a row here fails
``test_every_id_taking_url_has_an_ownership_case``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.test import Client
from django.urls import reverse

from accounts.selectors import balance_of
from casino import services as casino_services
from casino.models import Selection, Sportsbet
from core.money import format_money
from promotions.models import BonusGrant
from tests.helpers.security import (
    CODE,
    DEPOSIT,
    FEED,
    INTRUDER,
    STAKE,
    World,
    build_world,
    give_bonus,
    money_snapshot,
    player_routes,
    routes_with_ids,
)

HTMX = {"HTTP_HX_REQUEST": "true"}


def _key() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Owned:
    """A URL naming one of the owner's objects."""

    kwargs: Callable[[World], dict]
    methods: tuple[str, ...]
    data: Callable[[World], dict] = lambda w: {}
    setup: Callable[[World], None] = lambda w: None


def _leave(world: World) -> None:
    """The owner leaves the machine so their queued payout is cashable (a wrong owner check would pay it)."""
    casino_services.leave(session=world.session)


_OFFERS: dict[int, dict] = {}


def _open_bet(world: World) -> Sportsbet:
    """The owner's open single on the world's open event (made once): it has a cash-out offer."""
    selection = Selection.objects.get(pk=world.selection_id)
    return casino_services.place_sportsbet(
        player=world.player, selection=selection, stake="2.00", idempotency_key=f"open-bet-{world.player.pk}"
    )


def _cash_out_form(world: World) -> dict:
    """The offer the owner saw, with one key: the owner's second post replays the first."""
    bet = _open_bet(world)
    if bet.pk not in _OFFERS:
        offer = casino_services.cash_out_offer(bet)
        _OFFERS[bet.pk] = {"expected_offer": str(offer), "idempotency_key": f"cash-out-{bet.pk}"}
    return _OFFERS[bet.pk]


BONUS = "6.43"  # the owner's bonus amount: on their wallet, nowhere else
NO_GRANT = 987654320


def _bonus_key(world: World) -> str:
    return f"security-bonus:{world.player.pk}"


def _give_bonus(world: World) -> None:
    """The owner gets an active bonus (a wrong owner check on the forfeit would forfeit it)."""
    give_bonus(world, source_key=_bonus_key(world), source="Owner's bonus", amount=BONUS)


def _bonus_pk(world: World) -> int:
    """The owner's grant (any id when there is none: an anonymous request never gets that far)."""
    return BonusGrant.objects.filter(source_key=_bonus_key(world)).values_list("pk", flat=True).first() or NO_GRANT


def _bonus_version(world: World) -> dict:
    return {"version": str(BonusGrant.objects.filter(pk=_bonus_pk(world)).values_list("version", flat=True).first())}


SESSION = lambda w: {"pk": w.session.pk}  # noqa: E731
OWNED: dict[str, Owned] = {
    "session_detail": Owned(SESSION, ("GET",)),
    "session_spin": Owned(SESSION, ("POST",), lambda w: {"spin-stake": "0.10", "spin-idempotency_key": _key()}),
    "session_feed": Owned(SESSION, ("POST",), lambda w: {"feed-amount": "5.00", "feed-idempotency_key": _key()}),
    "session_leave": Owned(SESSION, ("POST",)),
    "session_seed": Owned(SESSION, ("POST",), lambda w: {"seed-client_seed": "intruder-seed"}),
    "session_verify": Owned(SESSION, ("GET",), setup=_leave),
    "session_statement": Owned(SESSION, ("GET",), setup=_leave),
    "bet_detail": Owned(lambda w: {"pk": w.bet.pk}, ("GET",)),
    "cash_out_bet": Owned(lambda w: {"pk": w.bet.pk}, ("POST",), setup=_leave),
    "cash_out_early": Owned(lambda w: {"pk": _open_bet(w).pk}, ("GET", "POST"), lambda w: _cash_out_form(w)),
    "redemption_detail": Owned(lambda w: {"pk": w.redemption.pk}, ("GET",)),
    "bonus_forfeit": Owned(lambda w: {"pk": _bonus_pk(w)}, ("GET", "POST"), _bonus_version, setup=_give_bonus),
}
# Payouts have no URL of their own: a player sees them on the bet page and the wallet (both covered).
PUBLIC: dict[str, str] = {
    "game_detail": "a game's page, the same for every player",
    "session_open": "opens the requesting player's own session on a public game",
    "vendor_detail": "a studio's page, the same for every player",
}
# Per-player pages without an id: they show only the requesting player's rows.
PER_PLAYER_PAGES: dict[str, tuple[str, ...]] = {
    # url name -> markers the owner's page shows (proves the check below can fail)
    "wallet": (DEPOSIT, FEED, CODE),
    "statement": (DEPOSIT, FEED),
    "session_history": (FEED,),
    "my_bets": (STAKE,),
    "redeem": (CODE,),
    "lobby": (),
    "sportsbook": (),
    "profile": (),  # the requesting player's own preference
    "responsible": (),
    "reality_check": (),
    "header_balance": (),  # the requesting player's own balance, a header fragment
}
ANONYMOUS_OK = {"login", "signup", "logout", "favicon", "fair_verifier"}
# Posts without an id: they act on the requesting player's own account only.
OWN_ACCOUNT_ACTIONS = {
    "place_bet",
    "slip_add",  # the slip is the requesting player's session; placing debits their own account
    "slip_remove",
    "slip_clear",
    "slip_place",
    "deposit",
    "withdraw",
    "responsible_limits",
    "responsible_break",
    "responsible_exclude",
}


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _request(client: Client, method: str, url: str, data: dict, htmx: bool):
    headers = HTMX if htmx else {}
    return client.get(url, **headers) if method == "GET" else client.post(url, data, **headers)


def test_every_id_taking_url_has_an_ownership_case():
    with_ids = routes_with_ids()
    missing = with_ids - OWNED.keys() - PUBLIC.keys()
    assert not missing, f"URLs taking an id with no ownership case (add to OWNED or PUBLIC): {sorted(missing)}"
    stale = (OWNED.keys() | PUBLIC.keys()) - with_ids
    assert not stale, f"cases for URLs that no longer exist: {sorted(stale)}"
    no_ids = set(player_routes()) - with_ids
    unlisted = no_ids - PER_PLAYER_PAGES.keys() - OWN_ACCOUNT_ACTIONS - ANONYMOUS_OK
    assert not unlisted, f"player pages with no per-player check: {sorted(unlisted)}"


@pytest.fixture
def owner(db) -> World:
    return build_world()


@pytest.fixture
def intruder(db) -> World:
    return build_world(markers=INTRUDER)


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(OWNED))
def test_another_players_object_is_404_and_nothing_moves(name, owner, intruder, assert_reconciles):
    case = OWNED[name]
    case.setup(owner)
    url = reverse(name, kwargs=case.kwargs(owner))
    unknown = reverse(name, kwargs=dict.fromkeys(case.kwargs(owner), 987654321))
    before = money_snapshot()
    client = _client(intruder.player)
    for htmx in (False, True):
        for method in case.methods:
            response = _request(client, method, url, case.data(owner), htmx)
            assert response.status_code == 404, (
                f"{method} {url} (htmx={htmx}) by another player: {response.status_code}"
            )
            assert owner.player.username not in response.content.decode()
            # An unknown id is the same 404 (nothing tells "exists" from "not yours").
            assert _request(client, method, unknown, case.data(owner), htmx).status_code == 404
    assert money_snapshot() == before, f"{name}: another player's request moved money"

    # The case is real: the owner's own request on the same URL is served.
    for htmx in (True, False):
        for method in case.methods:
            response = _request(_client(owner.player), method, url, case.data(owner), htmx)
            assert response.status_code in (200, 302), f"{method} {url} by its owner: {response.status_code}"
    assert_reconciles()


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(PER_PLAYER_PAGES))
def test_per_player_pages_show_only_the_players_own_rows(name, owner, intruder):
    for htmx in (False, True):
        _check_per_player_page(reverse(name), name=name, htmx=htmx, owner=owner, intruder=intruder)


def _check_per_player_page(url: str, *, name: str, htmx: bool, owner: World, intruder: World) -> None:
    mine = _request(_client(owner.player), "GET", url, {}, htmx).content.decode()
    for marker in PER_PLAYER_PAGES[name]:
        assert marker in mine, f"{name}: the owner's page should show {marker}"
    owner_balance = format_money(balance_of(player=owner.player))
    response = _request(_client(intruder.player), "GET", url, {}, htmx)
    assert response.status_code in (200, 286), response.status_code  # 286: reality check stops polling
    theirs = response.content.decode()
    for marker in (DEPOSIT, FEED, STAKE, CODE, owner_balance, f"/sessions/{owner.session.pk}/",
                   f"/bets/{owner.bet.pk}/", f"/redemptions/{owner.redemption.pk}/"):  # fmt: skip
        assert marker not in theirs, f"{name}: another player's page shows {marker!r}"


@pytest.mark.django_db
def test_the_wallets_bonus_panel_shows_only_the_players_own_grants(owner, intruder):
    _give_bonus(owner)
    pk = _bonus_pk(owner)
    forfeit = reverse("bonus_forfeit", args=[pk])
    for htmx in (False, True):
        mine = _request(_client(owner.player), "GET", reverse("wallet"), {}, htmx).content.decode()
        assert f'id="bonus-{pk}"' in mine and forfeit in mine and f"€{BONUS}" in mine  # the check can fail
        theirs = _request(_client(intruder.player), "GET", reverse("wallet"), {}, htmx).content.decode()
        for marker in (f'id="bonus-{pk}"', forfeit, BONUS, "Owner&#x27;s bonus"):
            assert marker not in theirs, f"another player's wallet shows {marker!r}"


@pytest.mark.django_db
def test_the_statement_lists_only_the_players_own_ledger_entries(owner, intruder):
    """The statement is per user: B's lists B's entries, none of A's, on every page."""
    from accounts.selectors import statement

    mine = {e.pk for e in statement(player=owner.player)}
    theirs = {e.pk for e in statement(player=intruder.player)}
    assert mine and theirs and not mine & theirs
    client = _client(intruder.player)
    for page in (1, 2, 99):
        body = client.get(reverse("statement"), {"page": page}, **HTMX).content.decode()
        assert DEPOSIT not in body and FEED not in body


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_anonymous_users_are_sent_to_log_in_everywhere(method, owner, client):
    kwargs_for = {name: case.kwargs(owner) for name, case in OWNED.items()}  # may place the owner's open bet
    before = money_snapshot()
    kwargs_for.update({"game_detail": {"slug": owner.game.slug}, "session_open": {"slug": owner.game.slug},
                       "vendor_detail": {"slug": "any-studio"}})  # fmt: skip
    for name in sorted(set(player_routes()) - ANONYMOUS_OK):
        url = reverse(name, kwargs=kwargs_for.get(name))
        for htmx in (False, True):
            response = _request(client, method, url, {"amount": "1"}, htmx)
            assert response.status_code == 302, f"anonymous {method} {url}: {response.status_code}"
            assert response.url.startswith(reverse("login") + "?next="), response.url
    assert money_snapshot() == before
