"""Every policy check is made again inside the transaction that writes, on the rows the
write depends on.

Each test commits the conflicting change (a deactivation, an exclusion, a settlement, a
lower limit) from another connection *between* a service's check and its write, by
wrapping the check: right after the real check has passed, a thread commits the change
and we wait for it for up to ``WAIT`` seconds. If the service holds the right lock, the
thread cannot commit until the service has; if it re-checks inside its transaction, it
sees what committed. Either way the books and the rules hold afterwards.
"""

from __future__ import annotations

import contextlib
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import close_old_connections
from django.utils import timezone

from accounts import selectors as account_selectors
from accounts.exceptions import DepositLimitExceeded, PlayerBlocked
from accounts.models import SelfExclusion
from accounts.reconcile import reconcile
from accounts.services import responsible, wallet
from casino import services as casino
from casino.demo import load_demo_games
from casino.exceptions import BettingClosed, SessionClosed
from casino.models import GameSession, Spin, Sportsbet
from casino.services import sessions, sportsbook
from promotions import services as promotions
from promotions.exceptions import CodeNotActive
from promotions.models import PromotionCode, Redemption
from promotions.services import codes
from tests.factories import StaffFactory
from tests.helpers.sportsbook import make_event, result_for, selections

pytestmark = pytest.mark.django_db(transaction=True)

WAIT = 1.0  # seconds the wrapped check waits for the conflicting change to commit


def commit_after_first_check(monkeypatch, module, name: str, change) -> dict:
    """Wrap ``module.name``: the first call runs the real check, then ``change`` in a
    thread (its own connection), waiting up to ``WAIT`` s for it to commit."""
    real = getattr(module, name)
    state = {"calls": 0, "thread": None, "error": None}

    def run_change():
        try:
            change()
        except Exception as exc:  # noqa: BLE001 - reported by the test
            state["error"] = exc
        finally:
            close_old_connections()

    def wrapped(*args, **kwargs):
        result = real(*args, **kwargs)
        state["calls"] += 1
        if state["calls"] == 1:
            thread = threading.Thread(target=run_change)
            thread.start()
            thread.join(WAIT)
            state["thread"] = thread
        return result

    monkeypatch.setattr(module, name, wrapped)
    return state


def finish(state) -> None:
    if state["thread"] is not None:
        state["thread"].join(30)
        assert not state["thread"].is_alive()
    assert state["error"] is None, state["error"]
    assert reconcile().ok


@pytest.fixture
def game():
    return next(g for g in load_demo_games() if g.min_stake == Decimal("0.10"))


def _bonus_code(code="RACE10"):
    now = timezone.now()
    return promotions.issue_code(
        code=code,
        reward_kind=PromotionCode.RewardKind.BONUS,
        bonus_amount="10.00",
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=1),
    )


# --- redeem ----------------------------------------------------------------------------
def commit_before_the_transaction(monkeypatch, module, name: str, change) -> None:
    """Wrap ``module.name`` (called before the service's transaction starts): the change
    commits first, from this thread (autocommit), then the real call runs."""
    real = getattr(module, name)

    def wrapped(*args, **kwargs):
        change()
        monkeypatch.setattr(module, name, real)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapped)


def test_redeem_after_the_code_was_deactivated_pays_nothing(monkeypatch, player):
    promo = _bonus_code()
    staff = StaffFactory()
    commit_before_the_transaction(
        monkeypatch, codes, "normalize_code", lambda: promotions.deactivate_code(code=promo, actor=staff)
    )
    with pytest.raises(CodeNotActive, match="deactivated"):
        promotions.redeem(player=player, code="RACE10")
    assert not Redemption.objects.exists()
    assert account_selectors.balance_of(player=player) == Decimal("100.00")


def test_a_deactivation_racing_a_redemption_waits_for_it(monkeypatch, player):
    promo = _bonus_code()
    staff = StaffFactory()
    state = commit_after_first_check(
        monkeypatch, codes, "_insert_redemption", lambda: promotions.deactivate_code(code=promo, actor=staff)
    )
    redemption = promotions.redeem(player=player, code="RACE10")  # it had read the code active: it commits first
    finish(state)
    promo.refresh_from_db()
    assert not promo.is_active and redemption.created_at < promo.updated_at
    assert account_selectors.balance_of(player=player) == Decimal("110.00")


def test_redeem_after_an_exclusion_pays_nothing(monkeypatch, player):
    _bonus_code()
    commit_before_the_transaction(
        monkeypatch, codes, "normalize_code", lambda: responsible.self_exclude(player=player, days=30)
    )
    with pytest.raises(PlayerBlocked):
        promotions.redeem(player=player, code="RACE10")
    assert not Redemption.objects.exists()


def test_an_exclusion_racing_a_redemption_waits_for_it(monkeypatch, player):
    _bonus_code()
    state = commit_after_first_check(
        monkeypatch, codes, "_insert_redemption", lambda: responsible.self_exclude(player=player, days=30)
    )
    redemption = promotions.redeem(player=player, code="RACE10")
    finish(state)
    assert redemption.created_at < SelfExclusion.objects.get(player=player).starts_at


# --- play vs exclusion: whatever the order, no open session and no play after it ---------
def _assert_nothing_after_the_exclusion(player):
    exclusion = SelfExclusion.objects.get(player=player)
    assert not GameSession.objects.filter(player=player, status=GameSession.Status.OPEN).exists()
    assert not Spin.objects.filter(session__player=player, created_at__gt=exclusion.starts_at).exists()
    assert not Sportsbet.objects.filter(player=player, created_at__gt=exclusion.starts_at).exists()


def test_opening_a_session_racing_an_exclusion_leaves_no_open_session(monkeypatch, player, game):
    state = commit_after_first_check(
        monkeypatch, sessions, "check_can_play", lambda: responsible.self_exclude(player=player, days=30)
    )
    with contextlib.suppress(PlayerBlocked):
        casino.open_session(player=player, game=game)
    finish(state)
    _assert_nothing_after_the_exclusion(player)


def test_feeding_racing_an_exclusion_leaves_no_open_session(monkeypatch, player, game):
    session = casino.open_session(player=player, game=game)
    state = commit_after_first_check(
        monkeypatch, sessions, "check_can_play", lambda: responsible.take_a_break(player=player, days=1)
    )
    with contextlib.suppress(PlayerBlocked, SessionClosed):
        casino.feed(session=session, amount="20", idempotency_key="f")
    finish(state)
    _assert_nothing_after_the_exclusion(player)
    assert account_selectors.balance_of(player=player) == Decimal("100.00")  # fed and cashed out, or never fed


def test_spinning_racing_an_exclusion_plays_nothing_after_it(monkeypatch, player, game):
    session = casino.open_session(player=player, game=game)
    casino.feed(session=session, amount="20", idempotency_key="f")
    # The spin reads the session and passes the player's gate in one statement; then it checks the stake.
    state = commit_after_first_check(
        monkeypatch, sessions, "_check_stake", lambda: responsible.self_exclude(player=player, days=30)
    )
    with contextlib.suppress(PlayerBlocked, SessionClosed):
        casino.spin(session=session, stake="0.10", idempotency_key="s")
    finish(state)
    _assert_nothing_after_the_exclusion(player)


def test_a_session_left_open_by_a_failed_close_cannot_be_played(monkeypatch, player, game):
    """The exclusion's close may fail (logged); spins are still refused, free or paid."""
    session = casino.open_session(player=player, game=game)
    casino.feed(session=session, amount="20", idempotency_key="f")
    casino.grant_free_spins(player=player, game=game, count=3, stake="0.10", source_key="t")

    def refuse(*args, **kwargs):
        raise SessionClosed("the close failed this time")

    from accounts import hooks

    monkeypatch.setattr(hooks, "player_excluded", [refuse])
    responsible.self_exclude(player=player, days=30)
    assert GameSession.objects.get(pk=session.pk).is_open
    with pytest.raises(PlayerBlocked):
        casino.spin(session=session, stake="0.10", idempotency_key="paid")
    with pytest.raises(PlayerBlocked):
        casino.spin(session=session, idempotency_key="free", free_spin=True)
    assert not Spin.objects.exists()
    casino.leave(session=session)  # leaving (cashing out) always works
    assert account_selectors.balance_of(player=player) == Decimal("100.00")


def test_betting_racing_an_exclusion_places_nothing_after_it(monkeypatch, player):
    event = make_event()
    home, _, _ = selections(event)
    state = commit_after_first_check(
        monkeypatch, sportsbook, "check_can_play", lambda: responsible.self_exclude(player=player, days=30)
    )
    with contextlib.suppress(PlayerBlocked):
        casino.place_sportsbet(player=player, selection=home, stake="5", idempotency_key="b")
    finish(state)
    _assert_nothing_after_the_exclusion(player)


def test_betting_racing_the_settlement_settles_every_bet(monkeypatch, player):
    event = make_event()
    home, _, _ = selections(event)
    state = commit_after_first_check(
        monkeypatch, sportsbook, "_check_odds", lambda: casino.settle_event(event=event, result=result_for(event, home))
    )
    with contextlib.suppress(BettingClosed):
        casino.place_sportsbet(player=player, selection=home, stake="5", idempotency_key="b")
    finish(state)
    assert not Sportsbet.objects.filter(selection__market__event=event, status=Sportsbet.Status.OPEN).exists()


# --- deposit vs a lower limit ------------------------------------------------------------
def test_a_limit_lowered_before_the_deposit_writes_refuses_it(monkeypatch, player):
    responsible.set_deposit_limits(player=player, daily="200")  # the factory deposited 100 today
    wallet.deposit(player=player, amount="60", idempotency_key="first")
    real = wallet.check_deposit

    def lower():
        responsible.set_deposit_limits(player=player, daily="170")
        close_old_connections()

    def lowered_first(**kwargs):
        thread = threading.Thread(target=lower)
        thread.start()
        thread.join(WAIT)
        return real(**kwargs)

    monkeypatch.setattr(wallet, "check_deposit", lowered_first)
    with pytest.raises(DepositLimitExceeded):
        wallet.deposit(player=player, amount="30", idempotency_key="second")
    assert account_selectors.balance_of(player=player) == Decimal("160.00")


def test_a_limit_lowered_after_the_deposit_checked_waits_for_it(monkeypatch, player):
    responsible.set_deposit_limits(player=player, daily="200")  # the factory deposited 100 today
    wallet.deposit(player=player, amount="60", idempotency_key="first")
    state = commit_after_first_check(
        monkeypatch, wallet, "check_deposit", lambda: responsible.set_deposit_limits(player=player, daily="170")
    )
    wallet.deposit(player=player, amount="30", idempotency_key="second")  # checked against 200: allowed
    finish(state)
    # The lower limit applied after the deposit committed: no more room now.
    with pytest.raises(DepositLimitExceeded):
        wallet.deposit(player=player, amount="1", idempotency_key="third")
    assert account_selectors.balance_of(player=player) == Decimal("190.00")


# --- payouts vs sitting down: a payout never lands while the player is at a machine --------
def test_a_payout_racing_a_session_opening_lands_before_it_or_waits(monkeypatch, player, game):
    event = make_event()
    home, _, _ = selections(event)
    casino.place_sportsbet(player=player, selection=home, stake="10", idempotency_key="b")
    monkeypatch.setattr(sportsbook.transaction, "on_commit", lambda *a, **k: None)  # no eager sweep: pay by hand
    casino.settle_event(event=event, result=result_for(event, home))
    state = commit_after_first_check(
        monkeypatch, sportsbook, "hold_player", lambda: casino.open_session(player=player, game=game)
    )
    paid = casino.pay_out_player(player=player)
    finish(state)
    session = GameSession.objects.get(player=player)
    payout = home.bets.get().payout
    if paid:  # the payout held the player's gate: the session opened after it committed
        assert payout.paid_at < session.created_at
    else:  # the session opened first: the payout waits for the player to leave
        assert payout.state == payout.State.QUEUED
