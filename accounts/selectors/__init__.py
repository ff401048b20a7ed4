"""Read-side queries for accounts, the ledger and responsible gaming."""

from accounts.selectors.wallet import balance_of, ledger_balance, statement  # noqa: F401
