"""Promotion-code pages: redeem a code (page or htmx panel on the wallet), see one's redemptions."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers

from accounts.context_processors import account_balance
from core.exceptions import DomainError
from core.forms import add_domain_error
from core.htmx import changes_balance
from core.money import format_money
from promotions import selectors, services
from promotions.forms.codes import RedeemForm
from promotions.models import PromotionCode
from promotions.selectors.bonus import grant_for_redemption

REDEMPTIONS_SHOWN = 20


def panel_context(request, *, form=None, result=None, from_wallet=False) -> dict:
    """What the redeem panel shows (the page, the wallet's panel and the htmx swap share it)."""
    return {
        "redeem_form": form or RedeemForm(),
        "redemptions": list(selectors.redemptions_of(player=request.user)[:REDEMPTIONS_SHOWN]),
        "result": result,
        "balance": account_balance(request),  # the header (and the wallet around it) show the same figure
        "from_wallet": from_wallet,
    }


@login_required
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
@changes_balance  # a bonus reward lands in the account: the header's balance re-reads itself
def redeem(request):
    from_wallet = request.POST.get("from") == "wallet"
    form = RedeemForm(request.POST if request.method == "POST" else None)  # an empty POST is still a POST
    if request.method == "GET":
        ctx = panel_context(request, from_wallet=from_wallet)
        return render(request, "promotions/redeem.html#panel" if request.htmx else "promotions/redeem.html", ctx)
    result = balance = None
    if form.is_valid():
        try:
            result = services.redeem(player=request.user, code=form.cleaned_data["code"])
        except DomainError as exc:
            add_domain_error(form, exc, default_field="code")
    if result is not None:
        balance = account_balance(request)  # after the redemption: the new figure
        messages.success(request, _redeemed_message(result.code, balance))
        if not request.htmx:
            return redirect("wallet" if from_wallet else "redeem")
        form = RedeemForm()  # a fresh, empty form for the next code
    status = 200 if result is not None else 422
    if request.htmx:  # only what changed: the form area (result or errors) and the new row
        ctx = {
            "redeem_form": form,
            "result": result,
            "reward": result.code.describe_reward(format_money) if result is not None else "",
            "balance": balance,
            "from_wallet": from_wallet,
        }
        return render(request, "promotions/redeem.html#redeem-swap", ctx, status=status)
    ctx = panel_context(request, form=form, from_wallet=from_wallet)
    return render(request, "promotions/redeem.html", ctx, status=status)


def _redeemed_message(code: PromotionCode, balance) -> str:
    """The toast after a redemption: bonus funds say so, with their terms, and that the cash
    balance did not change; a cash reward says the new balance."""
    reward = code.describe_reward(format_money)
    if pays_bonus_funds(code):
        return (
            f"{code.code} redeemed: {reward}. They are in your wallet's bonus panel until the wagering is done; "
            f"your cash balance stays {format_money(balance)}."
        )
    return f"{code.code} redeemed: {reward}. Balance {format_money(balance)}."


def pays_bonus_funds(code: PromotionCode) -> bool:
    return code.reward_kind == PromotionCode.RewardKind.BONUS and code.pays_as == PromotionCode.PaysAs.BONUS


@login_required
@require_http_methods(["GET"])
def redemption_detail(request, pk: int):
    redemption = selectors.redemption_of(player=request.user, pk=pk)
    if redemption is None:
        raise Http404("No such redemption.")
    bonus_funds = pays_bonus_funds(redemption.code)
    ctx = {
        "redemption": redemption,
        "bonus_funds": bonus_funds,
        "grant": grant_for_redemption(redemption) if bonus_funds else None,  # what became of the bonus
        "terms": redemption.code.describe_terms(format_money) if bonus_funds else "",
    }
    return render(request, "promotions/redeem_detail.html", ctx)
