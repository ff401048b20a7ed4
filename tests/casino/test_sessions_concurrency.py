"""Game sessions under real concurrency (real threads, own DB connections, PostgreSQL)."""

import io
import threading
import time
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db.models import Sum

from accounts import services as account_services
from accounts.models import Account, LedgerTransaction
from accounts.selectors import balance_of
from casino import services
from casino.exceptions import InsufficientSessionFunds, NoFreeSpins, SessionAlreadyOpen, SessionClosed
from casino.models import FreeSpinGrant, GameSession, Spin
from core import metrics
from tests.conftest import run_in_threads
from tests.factories import PlayerFactory

D = Decimal
pytestmark = pytest.mark.django_db(transaction=True)

PLAYERS = 8
SPINS_EACH = 200
STAKES = [D("0.10"), D("0.20"), D("0.50"), D("1.00")]
STARTING_BALANCE = D("100.00")
REFEED = D("5.00")


@pytest.mark.slow
def test_spins_never_touch_the_hot_account_while_deposits_hammer_it(fruit):
    """8 players x 200 spins while a 9th thread deposits to the same accounts: zero account
    conflicts (spins never write the account), and account + session = deposits - stakes + wins."""
    # Half goes into the machine, half stays in the account for re-feeds when a losing streak
    # empties the machine (the depositor may not have reached this player yet).
    players = [PlayerFactory(balance=STARTING_BALANCE) for _ in range(PLAYERS)]
    sessions = []
    for p in players:
        s = services.open_session(player=p, game=fruit)
        services.feed(session=s, amount=STARTING_BALANCE / 2, idempotency_key="start")
        sessions.append(s)
    versions_before = {p.pk: Account.objects.get(user=p).version for p in players}
    deposits = {p.pk: D("0") for p in players}
    deposit_count = {p.pk: 0 for p in players}
    spinners_done = threading.Event()
    finished = []
    lock = threading.Lock()
    metrics.reset_local()

    def spinner(i: int) -> int:
        session, done = sessions[i], 0
        try:
            for n in range(SPINS_EACH):
                stake = STAKES[n % len(STAKES)]
                try:
                    services.spin(session=session, stake=stake, idempotency_key=f"spin-{n}")
                except InsufficientSessionFunds:  # only an empty machine may refuse a spin
                    services.feed(session=session, amount=REFEED, idempotency_key=f"refeed-{n}")
                    # The refused spin moved nothing and stored nothing; the same key now spins.
                    services.spin(session=session, stake=stake, idempotency_key=f"spin-{n}")
                done += 1
        finally:
            with lock:
                finished.append(i)
                if len(finished) == PLAYERS:
                    spinners_done.set()
        return done

    def depositor() -> int:
        n = 0
        while not spinners_done.is_set():
            p = players[n % PLAYERS]
            account_services.deposit(player=p, amount=D("1.00"), idempotency_key=f"hammer-{n}")
            deposits[p.pk] += D("1.00")
            deposit_count[p.pk] += 1
            n += 1
        return n

    started = time.perf_counter()
    results = run_in_threads(PLAYERS + 1, lambda i: depositor() if i == PLAYERS else spinner(i))
    elapsed = time.perf_counter() - started
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors
    counts = metrics.local_counts()
    total_deposits = results[PLAYERS]
    assert total_deposits > PLAYERS, "the depositor must overlap the spins"
    assert counts.get("conflict:accounts.account", 0) == 0, counts
    assert counts.get("conflict:casino.gamesession", 0) == 0, counts  # one thread per session

    fed_extra = {p.pk: D("0") for p in players}
    for tx in LedgerTransaction.objects.filter(kind="feed", idempotency_key__contains=":refeed-"):
        session_id = int(tx.idempotency_key.split(":")[1])
        fed_extra[GameSession.objects.get(pk=session_id).player_id] += REFEED
    for p, s in zip(players, sessions, strict=True):
        s.refresh_from_db()
        assert s.spin_count == SPINS_EACH
        spins = Spin.objects.filter(session=s).aggregate(staked=Sum("stake"), won=Sum("win"), boost=Sum("boost"))
        account = Account.objects.get(user=p)
        # The account was written only by the deposits (plus one write per re-feed): never by a spin.
        refeeds = int(fed_extra[p.pk] / REFEED)
        assert account.version == versions_before[p.pk] + deposit_count[p.pk] + refeeds
        assert account.balance + s.balance == (
            STARTING_BALANCE + deposits[p.pk] - spins["staked"] + spins["won"] + spins["boost"]
        )
    out = io.StringIO()
    call_command("reconcile", stdout=out)
    assert "OK: the ledger reconciles" in out.getvalue()
    print(  # noqa: T201 - the numbers the report quotes
        f"\n{PLAYERS * SPINS_EACH} spins + {total_deposits} deposits in {elapsed:.1f}s "
        f"({PLAYERS * SPINS_EACH / elapsed:.0f} spins/s); conflicts: {counts}"
    )


def test_two_concurrent_leaves_cash_out_once(fruit):
    """Two threads leave the same session at once: one cash-out, one credit, same closed session."""
    player = PlayerFactory(balance="100.00")
    session = services.open_session(player=player, game=fruit)
    services.feed(session=session, amount="40.00", idempotency_key="f")
    stale = GameSession.objects.get(pk=session.pk)  # both threads start from the same open instance
    results = run_in_threads(2, lambda i: services.leave(session=stale))
    assert all(isinstance(r, GameSession) and not r.is_open for r in results), results
    assert {r.cashed_out for r in results} == {D("40.00")}
    assert LedgerTransaction.objects.filter(kind="cash_out").count() == 1
    assert balance_of(player=player) == D("100.00")


def test_a_double_clicked_spin_is_one_spin(fruit):
    """Four threads submit the same spin key at once: one spin, one ledger transaction."""
    player = PlayerFactory(balance="100.00")
    session = services.open_session(player=player, game=fruit)
    services.feed(session=session, amount="10.00", idempotency_key="f")
    results = run_in_threads(4, lambda i: services.spin(session=session, stake="1.00", idempotency_key="click"))
    assert all(isinstance(r, Spin) for r in results), results
    assert len({r.pk for r in results}) == 1
    session.refresh_from_db()
    assert session.spin_count == 1 and Spin.objects.count() == 1


def test_concurrent_free_spins_never_exceed_the_grant(fruit):
    """Six threads race for three free spins: exactly three are played."""
    player = PlayerFactory()
    session = services.open_session(player=player, game=fruit)
    services.grant_free_spins(player=player, game=fruit, count=3, stake="0.20", source_key="race")
    results = run_in_threads(
        6, lambda i: services.spin(session=session, stake=None, idempotency_key=f"f{i}", free_spin=True)
    )
    played = [r for r in results if isinstance(r, Spin)]
    refused = [r for r in results if isinstance(r, NoFreeSpins)]
    assert len(played) == 3 and len(refused) == 3, results
    assert FreeSpinGrant.objects.get().remaining == 0


def test_concurrent_opens_make_one_session(fruit):
    """Four threads open a session for one player at once: the DB constraint lets one through."""
    player = PlayerFactory()
    results = run_in_threads(4, lambda i: services.open_session(player=player, game=fruit))
    assert sum(isinstance(r, GameSession) for r in results) == 1
    assert sum(isinstance(r, SessionAlreadyOpen) for r in results) == 3
    assert GameSession.objects.filter(player=player, status="open").count() == 1


def test_a_double_clicked_play_with_a_feed_opens_once_and_feeds_once(fruit):
    """Four threads send the lobby's Play form (open and feed, one key) at once: one session,
    one feed, the account debited once, and every thread answers with that same session."""
    player = PlayerFactory(balance="100.00")
    results = run_in_threads(
        4, lambda i: services.open_and_feed(player=player, game=fruit, amount=D("30.00"), idempotency_key="play")
    )
    assert all(isinstance(r, GameSession) for r in results), results
    assert len({r.pk for r in results}) == 1
    assert GameSession.objects.filter(player=player).count() == 1
    assert GameSession.objects.get(player=player).balance == D("30.00")
    assert balance_of(player=player) == D("70.00")
    assert LedgerTransaction.objects.filter(kind="feed").count() == 1


def test_spinning_while_leaving_loses_no_money(fruit):
    """One thread spins while another leaves: spins after the close are refused; the books balance."""
    player = PlayerFactory(balance="100.00")
    session = services.open_session(player=player, game=fruit)
    services.feed(session=session, amount="50.00", idempotency_key="f")

    def work(i: int):
        if i == 1:
            time.sleep(0.05)
            return services.leave(session=session)
        outcomes = []
        for n in range(60):
            try:
                outcomes.append(services.spin(session=session, stake="0.10", idempotency_key=f"s{n}"))
            except SessionClosed:
                outcomes.append("closed")
        return outcomes

    spins, closed = run_in_threads(2, work)
    assert isinstance(closed, GameSession), closed
    closed.refresh_from_db()
    assert not closed.is_open and closed.balance == 0
    staked = Spin.objects.filter(session=session).aggregate(s=Sum("stake"))["s"] or 0
    won = Spin.objects.filter(session=session).aggregate(w=Sum("win"))["w"] or 0
    assert balance_of(player=player) == D("100.00") - staked + won
    assert closed.cashed_out == D("50.00") - staked + won
    out = io.StringIO()
    call_command("reconcile", stdout=out)
    assert "OK" in out.getvalue()
