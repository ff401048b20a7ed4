"""The ledger in the admin: append-only, viewable, never edited."""

from django.contrib import admin

from accounts.models import LedgerEntry, LedgerTransaction
from core.admin import ReadOnlyAdminMixin


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
