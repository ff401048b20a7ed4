"""Admin for vendors, their promotions and history (issue 8).

The promotions inline shows only active and future promotions. Adding,
editing and removing them goes through the services (which check both
invariants atomically and bump the vendor's version); the inline's formset
dry-runs the same check so conflicts show as form errors. History is
read-only. Each vendor has a timeline page: rows per type, bars per promotion.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from casino.models import Vendor
from core.admin import BoundedInlineMixin, LabelledWidgetsMixin, ReadOnlyAdminMixin
from core.exceptions import DomainError
from core.money import format_money
from promotions import selectors, services
from promotions.forms.vendors import VendorPromotionForm, VendorPromotionFormSet
from promotions.models import PromotionHistory, VendorPromotion
from promotions.services.vendors import BONUS_TERMS

BONUS_TERMS_TITLE = "Bonus terms (cashback only)"
BONUS_TERMS_HELP = (
    "Cashback pays cash unless set to bonus funds: then a wagering multiple (at most 10x), a maximum "
    "stake while wagering and a validity in days are needed; a conversion cap is optional. "
    "Free spins and win boosts always pay cash."
)


class _NotSaved(DomainError):
    """Raised out of the admin's transaction so it rolls back."""


class VendorPromotionInline(LabelledWidgetsMixin, BoundedInlineMixin, admin.TabularInline):
    label_every_widget = True  # a table: its inputs have no <label>
    model = VendorPromotion
    form = VendorPromotionForm
    formset = VendorPromotionFormSet
    # One column per field, but the bonus terms share one cell, grouped under their own
    # heading (the template renders a named fieldset as a <fieldset> in one column).
    fieldsets = (
        (None, {"fields": ("kind", "starts_at", "ends_at", "free_spins_count", "free_spin_stake", "percent", "state")}),
        (BONUS_TERMS_TITLE, {"fields": BONUS_TERMS, "description": BONUS_TERMS_HELP}),
    )
    template = "admin/casino/vendor/promotions_inline.html"
    bonus_terms = BONUS_TERMS
    bonus_terms_title = BONUS_TERMS_TITLE
    bonus_terms_help = BONUS_TERMS_HELP
    readonly_fields = ("state",)
    extra = 1
    verbose_name = "active or future promotion"
    verbose_name_plural = "Promotions (active and future; at most one per type and two at a time)"

    def get_queryset(self, request):
        return super().get_queryset(request).filter(ends_at__gt=timezone.now()).order_by("starts_at")

    @admin.display(description="State")
    def state(self, obj):
        if not obj or not obj.pk:
            return "—"
        if obj.starts_at <= timezone.now():
            return mark_safe('<span class="badge ok">running</span>')  # noqa: S308 - constant
        return mark_safe('<span class="badge">upcoming</span>')  # noqa: S308 - constant


@admin.register(Vendor)
class VendorAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "running", "upcoming", "version", "timeline_link")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("version", "created_at", "updated_at")
    fields = ("name", "slug", "version", "created_at", "updated_at")
    inlines = [VendorPromotionInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("promotions")

    @admin.display(description="Running now")
    def running(self, obj):
        now = timezone.now()
        return ", ".join(p.get_kind_display() for p in obj.promotions.all() if p.starts_at <= now < p.ends_at) or "—"

    @admin.display(description="Upcoming")
    def upcoming(self, obj):
        return sum(1 for p in obj.promotions.all() if p.starts_at > timezone.now())

    @admin.display(description="Timeline")
    def timeline_link(self, obj):
        return format_html('<a href="{}">timeline</a>', reverse("admin:casino_vendor_timeline", args=[obj.pk]))

    # -- writes ------------------------------------------------------------
    def save_model(self, request, obj, form, change):
        # The version belongs to the promotions aggregate: a rename must never
        # write back a stale version read with the form.
        if change:
            obj.save(update_fields=["name", "slug", "updated_at"])
        else:
            obj.save()

    def save_formset(self, request, form, formset, change):
        if formset.model is not VendorPromotion:
            return super().save_formset(request, form, formset, change)
        vendor = form.instance
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        try:
            # Removals first, then edits, then additions: each step frees room for the next.
            for f in formset.deleted_forms:
                if f.instance.pk:
                    services.remove_vendor_promotion(promotion=f.instance, actor=request.user)
                    formset.deleted_objects.append(f.instance)
            for f in formset.forms:
                if f in formset.deleted_forms or not f.has_changed() or not f.instance.pk:
                    continue
                data = f.cleaned_data
                promo = services.update_vendor_promotion_window(
                    promotion=f.instance,
                    starts_at=data["starts_at"],
                    ends_at=data["ends_at"],
                    actor=request.user,
                    **f.params,
                )
                formset.changed_objects.append((promo, f.changed_data))
            for f in formset.forms:
                if f in formset.deleted_forms or not f.has_changed() or f.instance.pk:
                    continue
                data = f.cleaned_data
                promo = services.add_vendor_promotion(
                    vendor=vendor,
                    kind=data["kind"],
                    starts_at=data["starts_at"],
                    ends_at=data["ends_at"],
                    actor=request.user,
                    **f.params,
                )
                formset.new_objects.append(promo)
        except DomainError as exc:
            # Someone changed the vendor between the form check and the save and
            # the service refused: abort the admin's transaction (nothing of this
            # submit is kept) and report it (see changeform_view).
            raise _NotSaved(exc.message) from exc

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except _NotSaved as exc:
            messages.error(request, f"Promotions not saved: {exc.message}")
            if object_id and Vendor.objects.filter(pk=object_id).exists():
                return HttpResponseRedirect(reverse("admin:casino_vendor_change", args=[object_id]))
            return HttpResponseRedirect(reverse("admin:casino_vendor_add"))

    def has_delete_permission(self, request, obj=None):
        return False  # promotions and history point at the vendor (PROTECT)

    # -- the timeline page ---------------------------------------------------
    def get_urls(self):
        urls = super().get_urls()
        extra = [
            path(
                "<int:vendor_id>/timeline/",
                self.admin_site.admin_view(self.timeline_view),
                name="casino_vendor_timeline",
            )
        ]
        return extra + urls

    def timeline_view(self, request, vendor_id: int):
        if not self.has_view_permission(request):
            raise PermissionDenied
        vendor = get_object_or_404(Vendor, pk=vendor_id)
        start = _parse_day(request.GET.get("from"))
        timeline = selectors.vendor_timeline(vendor=vendor, start=start)
        step = timedelta(days=28)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"{vendor.name}: promotions timeline",
            "vendor": vendor,
            "timeline": timeline,
            "earlier": (timeline.starts_at - step).date().isoformat(),
            "later": (timeline.starts_at + step).date().isoformat(),
            "live": selectors.live_promotions(vendor=vendor),
            "history_url": reverse("admin:promotions_promotionhistory_changelist") + f"?vendor__id__exact={vendor.pk}",
        }
        return TemplateResponse(request, "admin/casino/vendor/timeline.html", context)


def _parse_day(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        day = datetime.strptime(value, "%Y-%m-%d")  # noqa: DTZ007 - made aware below
    except ValueError:
        return None
    return timezone.make_aware(day)


@admin.register(PromotionHistory)
class PromotionHistoryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("vendor", "kind", "starts_at", "ends_at", "parameters", "original_id", "archived_at")
    list_filter = ("kind", "vendor")
    list_select_related = ("vendor",)
    search_fields = ("vendor__name", "vendor__slug", "=original_id")
    date_hierarchy = "ends_at"
    readonly_fields = (
        "original_id",
        "vendor",
        "kind",
        "starts_at",
        "ends_at",
        "free_spins_count",
        "free_spin_stake",
        "percent",
        *BONUS_TERMS,
        "promotion_created_at",
        "archived_at",
        "created_at",
    )
    fields = readonly_fields

    @admin.display(description="Parameters")
    def parameters(self, obj):
        if obj.kind == "free_spins":
            return f"{obj.free_spins_count} × {format_money(obj.free_spin_stake)}"
        if obj.pays_bonus:
            return f"{obj.percent}% as bonus funds ({obj.describe_terms(format_money)})"
        return f"{obj.percent}%"
