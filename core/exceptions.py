"""The base of every typed domain error.

Every error a service raises is a ``DomainError`` carrying a message fit to show
a player and, where it belongs to one input, the name of that input
(``field``). Views map them onto a form with ``core.forms.add_domain_error`` or
onto a 4xx page, never onto a 500.
"""

from __future__ import annotations


class DomainError(Exception):
    default_message = "That could not be done."
    status_code = 400
    field: str | None = None  # the form field the error belongs to (None: the whole form)

    def __init__(self, message: str | None = None, *, field: str | None = None):
        self.message = message or self.default_message
        if field is not None:
            self.field = field
        super().__init__(self.message)


class InvalidAmount(DomainError):
    default_message = "Enter a positive amount with at most two decimals."
    field = "amount"


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


class IdempotencyKeyReused(DomainError):
    """The key already made a different request (Stripe's rule): refused, nothing moves."""

    default_message = "This form was already used for a different request: reload the page and try again."
    status_code = 422
