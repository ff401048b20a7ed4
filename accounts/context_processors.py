"""What every full page's header shows: the player's account balance, and the break or
self-exclusion in force (a banner on every page; play, bet and deposit controls disabled).

Lazy: a query runs only when a template reads ``header.balance`` or
``header.play_block`` (the base template does; htmx partials such as the spin answer
never do), so partial answers keep their round-trip budget.
"""

from __future__ import annotations

from django.utils.functional import cached_property

from accounts import selectors
from accounts.selectors import responsible


class Header:
    def __init__(self, request):
        self._request = request

    def _player(self):
        user = getattr(self._request, "user", None)
        return user if user is not None and user.is_authenticated else None

    @cached_property
    def balance(self):
        # A view that has just read the balance for its own content (the wallet) leaves
        # it on the request, so the page does not ask PostgreSQL twice.
        if (known := getattr(self._request, "account_balance", None)) is not None:
            return known
        player = self._player()
        return None if player is None else selectors.balance_of(player=player)

    @cached_property
    def play_block(self) -> responsible.PlayBlock | None:
        """None, or the break/exclusion in force (``.kind``, ``.ends_at``, ``.message``): one query."""
        player = self._player()
        return None if player is None else responsible.play_block(player=player)


def header(request) -> dict:
    return {"header": Header(request)}
