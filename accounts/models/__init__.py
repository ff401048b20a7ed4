from accounts.models.responsible import ResponsibleGamingProfile, SelfExclusion
from accounts.models.wallet import Account, LedgerEntry, LedgerTransaction, User, ledger_code_for_player

__all__ = [
    "Account",
    "LedgerEntry",
    "LedgerTransaction",
    "ResponsibleGamingProfile",
    "SelfExclusion",
    "User",
    "ledger_code_for_player",
]
