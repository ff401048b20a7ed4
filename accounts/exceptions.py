"""Typed errors of the accounts services (the base classes live in ``core.exceptions``)."""

from core.exceptions import DomainError


class InsufficientFunds(DomainError):
    default_message = "Not enough money in the account."
    status_code = 409
    field = "amount"


class PlayerBlocked(DomainError):
    default_message = "Your account cannot do that right now."
    status_code = 403


class DepositLimitExceeded(DomainError):
    """A deposit would take the player past one of their own deposit limits."""

    default_message = "That deposit is over your deposit limit."
    status_code = 409
    field = "amount"

    def __init__(self, message: str | None = None, *, remaining=None, period: str = ""):
        self.remaining = remaining
        self.period = period
        super().__init__(message)


class InvalidExclusionPeriod(DomainError):
    default_message = "Choose one of the offered periods."
    field = "days"


class UsernameTaken(DomainError):
    """Another sign-up took the username first (the database's unique constraint said so)."""

    default_message = "That username is taken: please choose another."
    status_code = 409
    field = "username"


class UnknownOddsFormat(DomainError):
    """A profile's odds format that is not one of decimal, fractional or American."""

    default_message = "Choose decimal, fractional or American odds."
    field = "odds_format"
