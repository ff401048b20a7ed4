"""The one idempotency recipe every money action uses.

A client sends a one-time key with each money form (``core.forms.IdempotentForm``).
The service scopes it (``scoped_key``: what, whose, which key), and runs its
write through ``idempotent``:

1. one ``transaction.atomic()`` per attempt;
2. the replay lookup first: a key that already committed returns its first
   result and moves nothing;
3. the write itself, which stores the key under a unique constraint, so two
   racing submits of one key cannot both commit (the loser's
   ``DuplicateTransaction`` is a conflict: the retry finds the winner's result);
4. bounded, jittered retries on optimistic conflicts (``retry_on_conflict``);
5. a double-submit that lost in a way no retry sees (its twin committed and
   used up the balance, so this attempt fails a rule) returns the twin's result;
6. a key replayed with different parameters (``same``) is refused with
   ``IdempotencyKeyReused`` (Stripe's rule), never answered with the first result.

A new money action is then three lines::

    key = scoped_key("deposit", player.pk, idempotency_key)
    return idempotent(find=lambda: ledger.find(key), attempt=lambda: _post_deposit(key, ...))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.db import transaction

from core.exceptions import DomainError, IdempotencyKeyReused, InvalidIdempotencyKey
from core.versioning import retry_on_conflict

T = TypeVar("T")

# The one maximum for a client's key (a form renders a 32-character uuid4 hex).
KEY_MAX_LENGTH = 64


def client_key(idempotency_key) -> str:
    """A client-supplied key made safe to store: printable text, not empty, at most
    ``KEY_MAX_LENGTH`` characters. Anything else is a typed error (a form that lost its
    key), never a database error, and never silently shortened (two long keys sharing a
    prefix would otherwise replay each other)."""
    key = str(idempotency_key if idempotency_key is not None else "").strip()
    if not key or not key.isprintable():
        raise InvalidIdempotencyKey()
    if len(key) > KEY_MAX_LENGTH:
        raise InvalidIdempotencyKey(f"An idempotency key has at most {KEY_MAX_LENGTH} characters.")
    return key


def scoped_key(kind: str, scope, idempotency_key) -> str:
    """``<kind>:<scope>:<client key>``: one player's (or session's) key can never collide
    with, and so replay, another's."""
    return f"{kind}:{scope}:{client_key(idempotency_key)}"


class Replay(Exception):  # noqa: N818 - a signal, not an error
    """Raised by an ``attempt`` that found its key already committed in its own first read
    (``idempotent(..., lookup_first=False)``): the recipe answers with ``first``."""

    def __init__(self, first):
        self.first = first
        super().__init__("replay")


def idempotent(
    *,
    find: Callable[[], T | None],
    attempt: Callable[[], T],
    same: Callable[[T], bool] | None = None,
    lookup_first: bool = True,
    **retry,
) -> T:
    """Run ``attempt`` once per key: see the module docstring for the recipe.

    ``find`` returns the committed result for the key (or ``None``); ``attempt``
    writes, inside the transaction this opens, and must store the key under a
    unique constraint. A repeated key returns the first result, if ``same(first)``
    says it was made with the same parameters; otherwise ``IdempotencyKeyReused``
    (Stripe's rule: a key names one request, never a different one).

    ``lookup_first=False`` skips the separate lookup at the start of each attempt,
    for an ``attempt`` that looks its key up in the same statement as its first read
    and raises ``Replay(first)`` when it finds it (the spin: one round trip fewer).
    """

    def replayed(first: T) -> T:
        if same is not None and not same(first):
            raise IdempotencyKeyReused()
        return first

    def once() -> T:
        try:
            with transaction.atomic():
                if lookup_first and (first := find()) is not None:
                    return replayed(first)
                return attempt()
        except Replay as replay:
            return replayed(replay.first)

    try:
        return retry_on_conflict(once, **retry)
    except IdempotencyKeyReused:
        raise
    except DomainError:
        if (first := find()) is not None:
            return replayed(first)
        raise
