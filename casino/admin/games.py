"""Admin for games, sessions, spins and free-spin grants (issue 3).

Money never moves through a form here: session money fields are read-only and
"close and cash out" calls ``casino.services.leave`` (which writes the audit row).
A session's bonus money (issue 16) is shown apart from its cash, with a link to the bonus
grant it came from (by URL name: casino does not import promotions).
A game's reels and paytable are locked while a session is open on it (issue 13: the
database refuses too); its stakes, texts and active flag still change.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import Subquery
from django.urls import reverse
from django.utils.html import format_html

from casino import selectors, services
from casino.forms.games import GameAdminForm
from casino.models import FreeSpinGrant, Game, GameSession, GameVersion, Spin
from casino.slots import Machine, PaytableError, percent
from core.admin import LockedFieldsAdminMixin, ReadOnlyAdminMixin
from core.exceptions import DomainError
from core.money import format_money

SPINS_SHOWN_INLINE = 100
VERIFY_INLINE_MAX_SPINS = 5_000  # the change page recomputes up to this many spins (~0.1 s); more: the command
FAIR_FIELDS = ("commitment", "server_seed_revealed", "client_seed", "game_version_link", "verification")
MONEY_COLUMNS = ("balance", "total_fed", "total_staked", "total_won", "cashed_out", "spin_count")
BONUS_FIELDS = (
    "bonus_balance",
    "bonus_grant",
    "bonus_fed",
    "bonus_staked",
    "bonus_won",
    "bonus_returned",
    "wagering_contribution",
    "bonus_max_stake",
)


class GameWageringForm(GameAdminForm):
    """The game form plus its bonus wagering contribution (issue 16), a percentage 0-100.

    A POST without the field (a client that predates it) keeps the game's value, as Django
    does for a field with a default; an emptied box is an error, never a NULL.
    """

    class Meta(GameAdminForm.Meta):
        fields = [*GameAdminForm.Meta.fields, "wagering_contribution"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if field := self.fields.get("wagering_contribution"):
            field.required = False  # 0-100: ``GameAdmin.formfield_for_dbfield``

    def clean_wagering_contribution(self):
        value = self.cleaned_data.get("wagering_contribution")
        if value is not None:
            return value
        name = "wagering_contribution"
        if self.fields[name].widget.value_omitted_from_data(self.data, self.files, self.add_prefix(name)):
            return self.instance.wagering_contribution
        raise forms.ValidationError("Give a percentage from 0 to 100 (0: the game does not count).")


@admin.register(Game)
class GameAdmin(LockedFieldsAdminMixin, admin.ModelAdmin):
    form = GameWageringForm
    list_display = (
        "name",
        "slug",
        "vendor",
        "min_stake",
        "max_stake",
        "theoretical_rtp",
        "wagering_contribution",
        "is_active",
    )
    list_filter = ("is_active", "vendor")
    list_select_related = ("vendor",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("theoretical_rtp", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("slug", "name", "vendor", "description", "is_active")}),
        ("Stakes", {"fields": ("min_stake", "max_stake")}),
        (
            "Bonus wagering",
            {
                "fields": ("wagering_contribution",),
                "description": "The percentage of each stake on this game that counts towards a bonus's wagering "
                "requirement: 100 counts in full, 10 counts a tenth, 0 not at all (players cannot feed bonus "
                "money into it and are told so before feeding). A change counts from the next stake: "
                "stakes already made keep the percentage they were made at.",
            },
        ),
        ("Reels and paytable", {"fields": ("reels", "paytable", "theoretical_rtp")}),
        ("History", {"fields": ("created_at", "updated_at")}),
    )

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "wagering_contribution":
            kwargs.update(min_value=0, max_value=100)  # a percentage (the database refuses more, too)
        return super().formfield_for_dbfield(db_field, request, **kwargs)

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
    fields = (
        "id",
        "nonce",
        "created_at",
        "idempotency_key",
        "stops",
        "symbols",
        "stake",
        "free_spin",
        "win",
        "boost",
        "boost_percent",
        "balance_after",
    )
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
    list_display = (
        "id",
        "player",
        "game",
        "status",
        *MONEY_COLUMNS,
        "bonus_balance",
        "last_activity_at",
        "close_reason",
    )
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
        *FAIR_FIELDS,
        *BONUS_FIELDS,
    )
    fieldsets = (
        (None, {"fields": readonly_fields[: -len(BONUS_FIELDS) - len(FAIR_FIELDS)]}),
        (
            "Provably fair",
            {
                "fields": FAIR_FIELDS,
                "description": "Every spin is derived from the server seed, the client seed and the spin's nonce "
                "(casino/fair.py). The server seed stays hidden here while the session is open, as it does from "
                "the player; once closed, it is shown and the spins are recomputed below "
                "(or: manage.py verify_session ID).",
            },
        ),
        (
            "Bonus money",
            {
                "fields": BONUS_FIELDS,
                "description": "Held apart from the cash (ledger sessionbonus:<id>); it goes back to its grant "
                "when the player leaves. Wagering contribution: stakes x the game's percentage, folded into "
                "the player's grants on leaving.",
            },
        ),
    )
    inlines = [SpinInline]
    actions = ["close_and_cash_out"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Server seed")
    def server_seed_revealed(self, obj):
        if obj.is_open:
            return "hidden until the session closes"
        return obj.revealed_server_seed or "— (played before provably fair play)"

    @admin.display(description="Commitment (SHA-256 of the server seed)")
    def commitment(self, obj):
        return obj.commitment or "—"

    @admin.display(description="Game version")
    def game_version_link(self, obj):
        if obj.game_version_id is None:
            return "—"
        url = reverse("admin:casino_gameversion_change", args=[obj.game_version_id])
        return format_html('<a href="{}">#{}</a>', url, obj.game_version_id)

    @admin.display(description="Verification")
    def verification(self, obj):
        if obj.is_open:
            return "after the session closes"
        if obj.spin_count > VERIFY_INLINE_MAX_SPINS:
            return f"{obj.spin_count:,} spins: run manage.py verify_session {obj.pk}"
        try:
            result = selectors.verify_session(obj).result
        except DomainError as exc:
            return exc.message
        if result.ok:
            return f"✓ commitment, game version and all {len(result.spins)} spin(s) verified"
        return f"✗ {len(result.problems)} session problem(s), {result.failed_spins} spin(s) do not verify"

    @admin.display(description="Bonus grant")
    def bonus_grant(self, obj):
        if obj.bonus_source is None:
            return "—"
        url = reverse("admin:promotions_bonusgrant_change", args=[obj.bonus_source])
        return format_html('<a href="{}">Bonus #{}</a>', url, obj.bonus_source)

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


@admin.register(GameVersion)
class GameVersionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The reels and paytable sessions were played on (issue 17); never changed."""

    list_display = ("id", "game", "digest", "created_at")
    list_filter = ("game",)
    list_select_related = ("game",)
    search_fields = ("digest", "game__name")
    readonly_fields = ("game", "digest", "reels", "paytable", "created_at")
