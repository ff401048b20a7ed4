"""Admin for games, sessions, spins and free-spin grants (issue 3).

Money never moves through a form here: session money fields are read-only and
"close and cash out" calls ``casino.services.leave`` (which writes the audit row).
A game's reels and paytable are locked while a session is open on it (issue 13: the
database refuses too); its stakes, texts and active flag still change.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Subquery

from casino import services
from casino.forms.games import GameAdminForm
from casino.models import FreeSpinGrant, Game, GameSession, Spin
from casino.slots import Machine, PaytableError, percent
from core.admin import LockedFieldsAdminMixin, ReadOnlyAdminMixin
from core.exceptions import DomainError
from core.money import format_money

SPINS_SHOWN_INLINE = 100
MONEY_COLUMNS = ("balance", "total_fed", "total_staked", "total_won", "cashed_out", "spin_count")


@admin.register(Game)
class GameAdmin(LockedFieldsAdminMixin, admin.ModelAdmin):
    form = GameAdminForm
    list_display = ("name", "slug", "vendor", "min_stake", "max_stake", "theoretical_rtp", "is_active")
    list_filter = ("is_active", "vendor")
    list_select_related = ("vendor",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("theoretical_rtp", "created_at", "updated_at")

    @admin.display(description="Theoretical RTP")
    def theoretical_rtp(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        try:
            return percent(Machine.for_game(obj).rtp)
        except PaytableError as exc:
            return f"invalid: {exc}"

    def has_delete_permission(self, request, obj=None):
        return False  # games with sessions are protected; deactivate instead

    def locked_fields(self, request, obj):
        # What a spin pays comes from both: never changed under a player at the machine.
        open_sessions = GameSession.objects.filter(game=obj, status=GameSession.Status.OPEN).count()
        if open_sessions:
            return ("reels", "paytable"), (
                f"Reels and paytable are locked while {open_sessions} session(s) are open on this game: "
                'close them first (untick "Is active" to stop new ones).'
            )
        return (), ""


class SpinInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Spin
    fields = ("id", "created_at", "idempotency_key", "symbols", "stake", "free_spin", "win", "boost", "balance_after")
    readonly_fields = fields
    extra = 0
    ordering = ("-id",)
    verbose_name_plural = f"spins (latest {SPINS_SHOWN_INLINE})"

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        object_id = request.resolver_match.kwargs.get("object_id") if request.resolver_match else None
        if object_id:
            latest = Spin.objects.filter(session_id=object_id).order_by("-id").values("id")[:SPINS_SHOWN_INLINE]
            qs = qs.filter(pk__in=Subquery(latest))
        return qs


class OpenClosedFilter(admin.SimpleListFilter):
    title = "open / closed"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("open", "Open"), ("closed", "Closed")]

    def queryset(self, request, queryset):
        if self.value() in ("open", "closed"):
            return queryset.filter(status=self.value())
        return queryset


@admin.register(GameSession)
class GameSessionAdmin(admin.ModelAdmin):
    list_display = ("id", "player", "game", "status", *MONEY_COLUMNS, "last_activity_at", "close_reason")
    list_filter = (OpenClosedFilter, "close_reason", "game")
    list_select_related = ("player", "game")
    search_fields = ("player__username", "id")
    date_hierarchy = "created_at"
    show_full_result_count = False
    readonly_fields = (
        "player",
        "game",
        "status",
        *MONEY_COLUMNS,
        "version",
        "last_activity_at",
        "closed_at",
        "close_reason",
        "created_at",
        "updated_at",
    )
    fields = readonly_fields
    inlines = [SpinInline]
    actions = ["close_and_cash_out"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Close and cash out selected open sessions", permissions=["change"])
    def close_and_cash_out(self, request, queryset):
        closed, total, failed = 0, 0, []
        for session in queryset.filter(status=GameSession.Status.OPEN).order_by("pk"):
            try:
                result = services.leave(session=session, reason=GameSession.CloseReason.STAFF, actor=request.user)
            except DomainError as exc:
                failed.append(f"#{session.pk}: {exc.message}")
                continue
            if result.close_reason == GameSession.CloseReason.STAFF:
                closed += 1
                total += result.cashed_out
        if closed:
            self.message_user(
                request, f"Closed {closed} session(s), cashed out {format_money(total)} in total.", messages.SUCCESS
            )
        else:
            self.message_user(request, "No open session was selected.", messages.WARNING)
        for failure in failed:
            self.message_user(request, f"Could not close {failure}", messages.ERROR)


@admin.register(FreeSpinGrant)
class FreeSpinGrantAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "player", "game", "stake", "remaining", "granted", "source_key", "expires_at", "created_at")
    list_filter = ("game",)
    list_select_related = ("player", "game")
    search_fields = ("player__username", "source_key")
    readonly_fields = (
        "player",
        "game",
        "stake",
        "granted",
        "remaining",
        "source_key",
        "description",
        "expires_at",
        "version",
        "created_at",
        "updated_at",
    )
