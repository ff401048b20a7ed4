"""Concurrent double-submits of the money forms: same idempotency key, same instant, real threads."""

from decimal import Decimal

import pytest
from django.test import Client

from accounts import selectors
from accounts.models import LedgerTransaction
from tests.conftest import run_in_threads
from tests.factories import PlayerFactory

D = Decimal


def _post_twice_at_once(player, url: str, data: dict, *, htmx: bool = False) -> list:
    clients = [Client() for _ in range(2)]
    for client in clients:
        client.force_login(player)
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    return run_in_threads(2, lambda i: clients[i].post(url, data, **headers))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("htmx", [False, True])
def test_double_submitted_deposit_moves_money_once(htmx, assert_reconciles):
    """Proves: two deposit posts with one form key, released together, credit the account once."""
    for round_ in range(4):
        player = PlayerFactory(balance="100.00")
        key = f"dbl-dep-{round_}-{htmx}"
        results = _post_twice_at_once(
            player, "/wallet/deposit/", {"deposit-amount": "25.00", "deposit-idempotency_key": key}, htmx=htmx
        )
        assert all(not isinstance(r, Exception) for r in results), results
        assert [r.status_code for r in results] == ([200, 200] if htmx else [302, 302])
        assert selectors.balance_of(player=player) == D("125.00")
        assert LedgerTransaction.objects.filter(idempotency_key__endswith=f":{key}").count() == 1
    assert_reconciles()


@pytest.mark.django_db(transaction=True)
def test_double_submitted_withdrawal_moves_money_once(assert_reconciles):
    """Proves: two withdrawal posts with one form key, released together, debit the account once."""
    for round_ in range(4):
        player = PlayerFactory(balance="100.00")
        key = f"dbl-wd-{round_}"
        results = _post_twice_at_once(
            player,
            "/wallet/withdraw/",
            {"withdraw-amount": "60.00", "withdraw-idempotency_key": key, "withdraw-confirmed": "yes"},
        )
        assert [getattr(r, "status_code", r) for r in results] == [302, 302]
        assert selectors.balance_of(player=player) == D("40.00")
        assert LedgerTransaction.objects.filter(idempotency_key__endswith=f":{key}").count() == 1
    assert_reconciles()


@pytest.mark.django_db(transaction=True)
def test_two_different_withdrawals_at_once_never_overdraw(assert_reconciles):
    """Proves: two different withdrawals that together exceed the balance -> one lands, the other is a form error."""
    player = PlayerFactory(balance="100.00")
    clients = [Client() for _ in range(2)]
    for client in clients:
        client.force_login(player)
    results = run_in_threads(
        2,
        lambda i: clients[i].post(
            "/wallet/withdraw/",
            {"withdraw-amount": "70.00", "withdraw-idempotency_key": f"w-{i}", "withdraw-confirmed": "yes"},
        ),
    )
    assert sorted(r.status_code for r in results) == [302, 422]
    assert selectors.balance_of(player=player) == D("30.00")
    assert_reconciles()
