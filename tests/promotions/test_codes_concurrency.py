"""Promotion-code redemption under real concurrency (real threads, real PostgreSQL)."""

from collections import Counter
from decimal import Decimal

import pytest
from django.db.models import Count

from accounts import ledger
from accounts.models import LedgerTransaction, User
from accounts.selectors import balance_of, ledger_balance
from accounts.services import create_player
from bench.baselines import redeem_with_code_lock
from promotions import services
from promotions.exceptions import AlreadyRedeemed, LimitReached
from promotions.models import LimitToken, Redemption
from tests.conftest import run_in_threads
from tests.factories import PASSWORD, StaffFactory
from tests.helpers.codes import code_row_stamp, make_code

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

THREADS = 32


def make_players(count: int, prefix: str) -> list[User]:
    return [create_player(username=f"{prefix}{i}", password=PASSWORD) for i in range(count)]


def storm(players: list[User], code: str, *, threads: int = THREADS, redeem=services.redeem) -> list:
    """``threads`` real threads released at once, sharing the players between them; one result per player."""

    def work(t: int) -> list:
        out = []
        for player in players[t::threads]:
            try:
                out.append(redeem(player=player, code=code))
            except Exception as exc:  # noqa: BLE001 - counted by the test
                out.append(exc)
        return out

    per_thread = run_in_threads(threads, work)
    for r in per_thread:
        assert isinstance(r, list), f"a thread crashed: {r!r}"
    return [item for chunk in per_thread for item in chunk]


def test_storm_unlimited_code_500_players_32_threads(assert_reconciles):
    """Proves: 500 concurrent redemptions of one unlimited code all succeed, none twice, the code row never written."""
    promo = make_code(code="STORM", bonus_amount=Decimal("5.00"))
    players = make_players(500, "storm")
    before = code_row_stamp(promo)

    results = storm(players, "storm")

    errors = [r for r in results if not isinstance(r, Redemption)]
    assert errors == []
    assert Redemption.objects.filter(code=promo).count() == 500
    dupes = Redemption.objects.values("code", "player").annotate(n=Count("id")).filter(n__gt=1)
    assert not dupes.exists()
    assert code_row_stamp(promo) == before  # same xmin, updated_at and version: no write to the code row
    rewards = LedgerTransaction.objects.filter(kind="redemption", idempotency_key__startswith="redemption:STORM:")
    assert rewards.count() == 500
    assert ledger_balance(ledger.SYSTEM_PROMOTIONS) == Decimal("-2500.00")
    assert {balance_of(player=p) for p in players} == {Decimal("5.00")}
    assert_reconciles()


def test_same_player_from_16_threads_redeems_exactly_once(player, assert_reconciles):
    """Proves: the (code, player) unique constraint lets exactly one of 16 simultaneous attempts through."""
    promo = make_code(code="RACE", bonus_amount=Decimal("7.50"))

    results = run_in_threads(16, lambda i: services.redeem(player=player, code="race"))

    kinds = Counter(type(r).__name__ for r in results)
    assert kinds == {"Redemption": 1, "AlreadyRedeemed": 15}, kinds
    assert Redemption.objects.filter(code=promo, player=player).count() == 1
    assert LedgerTransaction.objects.filter(idempotency_key=f"redemption:RACE:{player.pk}").count() == 1
    assert balance_of(player=player) == Decimal("107.50")
    assert_reconciles()


def test_strict_limit_50_with_300_concurrent_players_gives_exactly_50(assert_reconciles):
    """Proves: strict limit tokens with SKIP LOCKED never go over the limit and never under-fill it."""
    promo = make_code(code="STRICT50", limit_policy="strict", limit=50)
    players = make_players(300, "strict")
    before = code_row_stamp(promo)

    results = storm(players, "STRICT50")

    won = [r for r in results if isinstance(r, Redemption)]
    refused = [r for r in results if isinstance(r, LimitReached)]
    assert len(won) == 50 and len(refused) == 250, Counter(type(r).__name__ for r in results)
    assert Redemption.objects.filter(code=promo).count() == 50
    assert LimitToken.objects.filter(code=promo, redemption__isnull=True).count() == 0
    assert LimitToken.objects.filter(code=promo).values("redemption").distinct().count() == 50
    assert code_row_stamp(promo) == before
    assert ledger_balance(ledger.SYSTEM_PROMOTIONS) == Decimal("-500.00")
    assert_reconciles()


def test_overbook_limit_50_overshoots_by_less_than_the_thread_count_and_the_admin_shows_it(client):
    """Proves: overbook reads the count without a lock; concurrent redeemers overshoot by at most N-1, reported."""
    promo = make_code(code="OVER50", limit_policy="overbook", limit=50)
    players = make_players(300, "over")
    before = code_row_stamp(promo)

    results = storm(players, "OVER50")

    won = sum(isinstance(r, Redemption) for r in results)
    assert all(isinstance(r, Redemption | LimitReached) for r in results)
    redeemed = Redemption.objects.filter(code=promo).count()
    assert redeemed == won
    overshoot = redeemed - 50
    assert 0 <= overshoot < THREADS, overshoot
    assert code_row_stamp(promo) == before
    print(f"overbook: {redeemed} redemptions for limit 50 with {THREADS} threads (overshoot {overshoot})")

    client.force_login(StaffFactory())
    page = client.get("/admin/promotions/promotioncode/").content.decode()
    row = page[page.index("OVER50") :]
    row = row[: row.index("</tr>")]
    assert f'<td class="field-redeemed">{redeemed}</td>' in row
    assert '<td class="field-limit">50</td>' in row
    if overshoot:
        assert f"+{overshoot}" in row
    else:
        assert '<td class="field-overshoot">0</td>' in row


def test_same_player_strict_code_from_16_threads(player):
    """Proves: a player racing themselves on a strict code takes one token, and the rest hear 'already redeemed'."""
    promo = make_code(code="STRICTRACE", limit_policy="strict", limit=3)

    results = run_in_threads(16, lambda i: services.redeem(player=player, code="strictrace"))

    assert sum(isinstance(r, Redemption) for r in results) == 1
    assert all(isinstance(r, Redemption | AlreadyRedeemed) for r in results)
    assert LimitToken.objects.filter(code=promo, redemption__isnull=False).count() == 1


def test_code_lock_baseline_is_strict_too():
    """Proves: the benchmark baseline (one row lock on the code) is correct, so benchmarks compare like with like."""
    promo = make_code(code="BASE20", limit_policy="overbook", limit=20)
    players = make_players(60, "base")

    results = storm(players, "BASE20", threads=16, redeem=redeem_with_code_lock)

    assert sum(isinstance(r, Redemption) for r in results) == 20
    assert Redemption.objects.filter(code=promo).count() == 20
