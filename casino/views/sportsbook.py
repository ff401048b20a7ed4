"""Sportsbook pages: events (upcoming, and results) and the bet slip, my bets, one bet
and its cash-out button.

Notices ("toasts") of bets settled and payouts paid: see ``casino.notices``.
Prices show in the player's odds format (``accounts.User.odds_format``, ``casino.odds``);
the slip still posts the decimal price it showed.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers

from accounts.context_processors import account_balance
from casino import selectors, services
from casino.exceptions import OddsChanged
from casino.forms.sportsbook import BetForm
from casino.models import Sportsbet
from casino.notices import notify_since_last_visit
from casino.odds import format_odds, potential_return
from core.exceptions import DomainError
from core.forms import add_domain_error
from core.htmx import changes_balance
from core.money import format_money

BETS_PAGE_SIZE = 20


TABS = ("upcoming", "results")


def _slip_context(request, *, selection=None, form=None, receipt=None) -> dict:
    if selection is not None and form is None:
        form = BetForm(initial={"selection": selection.pk, "expected_odds": selection.odds})
    slip_return = None
    if form is not None and form.is_bound:
        form.is_valid()
        data = getattr(form, "cleaned_data", {})
        if data.get("stake") is not None and data.get("expected_odds") is not None:
            slip_return = potential_return(data["stake"], data["expected_odds"])
    return {
        "slip_selection": selection,
        "form": form,
        "receipt": receipt,
        "slip_return": slip_return,
        "balance": account_balance(request),  # the header shows the same figure, read once
        # the live "potential return" (static/js/sportsbook.js) formats like |money does
        "money_currency": settings.CURRENCY,
        "money_locale": settings.MONEY_LOCALE.replace("_", "-"),
    }


def _page_context(request) -> dict:
    tab = request.GET.get("tab")
    tab = tab if tab in TABS else "upcoming"
    return {
        "tab": tab,
        "events": selectors.upcoming_events() if tab == "upcoming" else (),
        "results": selectors.recent_results() if tab == "results" else (),
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
    ctx.update(_page_context(request))
    return render(request, "casino/sportsbook.html", ctx)


@login_required
@require_http_methods(["POST"])
@vary_on_headers("HX-Request")
@changes_balance
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
                messages.success(
                    request,
                    f"Bet placed: {format_money(bet.stake)} on {bet.selection.name} "
                    f"at {format_odds(bet.odds, request.user.odds_format)}.",
                )
                if not request.htmx:
                    return redirect(bet)
                return render(
                    request, "casino/sportsbook.html#slip", _slip_context(request, selection=selection, receipt=bet)
                )
    ctx = _slip_context(request, selection=selection, form=form)
    if request.htmx:
        return render(request, "casino/sportsbook.html#slip", ctx, status=422)
    ctx.update(_page_context(request))
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
@changes_balance
def cash_out_bet(request, pk):
    bet = selectors.bet_of(player=request.user, pk=pk)  # somebody else's bet: 404
    status = 200
    try:
        payout = services.cash_out_bet(bet=bet)
    except DomainError as exc:
        messages.error(request, exc.message)
        status = exc.status_code
    else:
        messages.success(request, f"{format_money(payout.amount)} paid to your account.")
        if not request.htmx:
            return redirect(bet)
    bet = selectors.bet_of(player=request.user, pk=pk)
    template = "casino/bet_detail.html#bet" if request.htmx else "casino/bet_detail.html"
    return render(request, template, _bet_context(request, bet), status=status)
