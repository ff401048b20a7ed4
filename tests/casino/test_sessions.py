"""Game-session services: open, feed, spin, free spins, win boost, leave, idle sweep.

Every rule and every bad input: a typed error, and nothing moves.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts import ledger
from accounts.exceptions import InsufficientFunds, PlayerBlocked
from accounts.models import Account, LedgerEntry, LedgerTransaction
from accounts.selectors import balance_of, ledger_balance
from casino import hooks, services
from casino.exceptions import (
    GameUnavailable,
    InsufficientSessionFunds,
    InvalidStake,
    MachineNotFed,
    NoFreeSpins,
    SessionAlreadyOpen,
    SessionClosed,
)
from casino.models import FreeSpinGrant, Game, GameSession, Spin
from core.exceptions import IdempotencyKeyReused, InvalidAmount
from core.models import AuditLog
from tests.helpers.slots import force_reels

D = Decimal


@pytest.fixture
def fed_session(player, fruit):
    session = services.open_session(player=player, game=fruit)
    services.feed(session=session, amount=D("20.00"), idempotency_key="first-feed")
    return GameSession.objects.get(pk=session.pk)


def money_snapshot(player, session):
    session.refresh_from_db()
    return (
        balance_of(player=player),
        session.balance,
        LedgerTransaction.objects.count(),
        Spin.objects.count(),
        Account.objects.get(user=player).version,
    )


# --- open ---------------------------------------------------------------------
def test_open_session_starts_empty_and_open(player, fruit):
    session = services.open_session(player=player, game=fruit)
    assert session.is_open and session.balance == 0 and session.last_activity_at is not None
    assert balance_of(player=player) == D("100.00")


def test_one_open_session_per_player(player, fruit, diamond):
    session = services.open_session(player=player, game=fruit)
    with pytest.raises(SessionAlreadyOpen):
        services.open_session(player=player, game=diamond)
    services.leave(session=session)
    assert services.open_session(player=player, game=diamond).is_open


def test_inactive_game_cannot_be_opened(player, fruit):
    Game.objects.filter(pk=fruit.pk).update(is_active=False)
    with pytest.raises(GameUnavailable):
        services.open_session(player=player, game=fruit)


def test_blocked_player_cannot_open_or_feed(player, fed_session, fruit, monkeypatch):
    from casino.services import sessions

    def blocked(*, player):
        raise PlayerBlocked("Self-excluded.")

    monkeypatch.setattr(sessions, "check_can_play", blocked)
    with pytest.raises(PlayerBlocked):
        services.feed(session=fed_session, amount="5", idempotency_key="blocked")
    services.leave(session=fed_session)
    with pytest.raises(PlayerBlocked):
        services.open_session(player=player, game=fruit)


def test_open_and_close_call_vendor_promotion_hooks(player, fruit, monkeypatch):
    calls = []
    monkeypatch.setattr(hooks, "session_opened", [lambda session: calls.append(("opened", session.pk))])
    monkeypatch.setattr(hooks, "session_closed", [lambda session: calls.append(("closed", session.status))])
    session = services.open_session(player=player, game=fruit)
    services.leave(session=session)
    assert calls == [("opened", session.pk), ("closed", "closed")]


# --- feed ---------------------------------------------------------------------
def test_feed_moves_money_from_account_to_session_once(player, fruit, assert_reconciles):
    session = services.open_session(player=player, game=fruit)
    tx = services.feed(session=session, amount="25.50", idempotency_key="k1")
    again = services.feed(session=session, amount="25.50", idempotency_key="k1")
    assert again.pk == tx.pk and tx.kind == LedgerTransaction.Kind.FEED
    session.refresh_from_db()
    assert session.balance == session.total_fed == D("25.50")
    assert balance_of(player=player) == D("74.50")
    assert ledger_balance(session.ledger_code) == D("25.50")
    assert tx.idempotency_key == f"feed:{session.pk}:k1"
    assert_reconciles()


# --- open and feed in one step (the lobby's Play form) ------------------------------
def test_open_and_feed_opens_the_machine_with_the_amount_in_it(player, fruit, assert_reconciles):
    session = services.open_and_feed(player=player, game=fruit, amount=D("30.00"), idempotency_key="play-1")
    session.refresh_from_db()
    assert session.is_open and session.balance == session.total_fed == D("30.00")
    assert balance_of(player=player) == D("70.00")
    assert_reconciles()


def test_open_and_feed_sent_twice_opens_once_and_feeds_once(player, fruit, assert_reconciles):
    first = services.open_and_feed(player=player, game=fruit, amount=D("30.00"), idempotency_key="play-1")
    again = services.open_and_feed(player=player, game=fruit, amount=D("30.00"), idempotency_key="play-1")
    assert again.pk == first.pk
    assert GameSession.objects.filter(player=player).count() == 1
    assert balance_of(player=player) == D("70.00")
    assert LedgerTransaction.objects.filter(kind="feed").count() == 1
    assert_reconciles()


def test_open_and_feed_refuses_while_a_session_is_open_on_another_game(player, fruit, diamond):
    services.open_session(player=player, game=diamond)
    with pytest.raises(SessionAlreadyOpen):
        services.open_and_feed(player=player, game=fruit, amount=D("10.00"), idempotency_key="play-1")
    assert balance_of(player=player) == D("100.00")


def test_open_and_feed_without_an_amount_opens_unfed(player, fruit):
    session = services.open_and_feed(player=player, game=fruit, amount=None, idempotency_key="play-1")
    assert session.is_open and session.balance == 0
    assert balance_of(player=player) == D("100.00")


def test_open_and_feed_refused_feed_leaves_the_machine_open_and_unfed(player, fruit):
    with pytest.raises(MachineNotFed) as caught:
        services.open_and_feed(player=player, game=fruit, amount=D("100.01"), idempotency_key="play-1")
    assert isinstance(caught.value.reason, InsufficientFunds)
    session = GameSession.objects.get(pk=caught.value.session.pk)
    assert session.is_open and session.balance == 0
    assert balance_of(player=player) == D("100.00")


def test_feed_more_than_the_account_holds(player, fruit):
    session = services.open_session(player=player, game=fruit)
    with pytest.raises(InsufficientFunds):
        services.feed(session=session, amount="100.01", idempotency_key="too-much")
    session.refresh_from_db()
    assert session.balance == 0 and balance_of(player=player) == D("100.00")
    assert not LedgerTransaction.objects.filter(kind="feed").exists()


@pytest.mark.parametrize("amount", ["-5", "0", "abc", "1.001", "1e3", "", "NaN", 1.5, "١٠", "1,000", None])
def test_feed_bad_amounts(fed_session, player, amount):
    before = money_snapshot(player, fed_session)
    with pytest.raises(InvalidAmount):
        services.feed(session=fed_session, amount=amount, idempotency_key="bad")
    assert money_snapshot(player, fed_session) == before


def test_feed_closed_session(player, fed_session):
    services.leave(session=fed_session)
    with pytest.raises(SessionClosed):
        services.feed(session=fed_session, amount="5", idempotency_key="late")
    assert GameSession.objects.get(pk=fed_session.pk).balance == 0


# --- spin ---------------------------------------------------------------------
def test_losing_spin_changes_only_the_session(player, fed_session, monkeypatch, assert_reconciles):
    force_reels(monkeypatch, "lemon", "orange", "plum")
    account_before = Account.objects.get(user=player)
    spin = services.spin(session=fed_session, stake="1.00", idempotency_key="s1")
    assert (spin.stake, spin.win, spin.balance_after) == (D("1.00"), D("0.00"), D("19.00"))
    assert spin.symbols == ["lemon", "orange", "plum"]
    account_after = Account.objects.get(user=player)
    assert (account_after.balance, account_after.version) == (account_before.balance, account_before.version)
    fed_session.refresh_from_db()
    assert (fed_session.balance, fed_session.total_staked, fed_session.spin_count) == (D("19.00"), D("1.00"), 1)
    legs = sorted(
        LedgerEntry.objects.filter(transaction__idempotency_key=f"spin:{fed_session.pk}:s1").values_list(
            "account", "amount"
        )
    )
    assert legs == sorted([(fed_session.ledger_code, D("-1.00")), (ledger.SYSTEM_HOUSE, D("1.00"))])
    assert_reconciles()


def test_winning_spin_is_paid_by_the_house(player, fed_session, monkeypatch, assert_reconciles):
    force_reels(monkeypatch, "seven", "seven", "seven")
    spin = services.spin(session=fed_session, stake="0.50", idempotency_key="jackpot")
    assert spin.win == D("150.00") and spin.boost == 0
    fed_session.refresh_from_db()
    assert fed_session.balance == D("20.00") - D("0.50") + D("150.00")
    assert fed_session.total_won == D("150.00") and fed_session.net_result == D("149.50")
    assert ledger_balance(ledger.SYSTEM_HOUSE) == D("-149.50")
    assert balance_of(player=player) == D("80.00")
    assert_reconciles()


def test_win_equal_to_stake_still_posts_a_balanced_transaction(player, fruit, monkeypatch, assert_reconciles):
    # The paytable is edited before the session opens: it cannot change while one is open (issue 13).
    Game.objects.filter(pk=fruit.pk).update(
        paytable=fruit.paytable + [{"line": ["orange", "orange", "plum"], "pays": 1}]
    )
    fed_session = services.open_session(player=player, game=fruit)
    services.feed(session=fed_session, amount=D("20.00"), idempotency_key="first-feed")
    force_reels(monkeypatch, "orange", "orange", "plum")
    spin = services.spin(session=fed_session, stake="2.00", idempotency_key="even")
    assert spin.win == spin.stake == D("2.00")
    assert LedgerTransaction.objects.filter(idempotency_key=f"spin:{fed_session.pk}:even").exists()
    assert_reconciles()


def test_replayed_spin_key_returns_the_same_spin_and_moves_nothing(player, fed_session):
    first = services.spin(session=fed_session, stake="1.00", idempotency_key="same")
    before = money_snapshot(player, fed_session)
    again = services.spin(session=fed_session, stake="1.00", idempotency_key="same")
    assert again.pk == first.pk and again.stake == D("1.00")
    # Stripe's rule (issue 13): the same key with another stake is refused, never answered with the first spin.
    with pytest.raises(IdempotencyKeyReused):
        services.spin(session=fed_session, stake="3.00", idempotency_key="same")
    assert money_snapshot(player, fed_session) == before


def test_spin_with_a_stale_session_instance_rereads(fed_session):
    stale = GameSession.objects.get(pk=fed_session.pk)
    services.spin(session=fed_session, stake="1.00", idempotency_key="a")
    services.spin(session=stale, stake="1.00", idempotency_key="b")  # stale version: re-read, no conflict escapes
    fed_session.refresh_from_db()
    assert fed_session.spin_count == 2 and fed_session.total_staked == D("2.00")


def test_spin_updates_last_activity(fed_session):
    GameSession.objects.filter(pk=fed_session.pk).update(last_activity_at=timezone.now() - timedelta(hours=1))
    services.spin(session=fed_session, stake="1.00", idempotency_key="x")
    fed_session.refresh_from_db()
    assert timezone.now() - fed_session.last_activity_at < timedelta(minutes=1)


@pytest.mark.parametrize(
    ("stake", "error"),
    [
        ("0.09", InvalidStake),  # below Fruit Frenzy's minimum
        ("5.01", InvalidStake),  # above its maximum
        ("20.01", InvalidStake),  # above max (and more than the session holds)
        ("-1", InvalidAmount),
        ("0", InvalidAmount),
        ("abc", InvalidAmount),
        ("1.005", InvalidAmount),
        ("1e1", InvalidAmount),
        (0.5, InvalidAmount),
        (None, InvalidAmount),
    ],
)
def test_spin_bad_stakes(player, fed_session, stake, error):
    before = money_snapshot(player, fed_session)
    with pytest.raises(error):
        services.spin(session=fed_session, stake=stake, idempotency_key="bad")
    assert money_snapshot(player, fed_session) == before


def test_stake_more_than_the_session_holds(player, diamond):
    session = services.open_session(player=player, game=diamond)
    services.feed(session=session, amount="3.00", idempotency_key="f")
    before = money_snapshot(player, session)
    with pytest.raises(InsufficientSessionFunds):
        services.spin(session=session, stake="3.01", idempotency_key="over")
    assert money_snapshot(player, session) == before


def test_spin_on_a_closed_session(player, fed_session):
    services.leave(session=fed_session)
    before = money_snapshot(player, fed_session)
    with pytest.raises(SessionClosed):
        services.spin(session=fed_session, stake="1.00", idempotency_key="late")
    assert money_snapshot(player, fed_session) == before


def test_empty_idempotency_key_is_refused(fed_session):
    with pytest.raises(Exception, match="expired"):
        services.spin(session=fed_session, stake="1.00", idempotency_key="")


# --- win boost ----------------------------------------------------------------
def test_win_boost_is_rounded_down_and_paid_by_promotions(fed_session, monkeypatch, assert_reconciles):
    monkeypatch.setattr(hooks, "win_boost", [lambda game, at: D("12.5")])
    force_reels(monkeypatch, "cherry", "lemon", "lemon")  # cherry anywhere on reel one pays 2x
    spin = services.spin(session=fed_session, stake="0.33", idempotency_key="boosted")
    assert spin.win == D("0.66")
    assert spin.boost == D("0.08")  # 0.0825 rounded down
    fed_session.refresh_from_db()
    assert fed_session.balance == D("20.00") - D("0.33") + D("0.66") + D("0.08")
    assert ledger_balance(ledger.SYSTEM_PROMOTIONS) == D("-0.08")
    assert_reconciles()


def test_no_boost_on_a_losing_spin(fed_session, monkeypatch):
    monkeypatch.setattr(hooks, "win_boost", [lambda game, at: D("50")])
    force_reels(monkeypatch, "lemon", "orange", "plum")
    assert services.spin(session=fed_session, stake="1.00", idempotency_key="l").boost == 0


# --- free spins ---------------------------------------------------------------
def test_grant_free_spins_is_idempotent_by_source_key(player, fruit):
    grant = services.grant_free_spins(player=player, game=fruit, count=5, stake="0.20", source_key="code:1")
    again = services.grant_free_spins(player=player, game=fruit, count=9, stake="1.00", source_key="code:1")
    assert again.pk == grant.pk and FreeSpinGrant.objects.count() == 1
    assert (grant.granted, grant.remaining, grant.stake) == (5, 5, D("0.20"))


@pytest.mark.parametrize(
    ("count", "stake"), [(0, "1"), (-1, "1"), ("3", "1"), (1001, "1"), (True, "1"), (3, "-1"), (3, "x")]
)
def test_grant_free_spins_bad_input(player, fruit, count, stake):
    with pytest.raises(InvalidAmount):
        services.grant_free_spins(player=player, game=fruit, count=count, stake=stake, source_key="bad")
    assert not FreeSpinGrant.objects.exists()


def test_free_spin_costs_nothing_and_wins_come_from_promotions(player, fruit, monkeypatch, assert_reconciles):
    session = services.open_session(player=player, game=fruit)  # an empty machine can still free-spin
    services.grant_free_spins(player=player, game=fruit, count=2, stake="0.50", source_key="promo:7")
    force_reels(monkeypatch, "bell", "bell", "bell")
    spin = services.spin(session=session, stake=None, idempotency_key="free1", free_spin=True)
    assert spin.free_spin and spin.stake == D("0.50") and spin.win == D("30.00")
    session.refresh_from_db()
    assert session.balance == D("30.00") and session.total_staked == 0 and session.total_won == D("30.00")
    assert FreeSpinGrant.objects.get(source_key="promo:7").remaining == 1
    assert ledger_balance(ledger.SYSTEM_PROMOTIONS) == D("-30.00")
    assert ledger_balance(ledger.SYSTEM_HOUSE) == 0
    assert_reconciles()


def test_losing_free_spin_moves_no_money_and_replay_uses_no_second_spin(player, fruit, monkeypatch):
    session = services.open_session(player=player, game=fruit)
    services.grant_free_spins(player=player, game=fruit, count=1, stake="1.00", source_key="promo:8")
    force_reels(monkeypatch, "lemon", "orange", "plum")
    first = services.spin(session=session, stake=None, idempotency_key="f", free_spin=True)
    again = services.spin(session=session, stake=None, idempotency_key="f", free_spin=True)
    assert again.pk == first.pk and first.win == 0
    assert not LedgerTransaction.objects.filter(kind="spin").exists()
    with pytest.raises(NoFreeSpins):
        services.spin(session=session, stake=None, idempotency_key="g", free_spin=True)
    assert FreeSpinGrant.objects.get().remaining == 0


def test_free_spins_are_per_game_and_expire(player, fruit, diamond):
    session = services.open_session(player=player, game=fruit)
    services.grant_free_spins(player=player, game=diamond, count=3, stake="1.00", source_key="other-game")
    services.grant_free_spins(
        player=player, game=fruit, count=3, stake="1.00", source_key="old", expires_at=timezone.now() - timedelta(1)
    )
    with pytest.raises(NoFreeSpins):
        services.spin(session=session, stake=None, idempotency_key="f", free_spin=True)


# --- leave --------------------------------------------------------------------
def test_leave_cashes_out_the_whole_balance_in_one_credit(
    player, fed_session, monkeypatch, assert_reconciles, django_capture_on_commit_callbacks
):
    from casino import tasks

    enqueued = []
    monkeypatch.setattr(tasks.pay_out_player, "delay", lambda player_id: enqueued.append(player_id))
    force_reels(monkeypatch, "seven", "seven", "seven")
    services.spin(session=fed_session, stake="0.10", idempotency_key="w")  # wins 30.00
    account_version = Account.objects.get(user=player).version
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        closed = services.leave(session=fed_session)
        assert enqueued == []  # the payout task is enqueued only after commit
    assert len(callbacks) == 1 and enqueued == [player.pk]
    assert closed.status == "closed" and closed.close_reason == "left" and closed.closed_at
    assert closed.balance == 0 and closed.cashed_out == D("49.90")
    assert balance_of(player=player) == D("80.00") + D("49.90")
    assert Account.objects.get(user=player).version == account_version + 1  # one account write
    assert LedgerTransaction.objects.filter(kind="cash_out", idempotency_key=f"cashout:{closed.pk}").count() == 1
    assert_reconciles()


def test_leave_twice_cashes_out_once(player, fed_session):
    services.leave(session=fed_session)
    again = services.leave(session=fed_session)  # a stale instance that still says "open"
    assert again.cashed_out == D("20.00")
    assert balance_of(player=player) == D("100.00")
    assert LedgerTransaction.objects.filter(kind="cash_out").count() == 1


def test_leave_an_empty_session_posts_nothing(player, fruit):
    session = services.open_session(player=player, game=fruit)
    closed = services.leave(session=session)
    assert closed.cashed_out == 0 and not LedgerTransaction.objects.filter(kind="cash_out").exists()


def test_staff_close_writes_an_audit_row(staff, fed_session):
    closed = services.leave(session=fed_session, reason=GameSession.CloseReason.STAFF, actor=staff)
    assert closed.close_reason == "staff"
    row = AuditLog.objects.get(action="session.close_and_cash_out")
    assert row.actor == staff and row.target == fed_session.ledger_code and row.details["cashed_out"] == "20.00"


# --- idle sweep ---------------------------------------------------------------
def test_idle_sessions_are_closed_and_cashed_out(player, other_player, fed_session, diamond, assert_reconciles):
    busy = services.open_session(player=other_player, game=diamond)
    services.feed(session=busy, amount="10", idempotency_key="b")
    GameSession.objects.filter(pk=fed_session.pk).update(last_activity_at=timezone.now() - timedelta(minutes=16))
    GameSession.objects.filter(pk=busy.pk).update(last_activity_at=timezone.now() - timedelta(minutes=14))
    closed = services.close_idle_sessions(idle_for=timedelta(minutes=15))
    assert [s.pk for s in closed] == [fed_session.pk]
    assert closed[0].close_reason == "idle" and closed[0].cashed_out == D("20.00")
    assert balance_of(player=player) == D("100.00")
    assert GameSession.objects.get(pk=busy.pk).is_open
    assert services.close_idle_sessions(idle_for=timedelta(minutes=15)) == []
    assert_reconciles()


def test_idle_close_skips_a_session_played_since_it_was_selected(fed_session):
    cutoff = timezone.now() - timedelta(minutes=15)
    GameSession.objects.filter(pk=fed_session.pk).update(last_activity_at=cutoff - timedelta(minutes=1))
    services.spin(session=fed_session, stake="1.00", idempotency_key="just-in-time")
    result = services.leave(session=fed_session, reason=GameSession.CloseReason.IDLE, idle_before=cutoff)
    assert result.is_open


def test_idle_sweep_task_uses_the_setting(player, fed_session, settings):
    from casino import tasks

    settings.SESSION_IDLE_MINUTES = 5
    GameSession.objects.filter(pk=fed_session.pk).update(last_activity_at=timezone.now() - timedelta(minutes=6))
    assert tasks.close_idle_sessions.delay().get() == 1
    assert not GameSession.objects.get(pk=fed_session.pk).is_open


def test_other_players_money_is_untouched(player, other_player, fed_session):
    services.spin(session=fed_session, stake="1.00", idempotency_key="x")
    services.leave(session=fed_session)
    assert balance_of(player=other_player) == D("100.00")
