"""What every full page's header shows: the player's account balance.

Lazy: the query runs only when a template reads ``header.balance`` (the base
template does; htmx partials such as the spin answer never do), so partial
answers keep their round-trip budget.
"""

from __future__ import annotations

from django.utils.functional import cached_property

from accounts import selectors


class Header:
    def __init__(self, request):
        self._request = request

    @cached_property
    def balance(self):
        # A view that has just read the balance for its own content (the wallet) leaves
        # it on the request, so the page does not ask PostgreSQL twice.
        if (known := getattr(self._request, "account_balance", None)) is not None:
            return known
        user = getattr(self._request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        return selectors.balance_of(player=user)


def header(request) -> dict:
    return {"header": Header(request)}
