import re
from datetime import date

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers

from accounts import hooks, ledger, selectors, services
from accounts.context_processors import account_balance
from accounts.forms import AmountForm, SignupForm, WithdrawForm
from accounts.models import ledger_code_for_player
from accounts.selectors.wallet import first_statement_month
from core.exceptions import DomainError
from core.forms import add_domain_error
from core.htmx import changes_balance
from core.money import format_money
from core.partitions import add_months, month_start

STATEMENT_PAGE_SIZE = 20
MONTH_PARAM = re.compile(r"([0-9]{4})-([0-9]{2})")
MIN_STATEMENT_YEAR = 2000


@require_http_methods(["GET", "POST"])
def signup(request):
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.create_player(
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password1"],
                email=form.cleaned_data.get("email", ""),
            )
        except ValidationError as exc:
            form.add_error("password1", exc)
        except DomainError as exc:  # e.g. another sign-up took the username a moment ago
            add_domain_error(form, exc)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome, {user.username}! Deposit to start playing.")
            return redirect("wallet")
    return render(request, "accounts/signup.html", {"form": form})


def _statement_month(request) -> date:
    """The month the statement shows: ``?month=YYYY-MM``, this (UTC) month by default. A value
    that is not a month, or a month still to come, shows this month with a message saying so."""
    this_month = month_start(timezone.now())
    raw = request.GET.get("month", "")
    if not raw:
        return this_month
    match = MONTH_PARAM.fullmatch(raw)
    valid = match and int(match[1]) >= MIN_STATEMENT_YEAR and 1 <= int(match[2]) <= 12
    month = date(int(match[1]), int(match[2]), 1) if valid else None
    if month is None:
        messages.warning(request, "That is not a month (use YYYY-MM, e.g. 2026-11): showing this month.")
        return this_month
    if month > this_month:
        messages.info(request, f"{month:%B %Y} has not started yet: showing this month.")
        return this_month
    return month


def _statement_context(request) -> dict:
    """One month of the statement (one partition: issue 20), paginated, with the months around it:
    no "previous" before the player's first entry's month, no "next" after this month."""
    month = _statement_month(request)
    this_month = month_start(timezone.now())
    first = first_statement_month(player=request.user) or this_month
    entries = selectors.statement(player=request.user, month=month)
    return {
        "page": Paginator(entries, STATEMENT_PAGE_SIZE).get_page(request.GET.get("page")),
        "statement_month": month,
        "statement_previous": add_months(month, -1) if month > first else None,
        "statement_next": add_months(month, 1) if month < this_month else None,
    }


def _wallet_context(request, *, deposit_form=None, withdraw_form=None, confirm_withdrawal=None):
    return {
        "balance": account_balance(request),  # the header shows the same figure, read once
        "deposit_form": deposit_form or AmountForm(prefix="deposit"),
        "withdraw_form": withdraw_form or WithdrawForm(prefix="withdraw"),
        "confirm_withdrawal": confirm_withdrawal,  # the amount to confirm (the second step), or None
        **_statement_context(request),
        "extra_panels": hooks.wallet_panels,  # redemptions, payouts: added by the apps that own them
    }


@login_required
@require_http_methods(["GET"])
@vary_on_headers("HX-Request")
def wallet(request):
    return render(request, "accounts/wallet.html", _wallet_context(request))


@login_required
@require_http_methods(["GET"])
@vary_on_headers("HX-Request")
def statement(request):
    ctx = _wallet_context(request)
    template = "accounts/wallet.html#statement" if request.htmx else "accounts/wallet.html"
    return render(request, template, ctx)


def _render_money(request, ctx, *, status=200):
    template = "accounts/wallet.html#money" if request.htmx else "accounts/wallet.html"
    return render(request, template, ctx, status=status)


def _money_action(request, *, form, prefix: str, service, verb: str):
    if form.is_valid():
        try:
            tx = service(
                player=request.user,
                amount=form.cleaned_data["amount"],
                idempotency_key=form.cleaned_data["idempotency_key"],
            )
        except DomainError as exc:
            add_domain_error(form, exc, default_field="amount")
        else:
            moved = abs(ledger.moved(tx, ledger_code_for_player(request.user.pk)))  # a replay: the first one's own
            messages.success(request, f"{verb} {format_money(moved)}.")
            if not request.htmx:
                return redirect("wallet")
            form = None  # a fresh form (and a fresh key) for the next one
    ctx = _wallet_context(request, **{f"{prefix}_form": form})
    return _render_money(request, ctx, status=422 if form is not None and form.errors else 200)


@login_required
@require_http_methods(["POST"])
@vary_on_headers("HX-Request")
@changes_balance
def deposit(request):
    form = AmountForm(request.POST, prefix="deposit")
    return _money_action(request, form=form, prefix="deposit", service=services.deposit, verb="Deposited")


@login_required
@require_http_methods(["POST"])
@vary_on_headers("HX-Request")
@changes_balance
def withdraw(request):
    """Two steps, without JS: a valid amount first answers with "Withdraw €X?" (the same
    key and amount in the confirmation's own form); only the confirmed post moves money."""
    form = WithdrawForm(request.POST, prefix="withdraw")
    if form.is_valid() and not form.cleaned_data["confirmed"]:
        ctx = _wallet_context(request, withdraw_form=form, confirm_withdrawal=form.cleaned_data["amount"])
        return _render_money(request, ctx)
    return _money_action(request, form=form, prefix="withdraw", service=services.withdraw, verb="Withdrew")


@login_required
@require_http_methods(["GET"])
def header_balance(request):
    """The header's balance, re-read after a money action (htmx ``balance-changed``)."""
    return render(
        request, "accounts/partials/_header_balance.html", {"balance": selectors.balance_of(player=request.user)}
    )
