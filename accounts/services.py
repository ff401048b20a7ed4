"""Write services for players and their money.

Each public service is keyword-only, runs in one database transaction, and is
retried on optimistic conflicts by ``retry_on_conflict``.
"""

from __future__ import annotations

from decimal import Decimal

from django.contrib.auth.password_validation import validate_password
from django.db import transaction

from accounts import ledger
from accounts.exceptions import InsufficientFunds
from accounts.models import Account, AuditLog, LedgerTransaction, User
from accounts.money import parse_amount
from accounts.versioning import retry_idempotent, versioned_update


def create_player(*, username: str, password: str, email: str = "") -> User:
    """Create a player user and their money account together."""
    validate_password(password, user=User(username=username, email=email))
    with transaction.atomic():
        user = User.objects.create_user(username=username, email=email, password=password)
        Account.objects.create(user=user)
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


def _scoped_key(kind: str, player: User, idempotency_key: str) -> str:
    # Keys from forms are scoped to the player so one player's key can never
    # collide with (and so replay) another player's transaction.
    return f"{kind}:{player.pk}:{ledger.clean_key(idempotency_key, max_length=120)}"


def deposit(*, player: User, amount, idempotency_key: str) -> LedgerTransaction:
    """Simulated payment in: cash -> player account. Replaying the key moves nothing."""
    amount = parse_amount(amount)
    key = _scoped_key("deposit", player, idempotency_key)

    def attempt() -> LedgerTransaction:
        with transaction.atomic():
            if existing := ledger.find(key):
                return existing
            _check_deposit_allowed(player=player, amount=amount)
            return move_money(
                player_id=player.pk,
                delta=amount,
                counterparty=ledger.SYSTEM_CASH,
                kind=LedgerTransaction.Kind.DEPOSIT,
                idempotency_key=key,
            )

    return retry_idempotent(attempt, replay=lambda: ledger.find(key))


def withdraw(*, player: User, amount, idempotency_key: str) -> LedgerTransaction:
    """Simulated payment out: player account -> cash. Never below zero."""
    amount = parse_amount(amount)
    key = _scoped_key("withdrawal", player, idempotency_key)

    def attempt() -> LedgerTransaction:
        with transaction.atomic():
            if existing := ledger.find(key):
                return existing
            return move_money(
                player_id=player.pk,
                delta=-amount,
                counterparty=ledger.SYSTEM_CASH,
                kind=LedgerTransaction.Kind.WITHDRAWAL,
                idempotency_key=key,
            )

    return retry_idempotent(attempt, replay=lambda: ledger.find(key))


def _check_deposit_allowed(*, player: User, amount: Decimal) -> None:
    """Hook for responsible-gaming rules (deposit limits, self-exclusion)."""
    from accounts import responsible

    responsible.check_deposit(player=player, amount=amount)


def audit(*, actor: User | None, action: str, target: str, **details) -> AuditLog:
    """Record a staff action; call inside the action's own transaction."""
    return AuditLog.objects.create(actor=actor, action=action, target=target[:200], details=details)
