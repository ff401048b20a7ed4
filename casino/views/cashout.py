"""Early cash-out (issue 18) on the bet page: the offer now, and accepting it.

One URL, ``cash_out_early`` (``/bets/<pk>/cash-out-early/``):

- GET: the bet page with the current offer (full page), or just the offer block for htmx
  (the bet page loads it into ``#cash-out``, and a plain link reaches the full page
  without JavaScript);
- POST ``expected_offer`` (the offer shown) + ``idempotency_key`` (one-time, rendered in
  the form): cash out. If the odds moved, the page shows the new offer and asks again
  (422, the form re-rendered, as the bet slip does on a price change); if there is no
  offer any more, the reason (409). Only the owner: anybody else's bet is a 404.
"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers

from casino import selectors, services
from casino.exceptions import CashOutOfferChanged
from casino.models import Sportsbet
from casino.services.cashout import CashOutQuote, cash_out_quote
from core.exceptions import DomainError
from core.forms import IdempotentForm
from core.htmx import BALANCE_CHANGED, add_trigger
from core.money import format_money

PAGE = "casino/bet_detail.html"
OFFER_BLOCK = "casino/partials/_cash_out.html"


class CashOutForm(IdempotentForm):
    """Accept the cash-out offer shown: the amount the player saw and a one-time key."""

    expected_offer = forms.DecimalField(
        widget=forms.HiddenInput, max_digits=14, decimal_places=2, min_value=Decimal("0.01")
    )


def cash_out_context(bet: Sportsbet, *, quote: CashOutQuote | None = None, error: str = "") -> dict:
    """What the bet page needs to show the early cash-out block: the quote (None for a
    settled bet: no block), the form accepting its offer (a fresh one-time key) and, after a
    refused post, what was wrong (``error``)."""
    if bet.status != Sportsbet.Status.OPEN:
        return {"cash_out": None, "cash_out_form": None, "cash_out_error": ""}
    quote = quote or cash_out_quote(bet)
    form = CashOutForm(initial={"expected_offer": quote.offer}) if quote.available else None
    return {"cash_out": quote, "cash_out_form": form, "cash_out_error": error}


def _context(request, bet: Sportsbet, **kwargs) -> dict:
    return {
        "bet": bet,
        "in_session": selectors.has_open_session(player=request.user),
        **cash_out_context(bet, **kwargs),
    }


@login_required
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def cash_out_early(request, pk):
    bet = selectors.bet_of(player=request.user, pk=pk)  # somebody else's bet: 404
    if request.method == "GET":
        return render(request, OFFER_BLOCK if request.htmx else PAGE, _context(request, bet))

    form = CashOutForm(request.POST)
    status, extra = 200, {}
    if not form.is_valid():
        status = 422
        extra = {"error": "This cash-out form was incomplete or out of date: check the offer and try again."}
    else:
        try:
            payout = services.cash_out_early(
                bet=bet,
                expected_offer=form.cleaned_data["expected_offer"],
                idempotency_key=form.cleaned_data["idempotency_key"],
            )
        except CashOutOfferChanged as exc:
            status = 422  # the form again, at the new offer: one more click accepts it
            extra = {"quote": CashOutQuote(exc.offer), "error": exc.message}
        except DomainError as exc:
            messages.error(request, exc.message)
            status = exc.status_code
        else:
            in_session = selectors.has_open_session(player=request.user)
            messages.success(
                request,
                f"Cashed out for {format_money(payout.amount)}. "
                + (
                    "It will be paid to your account when you leave the machine."
                    if in_session
                    else "It is being paid to your account."
                ),
            )
            if not request.htmx:
                return redirect(bet)
    bet = selectors.bet_of(player=request.user, pk=pk)
    template = f"{PAGE}#bet" if request.htmx else PAGE
    response = render(request, template, _context(request, bet, **extra), status=status)
    if request.htmx and status == 200:
        add_trigger(response, BALANCE_CHANGED)  # paid at once when not at a machine
    return response
