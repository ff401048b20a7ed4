"""Bonus pages for players (issue 16): preview, then confirm, forfeiting a bonus.

The wallet's bonus panel itself is a template tag (``promotions.templatetags.bonus_wallet``).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from accounts.context_processors import account_balance
from core.money import format_money
from promotions import services
from promotions.exceptions import BonusChanged, BonusInPlay, BonusNotActive
from promotions.forms.bonus import ForfeitForm
from promotions.models import BonusGrant
from promotions.selectors.bonus import bonus_grant_of


def _to_wallet(request, grant: BonusGrant):
    url = reverse("wallet") + f"#bonus-{grant.pk}"
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def _render(request, grant: BonusGrant, *, error: str = "", status: int = 200):
    preview = services.forfeit_preview(grant)  # exactly what is lost, or the machine holding it
    past_expiry = grant.is_active and grant.expires_at <= timezone.now()
    ctx = {
        "grant": grant,
        "preview": preview,
        "form": ForfeitForm(initial={"version": grant.version}),  # confirms what this page shows
        "error": error,
        "cash": account_balance(request),
        "past_expiry": past_expiry,
        "can_forfeit": grant.is_active and not preview.in_play_at and not past_expiry,
    }
    return render(request, "promotions/bonus_forfeit.html", ctx, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def bonus_forfeit(request, pk: int):
    """GET: what forfeiting the bonus loses (the bonus money, the wagering done; the cash is
    untouched). POST: forfeit it (a player's own action: not audited), back to the wallet.

    Only the owner's grant: anybody else's is a 404. No ``changes_balance``: a forfeit never
    moves the player's cash, so the header's balance stays right.
    """
    grant = bonus_grant_of(player=request.user, pk=pk)
    if grant is None:
        raise Http404("No such bonus.")
    if request.method == "GET":
        return _render(request, grant)
    if not grant.is_active:  # a second click, or it ended meanwhile: say how it ended
        messages.info(request, f"This bonus has already ended ({grant.get_status_display().lower()}).")
        return _to_wallet(request, grant)
    form = ForfeitForm(request.POST)
    if not form.is_valid():
        return _render(request, grant, error="Confirm from this page to forfeit the bonus.", status=422)
    try:  # the version the preview showed is checked inside the forfeit's transaction
        ended = services.forfeit_bonus(grant=grant, expected_version=form.cleaned_data["version"])
    except (BonusInPlay, BonusChanged) as exc:
        return _render(request, bonus_grant_of(player=request.user, pk=pk), error=exc.message, status=409)
    except BonusNotActive as exc:
        messages.info(request, exc.message)
        return _to_wallet(request, grant)
    lost = format_money(ended.returned - grant.returned)
    if ended.status == BonusGrant.Status.EXPIRED:
        messages.info(request, f"This bonus had expired: {lost} of bonus money went back to the promotion.")
    else:
        messages.success(
            request,
            f"Bonus forfeited: {lost} of bonus money went back to the promotion. "
            f"Your cash ({format_money(account_balance(request))}) is untouched.",
        )
    return _to_wallet(request, ended)
