from decimal import Decimal

import pytest

from accounts import ledger, selectors, services
from accounts.exceptions import InsufficientFunds
from accounts.models import Account, LedgerEntry, LedgerTransaction
from core.exceptions import InvalidAmount
from core.idempotency import client_key
from tests.factories import PlayerFactory

pytestmark = pytest.mark.django_db


def test_create_player_creates_an_empty_account():
    user = services.create_player(username="newbie", password="a-very-long-pass-42")
    assert Account.objects.get(user=user).balance == Decimal("0.00")


def test_create_player_rejects_weak_password():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.create_player(username="weakling", password="12345")
    assert not Account.objects.exists()


def test_deposit_credits_account_and_posts_balanced_entries(player, assert_reconciles):
    tx = services.deposit(player=player, amount="25.50", idempotency_key="k1")
    assert selectors.balance_of(player=player) == Decimal("125.50")
    legs = {e.account: e.amount for e in tx.entries.all()}
    assert legs == {f"player:{player.pk}": Decimal("25.50"), ledger.SYSTEM_CASH: Decimal("-25.50")}
    assert tx.kind == LedgerTransaction.Kind.DEPOSIT
    assert_reconciles()


def test_deposit_replay_with_same_key_moves_money_once(player):
    first = services.deposit(player=player, amount=Decimal("10"), idempotency_key="same")
    again = services.deposit(player=player, amount=Decimal("10"), idempotency_key="same")
    assert first.pk == again.pk
    assert selectors.balance_of(player=player) == Decimal("110.00")
    assert LedgerTransaction.objects.filter(idempotency_key__endswith=":same").count() == 1


def test_same_key_from_two_players_is_two_transactions(player, other_player):
    a = services.deposit(player=player, amount="5", idempotency_key="shared-key")
    b = services.deposit(player=other_player, amount="5", idempotency_key="shared-key")
    assert a.pk != b.pk
    assert selectors.balance_of(player=other_player) == Decimal("105.00")


def test_withdraw_debits_account(player, assert_reconciles):
    services.withdraw(player=player, amount="40.25", idempotency_key="w1")
    assert selectors.balance_of(player=player) == Decimal("59.75")
    assert_reconciles()


def test_withdraw_whole_balance_is_allowed(player):
    services.withdraw(player=player, amount="100.00", idempotency_key="all")
    assert selectors.balance_of(player=player) == Decimal("0.00")


def test_withdraw_more_than_balance_is_refused_and_moves_nothing(player):
    entries_before = LedgerEntry.objects.count()
    with pytest.raises(InsufficientFunds):
        services.withdraw(player=player, amount="100.01", idempotency_key="too-much")
    assert selectors.balance_of(player=player) == Decimal("100.00")
    assert LedgerEntry.objects.count() == entries_before
    assert not LedgerTransaction.objects.filter(idempotency_key__endswith=":too-much").exists()


@pytest.mark.parametrize(
    "amount",
    [
        0,
        "0",
        "0.00",
        "-1",
        Decimal("-5"),
        Decimal("-0"),
        "1.001",
        Decimal("0.001"),
        "NaN",
        Decimal("NaN"),
        Decimal("Infinity"),
        "inf",
        "1e3",
        "1,000",
        "١٢",
        "",
        "  ",
        "abc",
        1.5,
        True,
        None,
        "100000.01",
        Decimal("1E+40"),
        "99999999999999999",
    ],
)
def test_bad_amounts_are_refused_with_invalid_amount(player, amount):
    before = selectors.balance_of(player=player)
    with pytest.raises(InvalidAmount):
        services.deposit(player=player, amount=amount, idempotency_key=f"bad-{amount!r}")
    with pytest.raises(InvalidAmount):
        services.withdraw(player=player, amount=amount, idempotency_key=f"bad-w-{amount!r}")
    assert selectors.balance_of(player=player) == before


def test_amount_at_the_configured_maximum_is_accepted(player, settings):
    settings.MAX_TRANSACTION_AMOUNT = Decimal("500.00")
    services.deposit(player=player, amount="500.00", idempotency_key="max")
    with pytest.raises(InvalidAmount, match="at most 500"):
        services.deposit(player=player, amount="500.01", idempotency_key="over-max")


def test_deposit_for_user_without_account_creates_it():
    from accounts.models import User

    user = User.objects.create_user(username="legacy", password="x-very-long-pass")
    services.deposit(player=user, amount="3", idempotency_key="first")
    assert selectors.balance_of(player=user) == Decimal("3.00")


def test_statement_lists_newest_first_with_transactions(player, django_assert_max_num_queries):
    services.withdraw(player=player, amount="1", idempotency_key="w")
    services.deposit(player=player, amount="2", idempotency_key="d")
    with django_assert_max_num_queries(1):
        rows = [(e.transaction.kind, e.amount) for e in selectors.statement(player=player)]
    assert rows == [("deposit", Decimal("2.00")), ("withdrawal", Decimal("-1.00")), ("deposit", Decimal("100.00"))]


def test_ledger_post_refuses_unbalanced_entries():
    with pytest.raises(ValueError, match="unbalanced"):
        ledger.post(kind="adjustment", idempotency_key="x", entries=[("player:1", Decimal("1"))])


def test_balances_from_players_are_independent():
    a = PlayerFactory(balance="10")
    b = PlayerFactory(balance="20")
    services.withdraw(player=a, amount="10", idempotency_key="x")
    assert selectors.balance_of(player=b) == Decimal("20.00")


@pytest.mark.parametrize("key", ["", "   ", None, "a\x00b", "tab\there", "line\nbreak"])
def test_unusable_idempotency_keys_are_a_typed_error_everywhere(player, key):
    from core.exceptions import InvalidIdempotencyKey

    with pytest.raises(InvalidIdempotencyKey):
        services.deposit(player=player, amount="1", idempotency_key=key)
    with pytest.raises(InvalidIdempotencyKey):
        client_key(key)
    assert selectors.balance_of(player=player) == Decimal("100.00")


def test_usernames_are_unique_whatever_their_case(db):
    """Two sign-ups as "Alice" and "alice" racing past the form's check: the database decides."""
    from django.db import IntegrityError, transaction

    from accounts.exceptions import UsernameTaken
    from accounts.models import User

    services.create_player(username="Alice", password="a-long-enough-passphrase")
    with pytest.raises(UsernameTaken):
        services.create_player(username="alice", password="a-long-enough-passphrase")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create_user(username="ALICE", password="x")
    assert User.objects.filter(username__iexact="alice").count() == 1
