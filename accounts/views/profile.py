"""The player's Profile page: preferences (the odds format)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.forms.profile import OddsFormatForm
from accounts.models import User
from accounts.services import profile
from core.exceptions import DomainError
from core.forms import add_domain_error


@login_required
@require_http_methods(["GET", "POST"])
def profile_page(request):
    """GET shows the form; POST saves and redirects (so a reload or a double submit
    re-sends nothing, and saving the same choice twice is a no-op)."""
    if request.method == "POST":
        form = OddsFormatForm(request.POST)
        if form.is_valid():
            try:
                profile.set_odds_format(player=request.user, odds_format=form.cleaned_data["odds_format"])
            except DomainError as exc:
                add_domain_error(form, exc, default_field="odds_format")
            else:
                label = User.OddsFormat(request.user.odds_format).label
                messages.success(request, f"Saved: odds now show as {label}.")
                return redirect("profile")
        return render(request, "accounts/profile.html", {"form": form}, status=422)
    form = OddsFormatForm(initial={"odds_format": request.user.odds_format})
    return render(request, "accounts/profile.html", {"form": form})
