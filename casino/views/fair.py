"""Provably fair pages (issue 17): the player's client seed, a closed session's
verification, its JSON statement and the standalone verifier script.

Only the owner reaches a session's pages (``selectors.session_of``: anybody else's is a
404). The server seed is never rendered while the session is open: pages read
``GameSession.revealed_server_seed`` and the statement is refused (409) until it closes.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from casino import fair, selectors, services
from casino.exceptions import InvalidClientSeed
from casino.forms.games import ClientSeedForm
from casino.views.games import _render_play
from core.exceptions import DomainError
from core.forms import add_domain_error

VERIFY_PAGE_SIZE = 100
VERIFIER_SOURCE = Path(fair.__file__)


def _own_session(request, pk):
    return get_object_or_404(selectors.session_of(player=request.user, pk=pk).select_related("game_version"))


@login_required
@require_http_methods(["POST"])
def session_seed(request, pk):
    """Set the player's client seed before the first spin (``services.set_client_seed``)."""
    session = _own_session(request, pk)
    form = ClientSeedForm(request.POST, prefix="seed")
    if form.is_valid():
        try:
            services.set_client_seed(session=session, client_seed=form.cleaned_data["client_seed"])
        except InvalidClientSeed as exc:
            add_domain_error(form, exc, default_field="client_seed")
        except DomainError as exc:  # a spin came first, or the session closed: the page shows why
            messages.error(request, exc.message)
            return redirect(session)
        else:
            messages.success(request, "Client seed saved: every spin of this session is derived from it.")
            return redirect(session)
    return _render_play(request, session, seed_form=form, status=422)


@login_required
@require_http_methods(["GET"])
def session_verify(request, pk):
    """Recompute every spin of a closed session from its revealed seeds, in this request,
    and show each spin's result with a ✓ or ✗ (paged; the summary counts them all)."""
    session = _own_session(request, pk)
    ctx = {"session": session, "game": session.game, "verified": None, "reason": ""}
    status = 200
    try:
        verified = selectors.verify_session(session)
    except DomainError as exc:
        ctx["reason"] = exc.message
    else:
        ctx["verified"] = verified
        ctx["page"] = Paginator(verified.rows, VERIFY_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "casino/verify.html", ctx, status=status)


@login_required
@require_http_methods(["GET"])
def session_statement(request, pk):
    """The closed session's statement as a JSON download (409 while it is open)."""
    session = _own_session(request, pk)
    try:
        statement = selectors.session_statement(session)
    except DomainError as exc:
        return JsonResponse({"error": exc.message}, status=exc.status_code)
    response = HttpResponse(json.dumps(statement, indent=1), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="session-{session.pk}-statement.json"'
    return response


@require_http_methods(["GET"])
def verifier_script(request):
    """``casino/fair.py`` itself: the standalone verifier (standard library only)."""
    response = HttpResponse(VERIFIER_SOURCE.read_bytes(), content_type="text/x-python; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="fair.py"'
    return response
