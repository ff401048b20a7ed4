"""Links the database keeps immutable, and the one translation of its refusal (issue 13).

Money-bearing links stop changing once something depends on them: a market's event once
it has bets, a bet's terms always, a redeemed code's reward, a game's reels and paytable
while a session is open on it... The apps' migrations install PostgreSQL triggers that
refuse such an UPDATE with SQLSTATE ``23L01`` (class 23: Django raises ``IntegrityError``),
a message fit for staff, the column and a constraint name. Here:

- ``locked_link_error(exc)``: the ``LinkLocked`` domain error for such a database error
  (``None`` for any other error);
- ``translate_locked_links()``: a context manager raising ``LinkLocked`` instead;
- ``core.admin.LockedFieldsAdminMixin``: the admin side. Fields locked now are shown read-only with
  the reason; a POST that still changes one (a page opened before the lock, a hand-made
  request) gets a form error; and the trigger's refusal (the lock appeared between the
  check and the save) becomes an error message on the page, never a 500.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DatabaseError

from core.exceptions import DomainError

LOCKED_LINK_SQLSTATE = "23L01"


class LinkLocked(DomainError):
    """The database refused to change a link something already depends on."""

    default_message = "This can no longer change: something already depends on it."
    status_code = 409

    def __init__(self, message: str | None = None, *, field: str | None = None, constraint: str = ""):
        self.constraint = constraint
        super().__init__(message, field=field)


def locked_link_error(exc: BaseException) -> LinkLocked | None:
    """``LinkLocked`` (message, field, constraint from the trigger) if ``exc`` is a trigger's refusal."""
    seen: set[int] = set()
    error: BaseException | None = exc
    while error is not None and id(error) not in seen:  # Django wraps psycopg's error: look down the chain
        seen.add(id(error))
        if getattr(error, "sqlstate", None) == LOCKED_LINK_SQLSTATE:
            diag = error.diag
            column = diag.column_name or ""
            field = column.removesuffix("_id") or None
            return LinkLocked(diag.message_primary or None, field=field, constraint=diag.constraint_name or "")
        error = error.__cause__ or error.__context__
    return None


@contextmanager
def translate_locked_links() -> Iterator[None]:
    """Raise ``LinkLocked`` for a trigger's refusal inside the block; other errors pass unchanged.

    The block's transaction (or savepoint) is broken by the error, as for any
    ``IntegrityError``: put the block around a whole ``atomic()``, not inside one you go on using.
    """
    try:
        yield
    except DatabaseError as exc:
        error = locked_link_error(exc)
        if error is None:
            raise
        raise error from exc
