"""Double-entry posting. Every movement is one ``LedgerTransaction`` whose
entries sum to zero, written in the caller's database transaction."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from django.db import IntegrityError, transaction

from accounts.models import LedgerEntry, LedgerTransaction
from core.exceptions import DuplicateTransaction

SYSTEM_CASH = "system:cash"  # the outside world: deposits come from it, withdrawals go to it
SYSTEM_HOUSE = "system:house"  # the casino's game results
SYSTEM_SPORTSBOOK = "system:sportsbook"  # sportsbet stakes and payouts
SYSTEM_PROMOTIONS = "system:promotions"  # bonus money and promotion effects

SYSTEM_ACCOUNTS = (SYSTEM_CASH, SYSTEM_HOUSE, SYSTEM_SPORTSBOOK, SYSTEM_PROMOTIONS)


def find(idempotency_key: str) -> LedgerTransaction | None:
    return LedgerTransaction.objects.filter(idempotency_key=idempotency_key).first()


def post(
    *,
    kind: str,
    idempotency_key: str,
    entries: Iterable[tuple[str, Decimal]],
    reference: str = "",
    description: str = "",
) -> LedgerTransaction:
    """Write one balanced transaction.

    Must run inside the same ``transaction.atomic()`` as the state change it
    records. Raises ``DuplicateTransaction`` if the key was committed by someone
    else first (the caller's retry then finds and returns that result).
    """
    legs = [(account, Decimal(amount)) for account, amount in entries if Decimal(amount) != 0]
    if not legs:
        raise ValueError("a ledger transaction needs at least one non-zero entry")
    if sum(amount for _, amount in legs) != 0:
        raise ValueError(f"unbalanced ledger transaction {idempotency_key}: {legs}")
    try:
        # No savepoint: a duplicate key aborts the caller's whole transaction, which
        # is what the caller wants (its retry then finds the committed result).
        with transaction.atomic(savepoint=False):
            tx = LedgerTransaction.objects.create(
                kind=kind, idempotency_key=idempotency_key, reference=reference[:100], description=description[:200]
            )
    except IntegrityError as exc:
        raise DuplicateTransaction(label="accounts.ledgertransaction", pk=idempotency_key) from exc
    LedgerEntry.objects.bulk_create(
        [LedgerEntry(transaction=tx, account=account, amount=amount) for account, amount in legs]
    )
    return tx
