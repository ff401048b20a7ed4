"""Responsible-gaming pages: deposit limits, breaks, self-exclusion (the reality check is the casino's)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers

from accounts.forms.responsible import BreakForm, DepositLimitsForm, SelfExclusionForm
from accounts.selectors import responsible as rg
from accounts.services import responsible
from core.exceptions import DomainError
from core.forms import add_domain_error
from core.htmx import changes_balance
from core.money import format_money

PAGE = "accounts/responsible.html"
_when = rg.format_moment


def _context(request, *, limits_form=None, break_form=None, exclusion_form=None, confirm=None, confirm_days=None):
    statuses = rg.limit_statuses(player=request.user)
    initial = {s.period: (s.pending if s.has_pending else s.limit) for s in statuses}
    return {
        "statuses": statuses,
        "exclusion": rg.active_exclusion(player=request.user),
        "limits_form": limits_form or DepositLimitsForm(initial=initial),
        "break_form": break_form or BreakForm(),
        "exclusion_form": exclusion_form or SelfExclusionForm(),
        "confirm": confirm,  # "break" or "exclusion": that card shows its confirmation step
        "confirm_until": rg.format_moment(rg.exclusion_end(days=confirm_days)) if confirm_days else "",
    }


def _respond(request, *, status=200, **forms):
    template = f"{PAGE}#panel" if request.htmx else PAGE
    return render(request, template, _context(request, **forms), status=status)


def _done(request, form_name: str, form):
    """After a POST: redirect a plain form post; re-render the panel (fresh forms) for htmx."""
    if form.errors:
        return _respond(request, status=422, **{form_name: form})
    if not request.htmx:
        return redirect("responsible")
    return _respond(request)


@login_required
@require_http_methods(["GET"])
@vary_on_headers("HX-Request")
def responsible_page(request):
    return _respond(request)


@login_required
@require_http_methods(["POST"])
@vary_on_headers("HX-Request")
def set_limits(request):
    form = DepositLimitsForm(request.POST)
    if form.is_valid():
        try:
            responsible.set_deposit_limits(player=request.user, **{k: form.cleaned_data[k] for k in rg.PERIODS})
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            for status in rg.limit_statuses(player=request.user):
                if status.has_pending:
                    what = f"rises to {format_money(status.pending)}" if status.pending is not None else "is removed"
                    messages.info(
                        request,
                        f"Your {status.label} limit {what} on {_when(status.pending_at)}, after a 24-hour cooling-off.",
                    )
            messages.success(request, "Deposit limits saved. Lower limits apply now.")
    return _done(request, "limits_form", form)


def _exclusion_action(request, *, form_class, form_name: str, confirm: str, exclude, done: str):
    form = form_class(request.POST)
    if form.is_valid() and not form.cleaned_data["confirmed"]:
        # The first post only asks: "Start a 7-day break? Until ..., what stops, what still works."
        return _respond(request, confirm=confirm, confirm_days=form.cleaned_data["days"], **{form_name: form})
    if form.is_valid():
        try:
            exclusion = exclude(player=request.user, days=form.cleaned_data["days"])
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, f"{done} {_when(exclusion.ends_at)}.")
    return _done(request, form_name, form)


@login_required
@require_http_methods(["POST"])
@vary_on_headers("HX-Request")
@changes_balance  # open game sessions are cashed out into the account
def take_break(request):
    return _exclusion_action(
        request,
        form_class=BreakForm,
        form_name="break_form",
        confirm="break",
        exclude=responsible.take_a_break,
        done="Your break has started. It ends",
    )


@login_required
@require_http_methods(["POST"])
@vary_on_headers("HX-Request")
@changes_balance  # open game sessions are cashed out into the account
def self_exclude(request):
    return _exclusion_action(
        request,
        form_class=SelfExclusionForm,
        form_name="exclusion_form",
        confirm="exclusion",
        exclude=responsible.self_exclude,
        done="You are self-excluded until",
    )
