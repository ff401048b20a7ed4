"""The bet slip (issue 18): selections collected across pages in the player's web session,
placed as a single (one leg) or an accumulator (two or more legs).

Every endpoint is a POST that answers htmx with the slip fragment (``casino/sportsbook.html#slip``,
422 with the reason when refused) and a plain form post with a redirect (or the whole page, 422,
when refused). The slip in the session is a list of selection ids tagged with the player's id, so
it is only ever the logged-in player's. Placing posts the legs it showed (a ``price_<id>`` per leg,
the decimal price shown), so what is placed is what the player saw; a double-submit is a replay of
the same key.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers

from accounts.context_processors import account_balance
from casino import selectors, services
from casino.exceptions import OddsChanged
from casino.forms.sportsbook import PRICE_PREFIX, SlipPlaceForm, SlipSelectionForm
from casino.models import Sportsbet
from casino.odds import format_odds, potential_return
from casino.selectors.slip import selection_by_id, slip_selections
from casino.services.accumulators import add_to_slip, combined_odds
from core.exceptions import DomainError
from core.forms import add_domain_error
from core.htmx import changes_balance
from core.money import format_money

SESSION_KEY = "bet_slip"
TABS = ("upcoming", "results")
SLIP = "casino/sportsbook.html#slip"
PAGE = "casino/sportsbook.html"


# --- the slip in the session -------------------------------------------------------
def slip_ids(request) -> list[int]:
    """The ids on the requesting player's slip (another player's slip in this session: empty)."""
    stored = request.session.get(SESSION_KEY)
    if not isinstance(stored, dict) or stored.get("player") != request.user.pk:
        return []
    legs = stored.get("legs")
    if not isinstance(legs, list):
        return []
    return [pk for pk in legs if isinstance(pk, int)][: settings.ACCUMULATOR_MAX_LEGS]


def _store(request, ids: list[int]) -> None:
    request.session[SESSION_KEY] = {"player": request.user.pk, "legs": list(ids)}


def _session_legs(request):
    ids = slip_ids(request)
    legs = slip_selections(ids=ids)
    if len(legs) != len(ids):  # a selection deleted since: drop it quietly
        _store(request, [leg.pk for leg in legs])
    return legs


# --- rendering ---------------------------------------------------------------------
def _shown_price(form: SlipPlaceForm, leg) -> Decimal:
    if form.is_bound:
        try:
            value = Decimal(str(form.data.get(f"{PRICE_PREFIX}{leg.pk}", "")).strip())
            if value.is_finite() and value > 1:
                return value.quantize(Decimal("0.01"))
        except (InvalidOperation, ValueError):
            pass
    return leg.odds


def _leg_state(leg, now) -> str:
    event = leg.market.event
    if event.status != event.Status.OPEN or event.starts_at <= now:
        return "closed"
    return "open" if leg.market.is_open else "suspended"


def slip_context(request, *, legs=None, form=None, receipt=None, error=None, notice=None) -> dict:
    """What the slip fragment shows: the legs (in the player's odds format), the price (a single's
    odds, or an accumulator's combined odds: the product rounded half-up to 2 decimals, the price
    placed and paid) and the potential return of a typed stake (the server's figure)."""
    legs = _session_legs(request) if legs is None else legs
    if form is None and legs:
        form = SlipPlaceForm(legs=legs)
    now = timezone.now()
    rows = [
        {
            "selection": leg,
            "event": leg.market.event,
            "price": _shown_price(form, leg),
            "state": _leg_state(leg, now),
            "price_field": form.price_field(leg)
            if form is not None and f"{PRICE_PREFIX}{leg.pk}" in form.fields
            else None,
        }
        for leg in legs
    ]
    price = None
    if len(rows) == 1:
        price = rows[0]["price"]
    elif rows:
        price = combined_odds(row["price"] for row in rows)
    slip_return = None
    if form is not None and form.is_bound and price is not None:
        form.is_valid()
        stake = getattr(form, "cleaned_data", {}).get("stake")
        if stake:
            slip_return = potential_return(stake, price)
    return {
        "slip_rows": rows,
        "slip_ids": ",".join(str(leg.pk) for leg in legs),
        "slip_id_set": {leg.pk for leg in legs},
        "slip_odds": price,
        "slip_accumulator": len(rows) > 1,
        "slip_max_legs": settings.ACCUMULATOR_MAX_LEGS,
        "slip_max_stake": min((leg.market.max_stake for leg in legs), default=None),
        "slip_return": slip_return,
        "slip_error": error,
        "slip_notice": notice,
        "form": form,
        "receipt": receipt,
        "balance": account_balance(request),  # the header shows the same figure, read once
        # the live "potential return" (static/js/sportsbook.js) formats like |money does
        "money_currency": settings.CURRENCY,
        "money_locale": settings.MONEY_LOCALE.replace("_", "-"),
    }


def page_context(request) -> dict:
    tab = request.GET.get("tab")
    tab = tab if tab in TABS else "upcoming"
    return {
        "tab": tab,
        "events": selectors.upcoming_events() if tab == "upcoming" else (),
        "results": selectors.recent_results() if tab == "results" else (),
    }


def _answer(request, ctx: dict, *, status: int = 200):
    """The slip fragment for htmx, else the whole page (refusals: 422 with the reason)."""
    if request.htmx:
        return render(request, SLIP, ctx, status=status)
    ctx.update(page_context(request))
    return render(request, PAGE, ctx, status=status)


def _changed(request, *, notice: str | None = None):
    """After the slip changed: its fragment for htmx, else back to the page (the notice as a message)."""
    if request.htmx:
        return render(request, SLIP, slip_context(request, notice=notice))
    if notice:
        messages.info(request, notice)
    return redirect(reverse("sportsbook") + "#slip")


# --- the endpoints -------------------------------------------------------------------
@login_required
@require_http_methods(["POST"])
@vary_on_headers("HX-Request")
def slip_add(request):
    """Add a selection (a price button). A second selection of the same event replaces the first."""
    form = SlipSelectionForm(request.POST)
    legs = _session_legs(request)
    selection = selection_by_id(pk=form.cleaned_data["selection"]) if form.is_valid() else None
    if selection is None:
        return _answer(
            request, slip_context(request, legs=legs, error="That price is not offered any more."), status=422
        )
    try:
        change = add_to_slip(legs=legs, selection=selection)
    except DomainError as exc:
        return _answer(request, slip_context(request, legs=legs, error=exc.message), status=422)
    _store(request, change.ids)
    notice = None
    if change.replaced is not None:
        notice = (
            f"{selection.name} replaced {change.replaced.name} ({selection.market.event}): "
            "one selection per event, since results in one match are linked."
        )
    elif not change.added:
        notice = f"{selection.name} is already on your slip."
    return _changed(request, notice=notice)


@login_required
@require_http_methods(["POST"])
@vary_on_headers("HX-Request")
def slip_remove(request):
    """Take a selection off the slip (not on it: nothing to do)."""
    form = SlipSelectionForm(request.POST)
    if not form.is_valid():
        return _answer(request, slip_context(request, error="Choose a selection on your slip to remove."), status=422)
    _store(request, [pk for pk in slip_ids(request) if pk != form.cleaned_data["selection"]])
    return _changed(request)


@login_required
@require_http_methods(["POST"])
@vary_on_headers("HX-Request")
def slip_clear(request):
    _store(request, [])
    return _changed(request)


@login_required
@require_http_methods(["POST"])
@vary_on_headers("HX-Request")
@changes_balance
def slip_place(request):
    """Place the slip as posted: the stake, the one-time key and the price of each leg shown."""
    return place_posted_slip(request, request.POST)


def place_posted_slip(request, data):
    """Place the legs ``data`` carries prices for: one leg a single (``place_sportsbet``), more an
    accumulator (``place_accumulator``). A moved price: the slip again at the new prices, to accept
    with one more click. Refusals: 422 with the reason beside the stake or above the slip."""
    ids = SlipPlaceForm.posted_ids(data)[: settings.ACCUMULATOR_MAX_LEGS + 1]
    legs = slip_selections(ids=ids)
    form = SlipPlaceForm(data, legs=legs)
    if form.is_valid():
        if not ids:
            form.add_error(None, "Your slip is empty: pick a price to start a bet.")
        elif len(legs) != len(ids):
            form.add_error(None, "A selection on your slip is not offered any more: remove it and try again.")
        else:
            try:
                bet = _place(request, form=form, legs=legs)
            except OddsChanged as exc:
                legs = slip_selections(ids=ids)
                form = _repriced(data, legs=legs, message=exc.message)
            except DomainError as exc:
                add_domain_error(form, exc, default_field="stake")
            else:
                placed = {leg.pk for leg in legs}
                _store(request, [pk for pk in slip_ids(request) if pk not in placed])
                messages.success(request, f"Bet placed: {_describe(request, bet)}.")
                if not request.htmx:
                    return redirect(bet)
                return render(request, SLIP, slip_context(request, receipt=bet))
    return _answer(request, slip_context(request, legs=legs or _session_legs(request), form=form), status=422)


def _place(request, *, form: SlipPlaceForm, legs) -> Sportsbet:
    common = {
        "player": request.user,
        "stake": form.cleaned_data["stake"],
        "idempotency_key": form.cleaned_data["idempotency_key"],
    }
    prices = form.prices()
    if len(legs) == 1:
        return services.place_sportsbet(selection=legs[0], expected_odds=prices[legs[0].pk], **common)
    return services.place_accumulator(selections=legs, expected_odds=prices, **common)


def _repriced(data, *, legs, message: str) -> SlipPlaceForm:
    """The slip again at the prices as they are now: the player must click once more to accept them."""
    fresh = data.copy()
    for leg in legs:
        fresh[f"{PRICE_PREFIX}{leg.pk}"] = str(leg.odds)
    form = SlipPlaceForm(fresh, legs=legs)
    form.is_valid()
    form.add_error(None, message)
    return form


def _describe(request, bet: Sportsbet) -> str:
    price = format_odds(bet.odds, request.user.odds_format)
    if bet.kind == Sportsbet.Kind.ACCUMULATOR:
        return f"{format_money(bet.stake)} on an accumulator ({bet.legs.count()} legs) at {price}"
    return f"{format_money(bet.stake)} on {bet.selection.name} at {price}"
