"""Sportsbook pages: events (upcoming, and results) with every market and the bet slip
(``casino.views.slip``), my bets (singles and accumulators with their legs), one bet and its
cash-out button.

Notices ("toasts") of bets settled and payouts paid: see ``casino.notices``.
Prices show in the player's odds format (``accounts.User.odds_format``, ``casino.odds``);
the slip still posts the decimal price it showed.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers

from casino import selectors, services
from casino.forms.sportsbook import PRICE_PREFIX, BetForm
from casino.models import Sportsbet
from casino.notices import notify_since_last_visit
from casino.selectors.slip import with_legs
from casino.views.cashout import cash_out_context
from casino.views.slip import page_context, place_posted_slip, slip_context
from core.exceptions import DomainError
from core.htmx import changes_balance
from core.money import format_money

BETS_PAGE_SIZE = 20


@login_required
@require_http_methods(["GET"])
@vary_on_headers("HX-Request")
def sportsbook(request):
    """The events with every market's prices (buttons add to the slip) and the slip."""
    ctx = slip_context(request)
    if request.htmx:
        return render(request, "casino/sportsbook.html#slip", ctx)
    notify_since_last_visit(request)
    ctx.update(page_context(request))
    return render(request, "casino/sportsbook.html", ctx)


@login_required
@require_http_methods(["POST"])
@vary_on_headers("HX-Request")
@changes_balance
def place_bet(request):
    """One selection placed directly (the pre-slip form: ``selection``, ``expected_odds``, ``stake``,
    ``idempotency_key``): the slip's own placing, with that one leg."""
    form = BetForm(request.POST)
    data = request.POST.copy()
    if "selection" not in form.errors:  # the price is checked (and refused) by the slip's form
        data[f"{PRICE_PREFIX}{form.cleaned_data['selection']}"] = request.POST.get("expected_odds", "")
    return place_posted_slip(request, data)


@login_required
@require_http_methods(["GET"])
@vary_on_headers("HX-Request")
def my_bets(request):
    status = request.GET.get("status", "")
    bets = with_legs(selectors.bets_of(player=request.user, status=status))
    page = Paginator(bets, BETS_PAGE_SIZE).get_page(request.GET.get("page"))
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
    return {"bet": bet, "in_session": selectors.has_open_session(player=request.user), **cash_out_context(bet)}


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
