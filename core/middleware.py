import logging
import re
import time
from contextlib import ExitStack
from fnmatch import fnmatch

from django.conf import settings
from django.contrib import messages
from django.db import DatabaseError, InterfaceError
from django.http import HttpResponseBadRequest

from core import db_router
from core.htmx import add_trigger

logger = logging.getLogger(__name__)

# Admin changelist parameters Django parses itself without guarding every value: a date
# drill-down past year 9998 (Django ticket #37357) and a non-integer action selection
# raise instead of answering 4xx. Every primary key here is an integer.
_DATE_DRILLDOWN = re.compile(r"__(year|month|day)$")
_DATE_LIMITS = {"year": (1, 9998), "month": (1, 12), "day": (1, 31)}


def hostile_input(request) -> str | None:
    """Why this admin request cannot be served (a 400), or None. Checked before any view.

    Only the admin: the players' pages validate every input through their own forms
    (a NUL byte there is a form error), but Django's admin hands query parameters to
    PostgreSQL text comparisons (search, filters, autocomplete) as they come."""
    if not request.path.startswith("/admin/"):
        return None
    for query in (request.GET, request.POST):
        for key, values in query.lists():
            if "\x00" in key or any("\x00" in value for value in values):
                return "A request may not contain NUL characters."
    for key, value in request.GET.items():
        if match := _DATE_DRILLDOWN.search(key):
            low, high = _DATE_LIMITS[match.group(1)]
            if not (value.isascii() and value.isdigit() and low <= int(value) <= high):
                return f"{key} must be a whole number from {low} to {high}."
    selected = request.POST.getlist("_selected_action") if request.method == "POST" else []
    if any(not (v.isascii() and v.isdigit()) for v in selected):
        return "Select rows by their ids."
    return None


class HostileInputMiddleware:
    """Answer 400 to admin input no page can use (NUL bytes, malformed date drill-downs
    and action selections), before Django's admin hands it to code that fails with a 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if reason := hostile_input(request):
            return HttpResponseBadRequest(reason, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


class HtmxMessagesMiddleware:
    """For htmx requests, hand queued Django messages to the page as an
    ``HX-Trigger: {"toast": [...]}`` event (the page shows them as toasts).
    Full-page renders show them from the base template instead."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not getattr(request, "htmx", False) or 300 <= response.status_code < 400:
            return response
        if "HX-Redirect" in response.headers or "HX-Location" in response.headers:
            return response
        toasts = [{"level": m.level_tag, "message": str(m)} for m in messages.get_messages(request)]
        if toasts:
            add_trigger(response, "toast", toasts)
        return response


class DatabaseRoutingMiddleware:
    """Which database a request reads from (issue 20; the rules are in ``core.db_router``).

    - Read-your-writes: a request with an unsafe method is pinned to the primary, and its response
      sets a cookie that pins the browser's reads for ``REPLICA_PIN_SECONDS`` more (only when a
      replica is configured; forging it only buys primary reads).
    - Read-only pages (``REPLICA_READ_VIEWS``: URL names, ``fnmatch`` patterns such as
      ``admin:*_changelist``) read inside ``replica_reads()``, rendering included.
    - A GET that fails on a replica (it stopped after the health check) is served again from the
      primary, and the replica is left out for ``REPLICA_RETRY_SECONDS``: no 500.
    """

    COOKIE = "db_pin"
    SAFE = frozenset({"GET", "HEAD", "OPTIONS"})

    def __init__(self, get_response):
        self.get_response = get_response

    def _pinned(self, request) -> bool:
        if request.method not in self.SAFE:
            return True
        try:
            return float(request.COOKIES.get(self.COOKIE, "0")) > time.time()
        except ValueError:
            return False

    def __call__(self, request):
        if not settings.READ_REPLICAS:
            return self.get_response(request)
        with ExitStack() as stack:
            if self._pinned(request):
                stack.enter_context(db_router.pinned_to_primary())
            request._replicas_used = stack.enter_context(db_router.tracking_replicas())
            try:
                response = self.get_response(request)
            finally:
                if token := getattr(request, "_replica_reads_token", None):
                    db_router.end_replica_reads(token)
        if request.method not in self.SAFE:
            until = time.time() + settings.REPLICA_PIN_SECONDS
            response.set_cookie(
                self.COOKIE,
                f"{until:.3f}",
                max_age=settings.REPLICA_PIN_SECONDS + 1,
                httponly=True,
                samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
            )
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not settings.READ_REPLICAS or request.method not in self.SAFE:
            return
        match = request.resolver_match
        name = match.view_name if match else ""
        if name and any(fnmatch(name, pattern) for pattern in settings.REPLICA_READ_VIEWS):
            # set here, reset when __call__ returns: the template renders inside too
            request._replica_reads_token = db_router.begin_replica_reads()

    def process_exception(self, request, exception):
        if not settings.READ_REPLICAS or request.method not in self.SAFE:
            return None
        if not isinstance(exception, DatabaseError | InterfaceError):
            return None
        used = getattr(request, "_replicas_used", None) or set()
        if not used:
            return None
        # Was it the replica? Ask it now: a replica that answers is not the cause (the primary's own
        # error then takes its usual course).
        failed = sorted(alias for alias in used if not db_router.replica_health.check(alias).usable)
        if not failed:
            return None
        logger.warning("replica %s failed during %s; served from the primary", ",".join(failed), request.path)
        match = request.resolver_match
        with db_router.pinned_to_primary():
            response = match.func(request, *match.args, **match.kwargs)
            if hasattr(response, "render") and callable(response.render) and not response.is_rendered:
                response = response.render()
        return response
