"""Admin for players, the ledger and responsible gaming (one module per sub-domain)."""

from accounts.admin import ledger, responsible, users  # noqa: F401 - each registers its ModelAdmins
