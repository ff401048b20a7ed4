"""Write services for players and their money.

Each public service is keyword-only, runs in one database transaction, and is
retried on optimistic conflicts; every money action goes through the one
idempotency recipe (``core.idempotency``).
"""

from __future__ import annotations

from decimal import Decimal

from django.contrib.auth.password_validation import validate_password
from django.db import IntegrityError, transaction

from accounts import ledger
from accounts.exceptions import InsufficientFunds, UsernameTaken
from accounts.models import Account, LedgerTransaction, User, ledger_code_for_player
from accounts.services.responsible import check_deposit
from core.idempotency import idempotent, scoped_key
from core.money import parse_amount
from core.versioning import versioned_update


def create_player(*, username: str, password: str, email: str = "") -> User:
    """Create a player user and their money account together.

    The username's unique constraint decides between two sign-ups racing for one
    name: the loser gets ``UsernameTaken`` (the form's own check is only a fast path)."""
    validate_password(password, user=User(username=username, email=email))
    try:
        with transaction.atomic():
            user = User.objects.create_user(username=username, email=email, password=password)
            Account.objects.create(user=user)
    except IntegrityError as exc:
        if User.objects.filter(username__iexact=username).exists():  # the same name, in any case
            raise UsernameTaken() from exc
        raise
    return user


def account_for(player: User) -> Account:
    """The player's account, created on first use for users made outside ``create_player``."""
    account, _ = Account.objects.get_or_create(user=player)
    return account


def apply_to_account(*, player_id: int, delta: Decimal) -> Account:
    """Move ``delta`` into (or, negative, out of) a player's account balance.

    A versioned write: read, check, conditional UPDATE. Call it inside the
    caller's ``transaction.atomic()`` and ``retry_on_conflict`` loop, together
    with the ledger posting that records the same movement.
    """
    account = Account.objects.filter(user_id=player_id).only("id", "user_id", "balance", "version").first()
    if account is None:
        account, _ = Account.objects.get_or_create(user_id=player_id)
    new_balance = account.balance + delta
    if new_balance < 0:
        raise InsufficientFunds(f"Not enough money in the account (balance {account.balance}).")
    account.version = versioned_update(Account, pk=account.pk, version=account.version, balance=new_balance)
    account.balance = new_balance
    return account


def move_money(
    *,
    player_id: int,
    delta: Decimal,
    counterparty: str,
    kind: str,
    idempotency_key: str,
    reference: str = "",
    description: str = "",
) -> LedgerTransaction:
    """Move ``delta`` into (negative: out of) a player's account, against one
    other ledger account, as one balanced transaction. The building block of every
    two-legged movement (deposit, withdrawal, feed, cash-out, payout, bonus).

    Call inside the caller's ``transaction.atomic()`` and retry loop.
    """
    account = apply_to_account(player_id=player_id, delta=delta)
    return ledger.post(
        kind=kind,
        idempotency_key=idempotency_key,
        entries=[(account.ledger_code, delta), (counterparty, -delta)],
        reference=reference,
        description=description,
    )


def deposit(*, player: User, amount, idempotency_key: str) -> LedgerTransaction:
    """Simulated payment in: cash -> player account. Replaying the key moves nothing.

    The player's exclusion and deposit limits are checked inside the deposit's own
    transaction (``check_deposit`` claims the limits profile by its version)."""
    amount = parse_amount(amount)
    key = scoped_key("deposit", player.pk, idempotency_key)

    def attempt() -> LedgerTransaction:
        check_deposit(player=player, amount=amount)
        return _cash_movement(player=player, delta=amount, kind=LedgerTransaction.Kind.DEPOSIT, key=key)

    return idempotent(find=lambda: ledger.find(key), attempt=attempt, same=_moves(player, amount))


def withdraw(*, player: User, amount, idempotency_key: str) -> LedgerTransaction:
    """Simulated payment out: player account -> cash. Never below zero."""
    amount = parse_amount(amount)
    key = scoped_key("withdrawal", player.pk, idempotency_key)
    return idempotent(
        find=lambda: ledger.find(key),
        attempt=lambda: _cash_movement(player=player, delta=-amount, kind=LedgerTransaction.Kind.WITHDRAWAL, key=key),
        same=_moves(player, -amount),
    )


def _moves(player: User, delta: Decimal):
    """A replay is the same request only if it moved the same amount for the same player."""
    return lambda tx: ledger.moved(tx, ledger_code_for_player(player.pk)) == delta


def _cash_movement(*, player: User, delta: Decimal, kind: str, key: str) -> LedgerTransaction:
    return move_money(player_id=player.pk, delta=delta, counterparty=ledger.SYSTEM_CASH, kind=kind, idempotency_key=key)
