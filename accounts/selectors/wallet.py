"""Read-side queries for accounts and the ledger."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import QuerySet, Sum

from accounts.models import Account, LedgerEntry, User, ledger_code_for_player


def balance_of(*, player: User) -> Decimal:
    return Account.objects.filter(user=player).values_list("balance", flat=True).first() or Decimal("0.00")


def statement(*, player: User) -> QuerySet[LedgerEntry]:
    """The player's account entries, newest first, with their transactions."""
    return (
        LedgerEntry.objects.filter(account=ledger_code_for_player(player.pk))
        .select_related("transaction")
        .order_by("-id")
    )


def ledger_balance(account_code: str) -> Decimal:
    total = LedgerEntry.objects.filter(account=account_code).aggregate(total=Sum("amount"))["total"]
    return total or Decimal("0.00")
