from decimal import Decimal

import pytest
from django.db import transaction

from accounts.models import Account
from core import metrics
from core.exceptions import ConcurrencyConflict
from core.versioning import retry_on_conflict, versioned_update

pytestmark = pytest.mark.django_db


def test_versioned_update_bumps_version(player):
    account = Account.objects.get(user=player)
    new_version = versioned_update(Account, pk=account.pk, version=account.version, balance=Decimal("1.00"))
    account.refresh_from_db()
    assert (account.version, new_version, account.balance) == (new_version, new_version, Decimal("1.00"))


def test_stale_version_raises_typed_conflict_and_writes_nothing(player):
    account = Account.objects.get(user=player)
    stale = account.version
    versioned_update(Account, pk=account.pk, version=stale, balance=Decimal("5.00"))
    metrics.reset_local()
    with pytest.raises(ConcurrencyConflict) as info:
        versioned_update(Account, pk=account.pk, version=stale, balance=Decimal("999.00"))
    assert info.value.label == "accounts.account"
    assert info.value.pk == account.pk
    account.refresh_from_db()
    assert account.balance == Decimal("5.00")
    assert metrics.local_counts()["conflict:accounts.account"] == 1


def test_retry_re_runs_until_success_and_counts_retries(player):
    account = Account.objects.get(user=player)
    calls = []

    def operation():
        current = Account.objects.get(pk=account.pk)  # re-read on every attempt
        if not calls:  # first try: somebody else writes between our read and our write
            versioned_update(Account, pk=account.pk, version=current.version, balance=current.balance + 1)
        calls.append(current.version)
        with transaction.atomic():
            return versioned_update(Account, pk=account.pk, version=current.version, balance=current.balance + 10)

    metrics.reset_local()
    retry_on_conflict(operation, base_delay=0)
    account.refresh_from_db()
    assert account.balance == Decimal("111.00")
    assert len(calls) == 2
    assert metrics.local_counts()["retry:accounts.account"] == 1


def test_retry_gives_up_after_bounded_attempts(player):
    account = Account.objects.get(user=player)
    attempts = []

    def always_stale():
        attempts.append(1)
        versioned_update(Account, pk=account.pk, version=-1, balance=Decimal("0"))

    metrics.reset_local()
    with pytest.raises(ConcurrencyConflict):
        retry_on_conflict(always_stale, attempts=4, base_delay=0)
    assert len(attempts) == 4
    counts = metrics.local_counts()
    assert counts["retry:accounts.account"] == 3
    assert counts["exhausted:accounts.account"] == 1


def test_conflicts_are_visible_to_other_processes_through_redis(player):
    account = Account.objects.get(user=player)
    before = metrics.shared_counts().get("conflict:accounts.account", 0)
    with pytest.raises(ConcurrencyConflict):
        versioned_update(Account, pk=account.pk, version=account.version + 7, balance=Decimal("0"))
    assert metrics.shared_counts()["conflict:accounts.account"] == before + 1
    assert metrics.recent_events(1)[0][1:3] == ("conflict", "accounts.account")
