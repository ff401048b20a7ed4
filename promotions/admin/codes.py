"""Admin for promotion codes and redemptions (issue 5).

Issuing (one or in bulk) and deactivating go through the services; money fields
and redemptions are read-only here. The changelist shows redeemed / limit /
overshoot from the count of redemption rows (the code row holds no counter).
"""

from __future__ import annotations

import csv

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from core.admin import LabelledWidgetsMixin, ReadOnlyAdminMixin
from core.exceptions import DomainError
from promotions import selectors, services
from promotions.forms.codes import BONUS_TERMS, REWARD_FIELDS, BulkIssueForm, PromotionCodeAdminForm, spec_from
from promotions.models import PromotionCode, Redemption
from promotions.services.bonus import max_wagering_multiple

CSV_COLUMNS = ["code", "campaign", "reward", "starts_at", "ends_at", "limit_policy", "limit", "redeemed", "active"]


def codes_csv_response(codes, *, filename: str) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(CSV_COLUMNS)
    for c in codes:
        writer.writerow(
            [
                c.code,
                c.campaign,
                c.reward_text,
                c.starts_at.isoformat(),
                c.ends_at.isoformat(),
                c.limit_policy,
                "" if c.limit is None else c.limit,
                getattr(c, "redeemed", ""),
                "yes" if c.is_active else "no",
            ]
        )
    return response


def _safe_filename(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in text)[:60] or "codes"


class RedemptionInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Redemption
    fields = ("player", "created_at", "reward_kind", "bonus_amount", "free_spins_count")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    ordering = ("-id",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("player")


class CampaignFilter(admin.SimpleListFilter):
    """Codes by campaign; codes issued without one are "(no campaign)", never a link without text."""

    title = "campaign"
    parameter_name = "campaign"
    NONE = "-"
    SHOWN = 100

    def lookups(self, request, model_admin):
        names = PromotionCode.objects.order_by("campaign").values_list("campaign", flat=True).distinct()[: self.SHOWN]
        return [(name or self.NONE, name or "(no campaign)") for name in names]

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        return queryset.filter(campaign="" if value == self.NONE else value)


@admin.register(PromotionCode)
class PromotionCodeAdmin(LabelledWidgetsMixin, admin.ModelAdmin):
    form = PromotionCodeAdminForm
    list_display = (
        "code",
        "campaign",
        "reward",
        "pays",
        "limit_policy",
        "starts_at",
        "ends_at",
        "state",
        "redeemed",
        "limit",
        "overshoot",
    )
    list_filter = ("limit_policy", "reward_kind", "pays_as", "is_active", CampaignFilter)
    search_fields = ("code", "campaign")
    date_hierarchy = "starts_at"
    actions = ["deactivate", "download_csv"]
    inlines = [RedemptionInline]
    change_list_template = "admin/promotions/promotioncode/change_list.html"
    readonly_fields = ("state", "redeemed", "overshoot", "all_redemptions", "version", "created_by", "created_at")
    show_full_result_count = False

    def get_queryset(self, request):
        return selectors.codes_with_counts()

    # --- columns -------------------------------------------------------------------------------
    @admin.display(description="Reward")
    def reward(self, obj):
        return obj.reward_text

    @admin.display(description="Pays as", ordering="pays_as")
    def pays(self, obj):
        if obj.pays_as == PromotionCode.PaysAs.BONUS:
            return f"bonus {obj.wagering_multiple}x"
        return "cash"

    @admin.display(description="State")
    def state(self, obj):
        now = timezone.now()
        if not obj.is_active:
            return format_html('<span class="badge bad">{}</span>', "deactivated")
        if now < obj.starts_at:
            return format_html('<span class="badge warn">{}</span>', "not yet active")
        if now >= obj.ends_at:
            return format_html('<span class="badge bad">{}</span>', "expired")
        return format_html('<span class="badge ok">{}</span>', "active")

    @admin.display(description="Redeemed", ordering="redeemed")
    def redeemed(self, obj):
        return obj.redeemed

    @admin.display(description="Overshoot")
    def overshoot(self, obj):
        if obj.limit is None:
            return "—"
        over = max(0, obj.redeemed - obj.limit)
        if over:
            return format_html('<strong class="overshoot">+{}</strong>', over)
        return 0

    @admin.display(description="Redemptions")
    def all_redemptions(self, obj):
        url = reverse("admin:promotions_redemption_changelist") + f"?code__exact={obj.pk}"
        return format_html('<a href="{}">All {} redemptions</a>', url, obj.redeemed)

    # --- add goes through the service, change is view-only ---------------------------------------
    def get_fields(self, request, obj=None):
        if obj is None:
            return list(PromotionCodeAdminForm.Meta.fields)
        return ["state", *PromotionCodeAdminForm.Meta.fields, *self.readonly_fields[1:], "is_active"]

    def get_fieldsets(self, request, obj=None):
        """The add/change page in groups; the bonus terms (issue 16) in their own fieldset."""
        groups = [
            (None, {"fields": ["code", "campaign"]}),
            (
                "Reward",
                {"fields": ["reward_kind", "bonus_amount", *REWARD_FIELDS[PromotionCode.RewardKind.FREE_SPINS]]},
            ),
            (
                "Bonus terms",
                {
                    "fields": ["pays_as", *BONUS_TERMS],
                    "description": "For a bonus-money reward only. Cash pays the bonus as withdrawable cash "
                    "(leave the terms empty); bonus funds need a wagering multiple (at most "
                    f"{max_wagering_multiple()}x), a maximum stake and a validity.",
                },
            ),
            ("Validity", {"fields": ["starts_at", "ends_at"]}),
            ("Limit", {"fields": ["limit_policy", "limit"]}),
        ]
        if obj is not None:
            groups[0][1]["fields"] = ["state", "code", "campaign"]
            groups.append(("History", {"fields": [*self.readonly_fields[1:], "is_active"]}))
        return groups

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return self.get_fields(request, obj)

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def has_change_permission(self, request, obj=None):
        # Codes are immutable once issued (view-only); the changelist actions still need the permission.
        if obj is not None:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if change:
            return
        data = form.cleaned_data
        issued = services.issue_code(
            code=data["code"], campaign=data.get("campaign", ""), created_by=request.user, **spec_from(data)
        )
        obj.pk = issued.pk
        obj.__dict__.update({k: v for k, v in issued.__dict__.items() if not k.startswith("_")})

    def add_view(self, request, form_url="", extra_context=None):
        try:
            return super().add_view(request, form_url, extra_context)
        except DomainError as exc:  # e.g. another staff member issued the same code a moment ago
            messages.error(request, exc.message)
            return redirect(request.path)

    def save_related(self, request, form, formsets, change):
        pass  # no many-to-many or inlines on add

    # --- actions -------------------------------------------------------------------------------
    @admin.action(description="Deactivate selected codes", permissions=["change"])
    def deactivate(self, request, queryset):
        done = 0
        for promo in queryset.order_by("pk"):
            if promo.is_active:
                services.deactivate_code(code=promo, actor=request.user)
                done += 1
        self.message_user(request, f"Deactivated {done} code(s).", messages.SUCCESS)

    @admin.action(description="Download selected codes as CSV", permissions=["view"])
    def download_csv(self, request, queryset):
        ids = queryset.values_list("pk", flat=True)
        return codes_csv_response(selectors.codes_for_export(ids=ids), filename="promotion-codes.csv")

    # --- bulk issue and campaign export pages ----------------------------------------------------
    def get_urls(self):
        extra = [
            path("bulk-issue/", self.admin_site.admin_view(self.bulk_issue_view), name="promotions_code_bulk_issue"),
            path("export-csv/", self.admin_site.admin_view(self.export_csv_view), name="promotions_code_export_csv"),
        ]
        return extra + super().get_urls()

    def bulk_issue_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = BulkIssueForm(request.POST if request.method == "POST" else None)  # an empty POST is still a POST
        issued = None
        status = 200
        if request.method == "POST":
            if form.is_valid():
                data = form.cleaned_data
                try:
                    issued = services.issue_codes_bulk(
                        count=data["count"],
                        prefix=data["prefix"],
                        length=data["length"],
                        campaign=data["campaign"],
                        created_by=request.user,
                        **spec_from(data),
                    )
                except DomainError as exc:
                    form.add_error(None, exc.message)
            if form.errors:
                status = 422
            else:
                self.message_user(request, f"Issued {len(issued)} codes for {form.cleaned_data['campaign']}.")
        ctx = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Bulk issue promotion codes",
            "form": form,
            "issued": issued,
            "campaign": form.cleaned_data.get("campaign") if issued else None,
        }
        return TemplateResponse(request, "admin/promotions/promotioncode/bulk_issue.html", ctx, status=status)

    def export_csv_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        campaign = request.GET.get("campaign", "").strip()
        if not campaign:
            self.message_user(request, "Choose a campaign to export.", messages.ERROR)
            return redirect("admin:promotions_promotioncode_changelist")
        codes = selectors.codes_for_export(campaign=campaign)
        return codes_csv_response(codes, filename=f"codes-{_safe_filename(campaign)}.csv")


@admin.register(Redemption)
class RedemptionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("code", "player", "reward_kind", "bonus_amount", "free_spins_count", "created_at")
    list_select_related = ("code", "player")
    search_fields = ("code__code", "player__username")
    list_filter = ("reward_kind",)
    readonly_fields = ("code", "player", "reward_kind", "bonus_amount", "free_spins_count", "created_at")
    date_hierarchy = "created_at"
    show_full_result_count = False
