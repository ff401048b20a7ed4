"""Read-side queries for accounts and the ledger."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal

from django.db.models import QuerySet, Sum

from accounts.models import Account, LedgerEntry, User, ledger_code_for_player
from core.db_router import replica_selector
from core.partitions import add_months, month_start


def balance_of(*, player: User) -> Decimal:
    return Account.objects.filter(user=player).values_list("balance", flat=True).first() or Decimal("0.00")


@replica_selector
def statement(*, player: User, month: date | None = None) -> QuerySet[LedgerEntry]:
    """The player's account entries, newest first, with their transactions.

    ``month`` (the first day of a month): only that UTC month's entries. Ledger entries are
    partitioned by the month of ``created_at`` (issue 20), so this reads one partition; the
    statement page shows one month at a time."""
    entries = LedgerEntry.objects.filter(account=ledger_code_for_player(player.pk))
    if month is not None:
        start, end = month_range(month)
        entries = entries.filter(created_at__gte=start, created_at__lt=end)
    return entries.select_related("transaction").order_by("-id")


def month_range(month: date) -> tuple[datetime, datetime]:
    """[start, next start) of ``month``'s UTC month, as aware datetimes (a partition's bounds)."""
    start = month_start(month)
    return datetime.combine(start, time.min, tzinfo=UTC), datetime.combine(add_months(start, 1), time.min, tzinfo=UTC)


def first_statement_month(*, player: User) -> date | None:
    """The UTC month of the player's first account entry (None: no entry yet).

    The first entry is the one with the lowest id (ids come from one sequence, taken as entries
    are written): the (account, -id) index gives it with one probe per partition, where the
    lowest created_at would sort all the player's entries."""
    first = (
        LedgerEntry.objects.filter(account=ledger_code_for_player(player.pk))
        .order_by("id")
        .values_list("created_at", flat=True)
        .first()
    )
    return month_start(first) if first is not None else None


def ledger_balance(account_code: str) -> Decimal:
    total = LedgerEntry.objects.filter(account=account_code).aggregate(total=Sum("amount"))["total"]
    return total or Decimal("0.00")
