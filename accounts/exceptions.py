"""Typed domain errors.

Every error a service raises is a ``DomainError`` carrying a message fit to show
a player; views map them to form errors or 4xx pages, never to a 500.
"""


class DomainError(Exception):
    default_message = "That could not be done."
    status_code = 400

    def __init__(self, message: str | None = None):
        self.message = message or self.default_message
        super().__init__(self.message)


class InvalidAmount(DomainError):
    default_message = "Enter a positive amount with at most two decimals."


class InsufficientFunds(DomainError):
    default_message = "Not enough money in the account."
    status_code = 409


class ConcurrencyConflict(DomainError):
    """An optimistic write lost a race (the row's version moved on).

    Services retry a bounded number of times; callers only see this once the
    retries are exhausted.
    """

    default_message = "Too much activity at once; please try again."
    status_code = 409

    def __init__(self, message: str | None = None, *, label: str = "", pk=None):
        self.label = label
        self.pk = pk
        super().__init__(message)


class DuplicateTransaction(ConcurrencyConflict):
    """Another transaction committed the same idempotency key first.

    A subclass of ``ConcurrencyConflict`` so the retry loop re-runs the
    operation, which then finds the committed result and returns it.
    """


class InvalidIdempotencyKey(DomainError):
    default_message = "This form has expired: reload the page and try again."


class PlayerBlocked(DomainError):
    default_message = "Your account cannot do that right now."
    status_code = 403


class DepositLimitExceeded(DomainError):
    """A deposit would take the player past one of their own deposit limits."""

    default_message = "That deposit is over your deposit limit."
    status_code = 409

    def __init__(self, message: str | None = None, *, remaining=None, period: str = ""):
        self.remaining = remaining
        self.period = period
        super().__init__(message)


class InvalidExclusionPeriod(DomainError):
    default_message = "Choose one of the offered periods."
