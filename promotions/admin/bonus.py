"""Bonus grants in the admin (issue 16): staff see grants per player and the liability of
open bonus money, and cancel a grant.

Grants are made and ended by the services only: the admin is read-only (no add, no
change, no delete). Cancelling is a small form on the grant's page (a reason, then
``promotions.services.cancel_bonus``, which moves the money and writes the audit row),
for staff with the ``promotions.change_bonusgrant`` permission. It posts to the grant's
own change URL, so there is no extra admin URL.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from accounts.models import User
from core.exceptions import DomainError
from core.forms import add_domain_error
from core.money import format_money
from promotions import services
from promotions.models import BonusGrant
from promotions.selectors.bonus_staff import grants_for_staff, in_machines_of, open_bonus_liability

CANCEL = "_cancel_grant"  # the name of the cancel form's button: a POST to the change URL that cancels
CENT = Decimal("0.01")
PG_BIGINT_MAX = 2**63 - 1


class CancelBonusForm(forms.Form):
    reason = forms.CharField(
        label="Reason",
        max_length=200,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text="Why the bonus is cancelled (kept in the audit log and on the grant).",
        error_messages={"required": "Say why the bonus is cancelled."},
    )


def _player_filter_url(player_id: int) -> str:
    return reverse("admin:promotions_bonusgrant_changelist") + f"?player__id__exact={player_id}"


def _wagered(value: Decimal) -> str:
    # Wagering is counted to 4 decimals: shown rounded down, never more than was wagered.
    return format_money(value.quantize(CENT, rounding=ROUND_DOWN))


@admin.register(BonusGrant)
class BonusGrantAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "player_link",
        "source_text",
        "amount_shown",
        "balance_shown",
        "in_machine_shown",
        "progress",
        "max_stake_shown",
        "expires_at",
        "status",
        "created_at",
    )
    list_display_links = ("id",)
    list_filter = ("status", "product")
    list_select_related = ("player",)
    search_fields = ("player__username",)
    date_hierarchy = "created_at"
    show_full_result_count = False
    ordering = ("-created_at", "-id")
    change_list_template = "admin/promotions/bonusgrant/change_list.html"
    change_form_template = "admin/promotions/bonusgrant/change_form.html"
    fieldsets = (
        ("Grant", {"fields": ("player_link", "status", "product", "source", "source_key", "created_at")}),
        ("Money", {"fields": ("amount_shown", "balance_shown", "in_machine_shown", "converted", "returned")}),
        (
            "Terms",
            {
                "fields": (
                    "progress",
                    "wagering_multiple",
                    "max_stake_shown",
                    "conversion_cap",
                    "expires_at",
                )
            },
        ),
        ("End", {"fields": ("ended_at", "end_reason", "version", "updated_at")}),
    )
    readonly_fields = tuple(name for _, options in fieldsets for name in options["fields"])

    def get_queryset(self, request):
        return grants_for_staff()

    # --- columns -------------------------------------------------------------------------------
    @admin.display(description="Player", ordering="player__username")
    def player_link(self, obj):
        return format_html(
            '<a href="{}" title="All bonus grants of {}">{}</a>',
            _player_filter_url(obj.player_id),
            obj.player.username,
            obj.player.username,
        )

    @admin.display(description="Source", ordering="source")
    def source_text(self, obj):
        return obj.source or obj.source_key

    @admin.display(description="Amount", ordering="amount")
    def amount_shown(self, obj):
        return format_money(obj.amount)

    @admin.display(description="Balance", ordering="balance")
    def balance_shown(self, obj):
        return format_money(obj.balance)

    @admin.display(description="In machines", ordering="in_machine")
    def in_machine_shown(self, obj):
        return format_money(obj.in_machine)

    @admin.display(description="Wagered / required")
    def progress(self, obj):
        return format_html(
            '<span class="bonus-progress">{} / {} ({}%)</span>',
            _wagered(obj.wagering_done),
            format_money(obj.wagering_required),
            obj.progress_percent,
        )

    @admin.display(description="Max stake", ordering="max_stake")
    def max_stake_shown(self, obj):
        return format_money(obj.max_stake)

    # --- read-only: grants change through the services only -------------------------------------
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_cancel_permission(self, request) -> bool:
        return (
            request.user.is_active and request.user.is_staff and request.user.has_perm("promotions.change_bonusgrant")
        )

    # --- pages ---------------------------------------------------------------------------------
    def changelist_view(self, request, extra_context=None):
        player = self._filtered_player(request)
        if player is not None:
            extra_context = {**(extra_context or {}), "title": f"Bonus grants of {player.username}"}
        response = super().changelist_view(request, extra_context=extra_context)
        if hasattr(response, "context_data"):
            response.context_data["liability"] = open_bonus_liability()
            cl = response.context_data.get("cl")
            if cl is not None and (cl.get_filters_params() or cl.query):  # a filtered or searched view
                response.context_data["filtered_liability"] = open_bonus_liability(cl.queryset)
            response.context_data["filtered_player"] = player
        return response

    def _filtered_player(self, request) -> User | None:
        value = request.GET.get("player__id__exact", "")
        if not value.isascii() or not value.isdigit() or not 0 < int(value) <= PG_BIGINT_MAX:
            return None
        return User.objects.filter(pk=int(value)).first()

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if request.method == "POST" and object_id is not None and CANCEL in request.POST:
            return self.cancel_view(request, object_id)
        grant = self.get_object(request, unquote(object_id)) if object_id else None
        if grant is not None:
            extra_context = {**(extra_context or {}), **self._cancel_context(request, grant, CancelBonusForm())}
        return super().changeform_view(request, object_id, form_url, extra_context)

    def _cancel_context(self, request, grant: BonusGrant, form: CancelBonusForm) -> dict:
        can_cancel = grant.is_active and self.has_cancel_permission(request)
        return {
            "grant": grant,
            "can_cancel": can_cancel,
            "cancel_form": form if can_cancel else None,
            "cancel_button": CANCEL,
            "machines": in_machines_of(grant) if grant.is_active else [],
            "past_expiry": grant.is_active and grant.expires_at <= timezone.now(),
            "player_grants_url": _player_filter_url(grant.player_id),
        }

    def cancel_view(self, request, object_id):
        """POST: cancel the grant through the service; the result (or why not) as a message."""
        grant = self.get_object(request, unquote(object_id))
        if grant is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_cancel_permission(request):
            raise PermissionDenied
        change_url = reverse("admin:promotions_bonusgrant_change", args=[grant.pk])
        if not grant.is_active:  # a fast path for a clear answer; the service checks again
            self.message_user(request, f"Bonus #{grant.pk} has already ended: nothing to cancel.", messages.ERROR)
            return HttpResponseRedirect(change_url)
        form = CancelBonusForm(request.POST)
        if form.is_valid():
            try:
                ended = services.cancel_bonus(grant=grant, actor=request.user, reason=form.cleaned_data["reason"])
            except DomainError as exc:
                if exc.field not in form.fields:  # the grant ended meanwhile, and the like
                    self.message_user(request, f"Bonus #{grant.pk} was not cancelled: {exc.message}", messages.ERROR)
                    return HttpResponseRedirect(change_url)
                add_domain_error(form, exc)
            else:
                self._report(request, grant, ended)
                return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            **self._cancel_context(request, grant, form),
            "opts": self.opts,
            "title": f"Cancel bonus #{grant.pk} of {grant.player.username}",
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/promotions/bonusgrant/cancel.html", context, status=422)

    def _report(self, request, before: BonusGrant, ended: BonusGrant) -> None:
        if ended.status == BonusGrant.Status.EXPIRED:
            self.message_user(
                request,
                f"Bonus #{ended.pk} of {before.player.username} was past its expiry: it expired instead "
                f"(returned to the promotions pot: {format_money(ended.returned)}). Nothing else was cancelled.",
                messages.WARNING,
            )
            return
        text = (
            f"Bonus #{ended.pk} of {before.player.username} cancelled: "
            f"{format_money(ended.returned)} returned to the promotions pot."
        )
        machines = in_machines_of(ended)
        if machines:
            held = sum((s.bonus_balance for s in machines), Decimal("0.00"))
            text += f" {format_money(held)} in a machine goes back to the pot when the player leaves it."
        self.message_user(request, text, messages.SUCCESS)
