"""Admin pieces every app shares, and the audit trail (read only)."""

from django.contrib import admin

from core.models import AuditLog


class ReadOnlyAdminMixin:
    """The ledger and money fields are append-only: viewable, never edited in the admin."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "actor", "action", "target")
    list_filter = ("action",)
    search_fields = ("target", "actor__username")
    readonly_fields = ("actor", "action", "target", "details", "created_at")
