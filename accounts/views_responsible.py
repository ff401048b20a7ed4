"""Responsible-gaming pages: deposit limits, breaks, self-exclusion, reality check."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, path
from django.utils import timezone
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers

from accounts import responsible
from accounts.exceptions import DomainError
from accounts.forms_responsible import BreakForm, DepositLimitsForm, SelfExclusionForm

PAGE = "accounts/responsible.html"
HTMX_STOP_POLLING = 286  # htmx stops an ``every`` trigger on this status


def _when(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M %Z")


def _context(request, *, limits_form=None, break_form=None, exclusion_form=None):
    statuses = responsible.limit_statuses(player=request.user)
    initial = {s.period: (s.pending if s.has_pending else s.limit) for s in statuses}
    return {
        "statuses": statuses,
        "exclusion": responsible.active_exclusion(player=request.user),
        "limits_form": limits_form or DepositLimitsForm(initial=initial),
        "break_form": break_form or BreakForm(),
        "exclusion_form": exclusion_form or SelfExclusionForm(),
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
            responsible.set_deposit_limits(
                player=request.user, **{k: form.cleaned_data[k] for k in responsible.PERIODS}
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            for status in responsible.limit_statuses(player=request.user):
                if status.has_pending:
                    what = f"rises to {status.pending}" if status.pending is not None else "is removed"
                    messages.info(
                        request,
                        f"Your {status.label} limit {what} on {_when(status.pending_at)}, after a 24-hour cooling-off.",
                    )
            messages.success(request, "Deposit limits saved. Lower limits apply now.")
    return _done(request, "limits_form", form)


def _exclusion_action(request, *, form_class, form_name: str, exclude, done: str):
    form = form_class(request.POST)
    if form.is_valid():
        try:
            exclusion = exclude(player=request.user, days=form.cleaned_data["days"])
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"{done} {_when(exclusion.ends_at)}.")
    return _done(request, form_name, form)


@login_required
@require_http_methods(["POST"])
@vary_on_headers("HX-Request")
def take_break(request):
    return _exclusion_action(
        request,
        form_class=BreakForm,
        form_name="break_form",
        exclude=responsible.take_a_break,
        done="Your break has started. It ends",
    )


@login_required
@require_http_methods(["POST"])
@vary_on_headers("HX-Request")
def self_exclude(request):
    return _exclusion_action(
        request,
        form_class=SelfExclusionForm,
        form_name="exclusion_form",
        exclude=responsible.self_exclude,
        done="You are self-excluded until",
    )


@login_required
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def reality_check(request):
    """Polled by the game-session page. Shows the reminder once per ``REALITY_CHECK_MINUTES``
    of play until the player acknowledges it (POST)."""
    check = responsible.reality_check(player=request.user)
    due = False
    if check is not None:
        key = f"reality_check_ack:{check.session.pk}"
        if request.method == "POST":
            request.session[key] = check.checkpoint
        due = check.checkpoint > request.session.get(key, 0)
    ctx = {"reality": check, "reality_due": due}
    if request.htmx:
        status = 200 if check is not None else HTMX_STOP_POLLING
        return render(request, "accounts/partials/_reality_check.html", ctx, status=status)
    if request.method == "POST" and check is not None:
        try:
            return redirect(check.session.get_absolute_url())
        except NoReverseMatch:
            pass
    return render(request, "accounts/responsible_reality.html", ctx)


urlpatterns = [
    path("responsible/", responsible_page, name="responsible"),
    path("responsible/limits/", set_limits, name="responsible_limits"),
    path("responsible/break/", take_break, name="responsible_break"),
    path("responsible/exclude/", self_exclude, name="responsible_exclude"),
    path("responsible/reality-check/", reality_check, name="reality_check"),
]
