import re

from django.contrib import messages
from django.http import HttpResponseBadRequest

from core.htmx import add_trigger

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
