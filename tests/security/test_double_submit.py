"""Concurrent double-submits of every money form: two posts of the same form (same
idempotency key) released at the same instant, each from its own logged-in client
on its own database connection, move money once. (Deposit and withdraw are in
tests/accounts/test_fuzz_double_submit.py.)

Every test also runs as htmx requests, and ends with ``reconcile`` passing.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import LedgerTransaction
from accounts.selectors import balance_of
from casino import services as casino_services
from casino.demo import load_demo_games
from casino.models import GameSession, Payout, Spin, Sportsbet
from casino.services import sportsbook as sportsbook_services
from promotions.models import Redemption
from tests.conftest import run_in_threads
from tests.factories import PlayerFactory
from tests.helpers.codes import make_code
from tests.helpers.sportsbook import make_event, result_for, selections

D = Decimal
ROUNDS = 2
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"]),
]


def _post_twice_at_once(player, url: str, data: dict, *, htmx: bool) -> list[int]:
    clients = [Client() for _ in range(2)]
    for client in clients:
        client.force_login(player)
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    results = run_in_threads(2, lambda i: clients[i].post(url, data, **headers))
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors
    return sorted(r.status_code for r in results)


def _moves(player, kind: str) -> int:
    """Ledger transactions of ``kind`` touching the player's account or sessions."""
    sessions = [f"session:{pk}" for pk in GameSession.objects.filter(player=player).values_list("pk", flat=True)]
    return (
        LedgerTransaction.objects.filter(kind=kind, entries__account__in=[f"player:{player.pk}", *sessions])
        .distinct()
        .count()
    )


def _game():
    return next(g for g in load_demo_games() if g.min_stake == D("0.10"))


def _session(player, fed: str | None = None) -> GameSession:
    session = casino_services.open_session(player=player, game=_game())
    if fed:
        casino_services.feed(session=session, amount=D(fed), idempotency_key=uuid.uuid4().hex)
    return GameSession.objects.get(pk=session.pk)


def test_double_submitted_feed_moves_money_once(htmx, assert_reconciles):
    """Proves: one feed form posted twice at once debits the account and fills the machine once."""
    for _ in range(ROUNDS):
        player = PlayerFactory(balance="100.00")
        session = _session(player)
        data = {"feed-amount": "25.00", "feed-idempotency_key": uuid.uuid4().hex}
        statuses = _post_twice_at_once(player, reverse("session_feed", args=[session.pk]), data, htmx=htmx)
        assert statuses == ([200, 200] if htmx else [302, 302])
        session.refresh_from_db()
        assert (balance_of(player=player), session.balance, session.total_fed) == (D("75.00"), D("25.00"), D("25.00"))
        assert _moves(player, LedgerTransaction.Kind.FEED) == 1
    assert_reconciles()


def test_double_submitted_spin_spins_once(htmx, assert_reconciles):
    """Proves: one spin form posted twice at once makes one spin and one stake/win movement."""
    for _ in range(ROUNDS):
        player = PlayerFactory(balance="100.00")
        session = _session(player, fed="10.00")
        data = {"spin-stake": "1.00", "spin-idempotency_key": uuid.uuid4().hex}
        statuses = _post_twice_at_once(player, reverse("session_spin", args=[session.pk]), data, htmx=htmx)
        assert statuses == ([200, 200] if htmx else [302, 302])
        session.refresh_from_db()
        assert session.spin_count == 1 and Spin.objects.filter(session=session).count() == 1
        assert session.total_staked == D("1.00")
        assert session.balance == D("9.00") + session.total_won
        assert _moves(player, LedgerTransaction.Kind.SPIN) == 1
    assert_reconciles()


def test_double_submitted_leave_cashes_out_once(htmx, assert_reconciles):
    """Proves: 'Leave and cash out' posted twice at once credits the machine balance once."""
    for _ in range(ROUNDS):
        player = PlayerFactory(balance="100.00")
        session = _session(player, fed="30.00")
        statuses = _post_twice_at_once(player, reverse("session_leave", args=[session.pk]), {}, htmx=htmx)
        assert statuses == ([200, 200] if htmx else [302, 302])  # htmx: HX-Redirect back to the page
        session.refresh_from_db()
        assert session.status == GameSession.Status.CLOSED and session.cashed_out == D("30.00")
        assert balance_of(player=player) == D("100.00")
        assert _moves(player, LedgerTransaction.Kind.CASH_OUT) == 1
    assert_reconciles()


def test_double_clicked_play_button_opens_one_session(htmx, assert_reconciles):
    """Proves: the lobby's Play button posted twice at once opens one session (the DB constraint)."""
    for _ in range(ROUNDS):
        player = PlayerFactory(balance="100.00")
        statuses = _post_twice_at_once(player, reverse("session_open", args=[_game().slug]), {}, htmx=htmx)
        assert statuses == [302, 302]
        assert GameSession.objects.filter(player=player).count() == 1
    assert_reconciles()


def test_double_submitted_bet_is_placed_once(htmx, assert_reconciles):
    """Proves: one bet slip posted twice at once takes the stake once and records one bet."""
    event = make_event()
    home, _, _ = selections(event)
    for _ in range(ROUNDS):
        player = PlayerFactory(balance="100.00")
        data = {
            "selection": home.pk,
            "expected_odds": str(home.odds),
            "stake": "12.50",
            "idempotency_key": uuid.uuid4().hex,
        }
        statuses = _post_twice_at_once(player, reverse("place_bet"), data, htmx=htmx)
        assert statuses == ([200, 200] if htmx else [302, 302])
        assert Sportsbet.objects.filter(player=player).count() == 1
        assert balance_of(player=player) == D("87.50")
        assert _moves(player, LedgerTransaction.Kind.BET_STAKE) == 1
    assert_reconciles()


def test_double_clicked_cash_out_pays_once(htmx, assert_reconciles, monkeypatch):
    """Proves: the bet page's cash-out button posted twice at once pays the payout once."""
    for _ in range(ROUNDS):
        player = PlayerFactory(balance="100.00")
        event = make_event()
        home, _, _ = selections(event)
        bet = casino_services.place_sportsbet(
            player=player, selection=home, stake=D("10.00"), idempotency_key=uuid.uuid4().hex
        )
        with monkeypatch.context() as m:
            # Keep the payout queued (no eager sweep after settling) so the player's button is what pays it.
            m.setattr(sportsbook_services, "_enqueue_payouts", lambda: None)
            casino_services.settle_event(event=event, result=result_for(event, home))
        assert Payout.objects.get(bet=bet).state == Payout.State.QUEUED
        statuses = _post_twice_at_once(player, reverse("cash_out_bet", args=[bet.pk]), {}, htmx=htmx)
        assert statuses == ([200, 200] if htmx else [302, 302])
        assert Payout.objects.get(bet=bet).state == Payout.State.PAID
        assert balance_of(player=player) == D("110.00")  # 100 - 10 stake + 20 payout
        assert _moves(player, LedgerTransaction.Kind.PAYOUT) == 1
    assert_reconciles()


def test_double_submitted_code_is_redeemed_once(htmx, assert_reconciles):
    """Proves: one redeem form posted twice at once redeems once; the other post is a clear form error."""
    for round_ in range(ROUNDS):
        code = make_code(code=f"DOUBLE{round_}{'H' if htmx else 'P'}")
        player = PlayerFactory(balance="100.00")
        statuses = _post_twice_at_once(player, reverse("redeem"), {"code": code.code.lower()}, htmx=htmx)
        assert statuses == ([200, 422] if htmx else [302, 422])
        assert Redemption.objects.filter(player=player, code=code).count() == 1
        assert balance_of(player=player) == D("110.00")
        assert _moves(player, LedgerTransaction.Kind.REDEMPTION) == 1
    assert_reconciles()
