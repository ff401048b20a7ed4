"""Double-entry posting. Every movement is one ``LedgerTransaction`` whose
entries sum to zero, written in the caller's database transaction."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.models import LedgerEntry, LedgerTransaction
from core.exceptions import DuplicateTransaction

SYSTEM_CASH = "system:cash"  # the outside world: deposits come from it, withdrawals go to it
SYSTEM_HOUSE = "system:house"  # the casino's game results
SYSTEM_SPORTSBOOK = "system:sportsbook"  # sportsbet stakes and payouts
SYSTEM_PROMOTIONS = "system:promotions"  # bonus money and promotion effects

SYSTEM_ACCOUNTS = (SYSTEM_CASH, SYSTEM_HOUSE, SYSTEM_SPORTSBOOK, SYSTEM_PROMOTIONS)


def find(idempotency_key: str) -> LedgerTransaction | None:
    return LedgerTransaction.objects.filter(idempotency_key=idempotency_key).first()


def moved(tx: LedgerTransaction, account: str) -> Decimal:
    """What ``tx`` moved into (negative: out of) ledger ``account`` (a replay's check)."""
    return sum(tx.entries.filter(account=account).values_list("amount", flat=True), Decimal("0.00"))


# One round trip for a whole transaction (issue 14): the transaction row and its legs in
# one statement. A duplicate key still fails on the unique index, as one IntegrityError.
_POST_SQL = """
    WITH tx AS (
        INSERT INTO {tx} (kind, idempotency_key, reference, description, created_at, updated_at)
        VALUES (%s, %s, %s, %s, %s, %s)
        RETURNING id
    )
    INSERT INTO {entry} (transaction_id, account, amount, created_at, updated_at)
    SELECT tx.id, leg.account, leg.amount, %s, %s
    FROM tx, unnest(%s::varchar[], %s::numeric[]) WITH ORDINALITY AS leg(account, amount, n)
    ORDER BY leg.n
    RETURNING transaction_id
"""


def post(
    *,
    kind: str,
    idempotency_key: str,
    entries: Iterable[tuple[str, Decimal]],
    reference: str = "",
    description: str = "",
) -> LedgerTransaction:
    """Write one balanced transaction (one statement).

    Must run inside the same ``transaction.atomic()`` as the state change it
    records. Raises ``DuplicateTransaction`` if the key was committed by someone
    else first (the caller's retry then finds and returns that result).
    """
    legs = [(account, Decimal(amount)) for account, amount in entries if Decimal(amount) != 0]
    if not legs:
        raise ValueError("a ledger transaction needs at least one non-zero entry")
    if sum(amount for _, amount in legs) != 0:
        raise ValueError(f"unbalanced ledger transaction {idempotency_key}: {legs}")
    now = timezone.now()
    tx = LedgerTransaction(
        kind=kind,
        idempotency_key=idempotency_key,
        reference=reference[:100],
        description=description[:200],
        created_at=now,
        updated_at=now,
    )
    sql = _POST_SQL.format(tx=LedgerTransaction._meta.db_table, entry=LedgerEntry._meta.db_table)
    params = [tx.kind, tx.idempotency_key, tx.reference, tx.description, now, now, now, now]
    params += [[account for account, _ in legs], [amount for _, amount in legs]]
    try:
        # No savepoint: a duplicate key aborts the caller's whole transaction, which
        # is what the caller wants (its retry then finds the committed result).
        with transaction.atomic(savepoint=False), connection.cursor() as cursor:
            cursor.execute(sql, params)
            tx.pk = cursor.fetchone()[0]
    except IntegrityError as exc:
        raise DuplicateTransaction(label="accounts.ledgertransaction", pk=idempotency_key) from exc
    tx._state.adding, tx._state.db = False, connection.alias
    return tx
