"""Players and their money accounts in the admin, and the account's activity page
(linked from the player's change page: ``templates/admin/accounts/user/change_form.html``)."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from accounts.models import Account, User
from accounts.selectors import activity
from core.admin import LabelledWidgetsMixin, ReadOnlyAdminMixin
from core.money import format_money


class AccountInline(ReadOnlyAdminMixin, admin.StackedInline):
    model = Account
    fields = ("balance", "version", "updated_at")
    readonly_fields = fields
    can_delete = False


@admin.register(User)
class UserAdmin(LabelledWidgetsMixin, BaseUserAdmin):
    # Plain multi-selects: the two-box widget's script writes ARIA a screen reader rejects (axe).
    filter_horizontal = ()
    list_display = ("username", "email", "is_staff", "is_active", "balance", "date_joined")
    list_select_related = ("account",)
    inlines = [AccountInline]

    @admin.display(description="Balance", ordering="account__balance")
    def balance(self, obj):
        account = getattr(obj, "account", None)
        return format_money(account.balance) if account else "—"

    @admin.display(description="Activity")
    def activity_link(self, obj):
        url = reverse("admin:accounts_user_activity", args=[obj.pk])
        return format_html('<a href="{}">Aggregate activity</a>', url)

    def get_list_display(self, request):
        return (*super().get_list_display(request), "activity_link")

    def get_urls(self):
        extra = [
            path(
                "<int:user_id>/activity/",
                self.admin_site.admin_view(self.activity_view),
                name="accounts_user_activity",
            )
        ]
        return extra + super().get_urls()

    def activity_view(self, request, user_id: int):
        """Aggregate activity: this player's account writes over time next to their sessions and
        conflicts, then (apart, headed as such) the global conflict counters of every aggregate."""
        player = get_object_or_404(User, pk=user_id)
        if not self.has_view_permission(request, player):
            raise PermissionDenied
        try:
            hours = max(1, min(int(request.GET.get("hours", 24)), 24 * 31))
        except ValueError:
            hours = 24
        context = {
            **self.admin_site.each_context(request),
            "title": f"Aggregate activity: {player.username}",
            "player": player,
            "hours": hours,
            "timeline": activity.player_timeline(player=player, hours=hours),
            "counters": activity.counters_by_aggregate(),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/accounts/user/activity.html", context)


@admin.register(Account)
class AccountAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("user", "balance", "version", "updated_at")
    list_select_related = ("user",)
    search_fields = ("user__username", "user__email")
    readonly_fields = ("user", "balance", "version", "created_at", "updated_at")
