from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from accounts.models import Account, AuditLog, LedgerEntry, LedgerTransaction, User


class ReadOnlyAdminMixin:
    """The ledger and money fields are append-only: viewable, never edited in the admin."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class AccountInline(ReadOnlyAdminMixin, admin.StackedInline):
    model = Account
    fields = ("balance", "version", "updated_at")
    readonly_fields = fields
    can_delete = False


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "email", "is_staff", "is_active", "balance", "date_joined")
    list_select_related = ("account",)
    inlines = [AccountInline]

    @admin.display(description="Balance", ordering="account__balance")
    def balance(self, obj):
        account = getattr(obj, "account", None)
        return account.balance if account else "—"


@admin.register(Account)
class AccountAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("user", "balance", "version", "updated_at")
    list_select_related = ("user",)
    search_fields = ("user__username", "user__email")
    readonly_fields = ("user", "balance", "version", "created_at", "updated_at")


class LedgerEntryInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = LedgerEntry
    fields = ("account", "amount")
    readonly_fields = fields
    extra = 0


@admin.register(LedgerTransaction)
class LedgerTransactionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "kind", "idempotency_key", "reference", "created_at")
    list_filter = ("kind", "created_at")
    search_fields = ("idempotency_key", "reference", "entries__account")
    readonly_fields = ("kind", "idempotency_key", "reference", "description", "created_at")
    inlines = [LedgerEntryInline]
    date_hierarchy = "created_at"
    show_full_result_count = False


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "transaction", "account", "amount", "created_at")
    list_select_related = ("transaction",)
    search_fields = ("account", "transaction__idempotency_key")
    list_filter = ("transaction__kind",)
    show_full_result_count = False


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "actor", "action", "target")
    list_filter = ("action",)
    search_fields = ("target", "actor__username")
    readonly_fields = ("actor", "action", "target", "details", "created_at")
