"""Responsible gaming in the admin: staff can see limits and exclusions, never lift them."""

from django.contrib import admin
from django.utils import timezone

from accounts.models import ResponsibleGamingProfile, SelfExclusion
from core.admin import ReadOnlyAdminMixin


class ViewOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Player-owned protections: made only by the player through services, never edited or lifted here."""


class ActiveFilter(admin.SimpleListFilter):
    title = "in force"
    parameter_name = "active"

    def lookups(self, request, model_admin):
        return [("yes", "In force"), ("no", "Ended")]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "yes":
            return queryset.filter(starts_at__lte=now, ends_at__gt=now)
        if self.value() == "no":
            return queryset.filter(ends_at__lte=now)
        return queryset


@admin.register(SelfExclusion)
class SelfExclusionAdmin(ViewOnlyAdmin):
    list_display = ("player", "kind", "starts_at", "ends_at", "in_force")
    list_filter = (ActiveFilter, "kind")
    list_select_related = ("player",)
    search_fields = ("player__username", "player__email")
    readonly_fields = ("player", "kind", "starts_at", "ends_at", "created_at")
    date_hierarchy = "starts_at"

    @admin.display(boolean=True, description="In force")
    def in_force(self, obj):
        return obj.is_active()


@admin.register(ResponsibleGamingProfile)
class ResponsibleGamingProfileAdmin(ViewOnlyAdmin):
    list_display = ("player", "daily_limit", "weekly_limit", "monthly_limit", "updated_at")
    list_select_related = ("player",)
    search_fields = ("player__username", "player__email")
    readonly_fields = (
        "player",
        "daily_limit",
        "daily_pending",
        "daily_pending_at",
        "weekly_limit",
        "weekly_pending",
        "weekly_pending_at",
        "monthly_limit",
        "monthly_pending",
        "monthly_pending_at",
        "version",
        "updated_at",
    )
