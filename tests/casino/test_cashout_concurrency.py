"""Early cash-out races with real threads against PostgreSQL (each thread its own connection)."""

import time
import uuid
from decimal import Decimal

import pytest

from accounts.models import LedgerTransaction
from accounts.selectors import balance_of
from casino import services
from casino.exceptions import CashOutUnavailable
from casino.models import Payout, Sportsbet
from casino.services import cashout, sportsbook
from casino.services.sportsbook import Settlement
from tests.conftest import run_in_threads
from tests.factories import PlayerFactory
from tests.helpers.sportsbook import bet, make_event, result_for, selections

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


def race_cash_out_and_settlement(*, pick: int, cash_out_delay: float = 0, settle_delay: float = 0):
    """One player's 10.00 single on ``pick`` (0 home 2.00 wins, 2 away 4.00 loses) cashed out
    at its offer while another thread settles the event (home wins). Returns (cash-out result,
    settlement result, bet, player)."""
    player = PlayerFactory(balance="100.00")
    event = make_event()
    chosen = selections(event)[pick]
    placed = bet(player, chosen, "10.00")
    offer = services.cash_out_offer(placed)

    def act(i: int):
        if i == 0:
            time.sleep(cash_out_delay)
            return services.cash_out_early(bet=placed, expected_offer=offer, idempotency_key=uuid.uuid4().hex)
        time.sleep(settle_delay)
        return services.settle_event(event=event, result=result_for(event, selections(event)[0]))

    cashed, settled = run_in_threads(2, act)
    placed.refresh_from_db()
    return cashed, settled, placed, player


def assert_exactly_one_outcome(cashed, settled, placed, player) -> str:
    """Exactly one of cash-out and settlement decided the bet, one payout at most, money moved once."""
    assert isinstance(settled, Settlement), settled  # the settlement itself always succeeds
    services.pay_out_player(player=player)  # whatever is still queued (the tasks ran eagerly after commit)
    payouts = list(Payout.objects.filter(bet=placed))
    credits = LedgerTransaction.objects.filter(kind=LedgerTransaction.Kind.PAYOUT, reference=f"sportsbet:{placed.pk}")
    if isinstance(cashed, Payout):
        assert placed.status == Sportsbet.Status.CASHED_OUT and placed.cash_out_amount == cashed.amount
        assert settled.won == settled.lost == 0 and settled.payouts == 0  # the settlement skipped the bet
        assert [(p.kind, p.amount) for p in payouts] == [(Payout.Kind.CASH_OUT, cashed.amount)]
        assert credits.count() == 1 and balance_of(player=player) == D("90.00") + cashed.amount
        return "cashed_out"
    assert isinstance(cashed, CashOutUnavailable), cashed
    assert placed.status in (Sportsbet.Status.WON, Sportsbet.Status.LOST) and placed.cash_out_amount is None
    assert settled.won + settled.lost == 1
    if placed.status == Sportsbet.Status.WON:
        assert [(p.kind, p.amount) for p in payouts] == [(Payout.Kind.WIN, D("20.00"))]
        assert credits.count() == 1 and balance_of(player=player) == D("110.00")
    else:
        assert payouts == [] and credits.count() == 0 and balance_of(player=player) == D("90.00")
    return "settled"


@pytest.fixture
def slow_cash_out(monkeypatch):
    """Widen the window: the cash-out holds its share locks for a moment before writing."""
    locked = cashout._markets

    def markets(market_ids, *, lock):
        rows = locked(market_ids, lock=lock)
        if lock:
            time.sleep(0.3)
        return rows

    monkeypatch.setattr(cashout, "_markets", markets)


@pytest.fixture
def slow_settlement(monkeypatch):
    """Widen the window: the settlement holds the claimed event for a moment before settling bets."""
    settle_bets = sportsbook._settle_bets

    def slow(**kwargs):
        time.sleep(0.3)
        return settle_bets(**kwargs)

    monkeypatch.setattr(sportsbook, "_settle_bets", slow)


@pytest.mark.parametrize("pick", [0, 2], ids=["winning-pick", "losing-pick"])
def test_cash_out_holding_its_locks_wins_and_the_settlement_skips_the_bet(slow_cash_out, pick, assert_reconciles):
    """Proves: a cash-out under way makes the settlement wait, then the settlement skips the cashed-out bet."""
    outcome = assert_exactly_one_outcome(*race_cash_out_and_settlement(pick=pick, settle_delay=0.1))
    assert outcome == "cashed_out"
    assert_reconciles()


@pytest.mark.parametrize("pick", [0, 2], ids=["winning-pick", "losing-pick"])
def test_settlement_holding_the_event_wins_and_the_cash_out_is_refused(slow_settlement, pick, assert_reconciles):
    """Proves: a settlement under way makes the cash-out wait, which then sees the bet settled and moves nothing."""
    cashed, settled, placed, player = race_cash_out_and_settlement(pick=pick, cash_out_delay=0.1)
    assert assert_exactly_one_outcome(cashed, settled, placed, player) == "settled"
    assert "settled" in cashed.message
    assert_reconciles()


def test_cash_out_and_settlement_released_together_decide_each_bet_once(assert_reconciles):
    """Proves: over many free races (either may win), every bet has exactly one outcome and one payout at most."""
    outcomes = [assert_exactly_one_outcome(*race_cash_out_and_settlement(pick=i % 2 * 2)) for i in range(12)]
    assert set(outcomes) <= {"cashed_out", "settled"}
    assert_reconciles()


def test_double_submitted_cash_out_queues_one_payout_and_pays_once(player, assert_reconciles):
    """Proves: the same form posted twice at once (one key) returns one payout to both, money moves once."""
    event = make_event()
    placed = bet(player, selections(event)[0], "10.00")
    results = run_in_threads(
        2, lambda i: services.cash_out_early(bet=placed, expected_offer="9.50", idempotency_key="one-click")
    )
    assert all(isinstance(r, Payout) for r in results), results
    assert results[0].pk == results[1].pk
    assert Payout.objects.filter(bet=placed).count() == 1
    services.pay_out_player(player=player)
    assert LedgerTransaction.objects.filter(kind=LedgerTransaction.Kind.PAYOUT).count() == 1
    assert balance_of(player=player) == D("99.50")
    assert_reconciles()


def test_two_tabs_cashing_out_with_different_keys_cash_out_once(player, assert_reconciles):
    """Proves: two different cash-out requests at once: one wins, the other is refused, one payout."""
    event = make_event()
    placed = bet(player, selections(event)[0], "10.00")
    results = run_in_threads(
        4, lambda i: services.cash_out_early(bet=placed, expected_offer="9.50", idempotency_key=f"tab-{i}")
    )
    assert sum(isinstance(r, Payout) for r in results) == 1, results
    assert all(isinstance(r, CashOutUnavailable) for r in results if not isinstance(r, Payout)), results
    services.pay_out_player(player=player)
    assert Payout.objects.filter(bet=placed).count() == 1
    assert balance_of(player=player) == D("99.50")
    assert_reconciles()


@pytest.mark.parametrize("delays", [(0, 0.1), (0.1, 0)], ids=["cash-out-first", "settlement-first"])
def test_accumulator_cash_out_racing_its_last_event_settles_once(
    slow_cash_out, slow_settlement, delays, assert_reconciles
):
    """Proves: an accumulator cashed out while its last open leg's event settles is decided once, paid once."""
    player = PlayerFactory(balance="100.00")
    events = [make_event(name=f"Match {i}") for i in range(3)]
    picks = [selections(e)[0] for e in events]  # 2.00 x 3 = 8.00
    acca = services.place_accumulator(player=player, selections=picks, stake="10.00", idempotency_key="acca")
    for e in events[:2]:
        services.settle_event(event=e, result=result_for(e, selections(e)[0]))  # two legs won
    offer = services.cash_out_offer(acca)
    assert offer == D("38.00")  # 10 x 2.00 x 2.00 x 2.00 / 2.00 x 0.95
    cash_out_delay, settle_delay = delays

    def act(i: int):
        if i == 0:
            time.sleep(cash_out_delay)
            return services.cash_out_early(bet=acca, expected_offer=offer, idempotency_key="acca-cash-out")
        time.sleep(settle_delay)
        return services.settle_event(event=events[2], result=result_for(events[2], selections(events[2])[0]))

    cashed, settled = run_in_threads(2, act)
    assert isinstance(settled, Settlement), settled
    acca.refresh_from_db()
    services.pay_out_player(player=player)
    payouts = list(Payout.objects.filter(bet=acca).values_list("kind", "amount"))
    credits = LedgerTransaction.objects.filter(kind=LedgerTransaction.Kind.PAYOUT)
    if cash_out_delay == 0:
        assert isinstance(cashed, Payout) and acca.status == Sportsbet.Status.CASHED_OUT
        assert payouts == [(Payout.Kind.CASH_OUT, D("38.00"))] and settled.won == 0
        assert balance_of(player=player) == D("128.00")
    else:
        assert isinstance(cashed, CashOutUnavailable) and acca.status == Sportsbet.Status.WON
        assert payouts == [(Payout.Kind.WIN, D("80.00"))]
        assert balance_of(player=player) == D("170.00")
    assert credits.count() == 1
    assert_reconciles()
