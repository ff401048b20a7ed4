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
        player = self._player()
        return None if player is None else selectors.balance_of(player=player)

    @cached_property
    def play_block(self) -> responsible.PlayBlock | None:
        """None, or the break/exclusion in force (``.kind``, ``.ends_at``, ``.message``): one query."""
        player = self._player()
        return None if player is None else responsible.play_block(player=player)


def _header_of(request) -> Header:
    """One ``Header`` per request: what a view reads through it, the header reuses."""
    if (found := getattr(request, "_page_header", None)) is None:
        found = request._page_header = Header(request)
    return found


def account_balance(request):
    """The player's account balance, for a page that also shows it in its content (the
    wallet, the lobby, a game): read once, and the header shows the same figure."""
    return _header_of(request).balance


def header(request) -> dict:
    return {"header": _header_of(request)}
