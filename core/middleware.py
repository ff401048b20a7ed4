import json

from django.contrib import messages


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
        if not toasts:
            return response
        trigger = {}
        if "HX-Trigger" in response.headers:
            try:
                trigger = json.loads(response.headers["HX-Trigger"])
            except ValueError:
                trigger = {response.headers["HX-Trigger"]: None}
        trigger["toast"] = toasts
        response.headers["HX-Trigger"] = json.dumps(trigger)
        return response
