"""Sportsbook pages: events and the bet slip, my bets, one bet and its cash-out button.

Notices ("toasts") of bets settled and payouts paid: see ``casino.notices``.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers

from accounts.selectors import balance_of
from casino import selectors, services
from casino.exceptions import OddsChanged
from casino.forms.sportsbook import BetForm
from casino.models import Sportsbet
from casino.notices import mark_seen, notify_since_last_visit
from core.exceptions import DomainError
from core.forms import add_domain_error

BETS_PAGE_SIZE = 20


def _slip_context(request, *, selection=None, form=None, receipt=None) -> dict:
    if selection is not None and form is None:
        form = BetForm(initial={"selection": selection.pk, "expected_odds": selection.odds})
    return {
        "slip_selection": selection,
        "form": form,
        "receipt": receipt,
        "balance": balance_of(player=request.user),
    }


@login_required
@require_http_methods(["GET"])
@vary_on_headers("HX-Request")
def sportsbook(request):
    selection = selectors.selection_for_slip(pk=request.GET.get("selection")) if "selection" in request.GET else None
    ctx = _slip_context(request, selection=selection)
    if request.htmx:
        return render(request, "casino/sportsbook.html#slip", ctx)
    notify_since_last_visit(request)
    ctx["events"] = selectors.upcoming_events()
    return render(request, "casino/sportsbook.html", ctx)


@login_required
@require_http_methods(["POST"])
@vary_on_headers("HX-Request")
def place_bet(request):
    form = BetForm(request.POST)
    selection = selectors.selection_for_bet(pk=request.POST.get("selection"))
    if form.is_valid():
        if selection is None:
            form.add_error(None, "That selection is not offered any more.")
        else:
            try:
                bet = services.place_sportsbet(
                    player=request.user,
                    selection=selection,
                    stake=form.cleaned_data["stake"],
                    idempotency_key=form.cleaned_data["idempotency_key"],
                    expected_odds=form.cleaned_data["expected_odds"],
                )
            except OddsChanged as exc:
                form = _repriced(request, selection=selection, message=exc.message)
            except DomainError as exc:
                add_domain_error(form, exc, default_field="stake")
            else:
                messages.success(request, f"Bet placed: {bet.stake} on {bet.selection.name} at {bet.odds}.")
                if not request.htmx:
                    return redirect(bet)
                return render(
                    request, "casino/sportsbook.html#slip", _slip_context(request, selection=selection, receipt=bet)
                )
    ctx = _slip_context(request, selection=selection, form=form)
    if request.htmx:
        return render(request, "casino/sportsbook.html#slip", ctx, status=422)
    ctx["events"] = selectors.upcoming_events()
    return render(request, "casino/sportsbook.html", ctx, status=422)


def _repriced(request, *, selection, message: str) -> BetForm:
    """The slip again, now at the new price: the player must click once more to accept it."""
    selection.refresh_from_db(fields=["odds"])
    data = request.POST.copy()
    data["expected_odds"] = str(selection.odds)
    form = BetForm(data)
    form.is_valid()
    form.add_error(None, message)
    return form


@login_required
@require_http_methods(["GET"])
@vary_on_headers("HX-Request")
def my_bets(request):
    status = request.GET.get("status", "")
    page = Paginator(selectors.bets_of(player=request.user, status=status), BETS_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    if not request.htmx:
        notify_since_last_visit(request)
    ctx = {
        "page": page,
        "status": status if status in Sportsbet.Status.values else "",
        "statuses": Sportsbet.Status.choices,
        "queued_total": selectors.queued_payout_total(player=request.user),
        "in_session": selectors.has_open_session(player=request.user),
    }
    return render(request, "casino/my_bets.html#bets" if request.htmx else "casino/my_bets.html", ctx)


def _bet_context(request, bet) -> dict:
    return {"bet": bet, "in_session": selectors.has_open_session(player=request.user)}


@login_required
@require_http_methods(["GET"])
@vary_on_headers("HX-Request")
def bet_detail(request, pk):
    bet = selectors.bet_of(player=request.user, pk=pk)
    if not request.htmx:
        notify_since_last_visit(request)
    return render(request, "casino/bet_detail.html#bet" if request.htmx else "casino/bet_detail.html",
                  _bet_context(request, bet))  # fmt: skip


@login_required
@require_http_methods(["POST"])
@vary_on_headers("HX-Request")
def cash_out_bet(request, pk):
    bet = selectors.bet_of(player=request.user, pk=pk)  # somebody else's bet: 404
    status = 200
    try:
        payout = services.cash_out_bet(bet=bet)
    except DomainError as exc:
        messages.error(request, exc.message)
        status = exc.status_code
    else:
        messages.success(request, f"{payout.amount} paid to your account.")
        mark_seen(request)  # this one was announced just now
        if not request.htmx:
            return redirect(bet)
    bet = selectors.bet_of(player=request.user, pk=pk)
    template = "casino/bet_detail.html#bet" if request.htmx else "casino/bet_detail.html"
    return render(request, template, _bet_context(request, bet), status=status)
