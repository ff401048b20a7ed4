"""Views every app shares: the CSRF-failure page in the site's own look, the favicon."""

from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.http import require_http_methods


def csrf_failure(request, reason: str = ""):
    """A form posted without a valid CSRF token (an expired page, another tab): a 403 that
    says what happened and how to go on, with the site's header and a way back."""
    return render(request, "403_csrf.html", {"reason": reason}, status=403)


@require_http_methods(["GET", "HEAD"])
def favicon(request):
    """Browsers ask for /favicon.ico whatever the page links to: send them to the real one."""
    return redirect(static("favicon.svg"), permanent=True)
