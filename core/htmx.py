"""htmx helpers shared by the apps' views."""

from __future__ import annotations

import functools
import json

BALANCE_CHANGED = "balance-changed"


def add_trigger(response, name: str, value=None) -> None:
    """Add one client event to ``HX-Trigger``, keeping any already set (toasts, say)."""
    trigger: dict = {}
    if "HX-Trigger" in response.headers:
        try:
            trigger = json.loads(response.headers["HX-Trigger"])
        except ValueError:
            trigger = {response.headers["HX-Trigger"]: None}
    trigger[name] = value
    response.headers["HX-Trigger"] = json.dumps(trigger)


def changes_balance(view):
    """Mark a view that may move the player's account money: a successful htmx answer
    tells the page (``balance-changed``), and the header's balance re-reads itself.
    Full-page answers need nothing: the header is rendered afresh."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if getattr(request, "htmx", False) and 200 <= response.status_code < 300:
            add_trigger(response, BALANCE_CHANGED)
        return response

    return wrapped
