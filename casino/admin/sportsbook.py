"""Admin for sports events, bets and the payout queue (issue 4).

Events are edited with their markets inline (and a market's selections inline
on the market page; Django admin has no nested inlines). Settling is a page
per event (``Settle`` button / action): pick the results, review what will be paid
(nothing is written yet; a kick-off still in the future is flagged), then confirm,
which calls ``settle_event`` and writes an audit row. Bets and payouts are read-only:
money moves only via services. A market's event is locked once it has bets (issue 13: the database refuses too).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from accounts.models import User
from casino import selectors, services
from casino.forms.sportsbook import SettleEventForm
from casino.models import Market, Payout, Selection, SportEvent, Sportsbet
from casino.models.sportsbook import Notice
from casino.selectors import settlement
from casino.services.sportsbook import parse_result
from core.admin import BoundedInlineMixin, LabelledWidgetsMixin, LockedFieldsAdminMixin, ReadOnlyAdminMixin
from core.exceptions import DomainError
from core.money import format_money


class MarketInline(LabelledWidgetsMixin, BoundedInlineMixin, admin.TabularInline):
    label_every_widget = True
    model = Market
    extra = 1
    fields = ("name", "max_stake")
    show_change_link = True


class SelectionInline(LabelledWidgetsMixin, BoundedInlineMixin, admin.TabularInline):
    label_every_widget = True
    model = Selection
    extra = 3
    fields = ("name", "odds", "result")
    readonly_fields = ("result",)


class SettledReadOnly:
    """Once an event is settled its markets, selections and odds are history."""

    def _settled(self, obj) -> bool:
        event = obj if isinstance(obj, SportEvent) else getattr(obj, "event", None)
        return bool(event and event.status == SportEvent.Status.SETTLED)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and not self._settled(obj)

    def has_delete_permission(self, request, obj=None):
        # A market with bets is PROTECTed by the bets anyway; no deleting history.
        return super().has_delete_permission(request, obj) and not self._settled(obj)


class SettledInline(SettledReadOnly):
    def has_add_permission(self, request, obj=None):
        return super().has_add_permission(request, obj) and not self._settled(obj)


class SettledMarketInline(SettledInline, MarketInline):
    pass


class SettledSelectionInline(SettledInline, SelectionInline):
    pass


@admin.register(SportEvent)
class SportEventAdmin(LabelledWidgetsMixin, SettledReadOnly, admin.ModelAdmin):
    list_display = ("name", "sport", "starts_at", "status", "bet_count", "settle_link")
    list_filter = ("status", "sport")
    search_fields = ("name",)
    date_hierarchy = "starts_at"
    fields = ("name", "sport", "starts_at", "status", "settled_at")
    readonly_fields = ("status", "settled_at")
    inlines = [SettledMarketInline]
    actions = ["settle_selected"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_bets=Count("markets__selections__bets"))

    @admin.display(description="Bets", ordering="_bets")
    def bet_count(self, obj):
        return obj._bets

    @admin.display(description="Settle")
    def settle_link(self, obj):
        if obj.status != SportEvent.Status.OPEN:
            return "settled"
        return format_html(
            '<a class="button" href="{}">Settle…</a>', reverse("admin:casino_sportevent_settle", args=[obj.pk])
        )

    @admin.action(description="Settle the selected event (enter the result)", permissions=["change"])
    def settle_selected(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Settle one event at a time: pick exactly one.", messages.WARNING)
            return None
        return HttpResponseRedirect(reverse("admin:casino_sportevent_settle", args=[queryset.get().pk]))

    def get_urls(self):
        urls = [
            path("<int:pk>/settle/", self.admin_site.admin_view(self.settle_view), name="casino_sportevent_settle"),
        ]
        return urls + super().get_urls()

    def settle_view(self, request, pk):
        """Pick each market's winner (or void), review what will be paid, then settle: once,
        whatever the number of tabs. Nothing is written until the review is confirmed."""
        event = get_object_or_404(SportEvent, pk=pk)
        if not admin.ModelAdmin.has_change_permission(self, request):  # the model permission, settled or not
            raise PermissionDenied
        form = SettleEventForm(request.POST if request.method == "POST" else None, event=event)  # empty POST too
        status, preview = 200, None
        if request.method == "POST":
            parsed = self._checked_result(form, event)
            if parsed is not None and "confirm" in request.POST:
                try:
                    report = services.settle_event(event=event, result=parsed, actor=request.user)
                except DomainError as exc:
                    form.add_error(None, exc.message)
                else:
                    self.message_user(
                        request,
                        f"{event} settled: {report.won} won, {report.lost} lost, {report.void} void; "
                        f"{report.payouts} payouts queued ({format_money(report.queued_amount)}).",
                        messages.SUCCESS,
                    )
                    return HttpResponseRedirect(reverse("admin:casino_sportevent_changelist"))
            elif parsed is not None and "change" not in request.POST:
                preview = settlement.settlement_preview(event=event, result=parsed)
            if form.errors:
                status = 422
        ctx = {
            **self.admin_site.each_context(request),
            "title": f"Confirm the result of {event}" if preview else f"Settle {event}",
            "event": event,
            "form": form,
            "preview": preview,
            "before_kickoff": event.starts_at > timezone.now(),
            "opts": self.model._meta,
            "bet_count": Sportsbet.objects.filter(selection__market__event=event).count(),
        }
        template = "settle_confirm.html" if preview else "settle.html"
        return render(request, f"admin/casino/sportevent/{template}", ctx, status=status)

    @staticmethod
    def _checked_result(form: SettleEventForm, event: SportEvent) -> dict | None:
        """The posted result, checked by the service's own parser; None (with form errors) if unusable."""
        if not form.is_valid():
            return None
        if event.status != SportEvent.Status.OPEN:  # a fast path for a clear answer; settle_event re-checks
            form.add_error(None, f"{event} was already settled.")
            return None
        try:
            return parse_result(event=event, result=form.result())
        except DomainError as exc:
            form.add_error(None, exc.message)
            return None


@admin.register(Market)
class MarketAdmin(LockedFieldsAdminMixin, SettledReadOnly, admin.ModelAdmin):
    list_display = ("name", "event", "max_stake")
    search_fields = ("name", "event__name")
    list_select_related = ("event",)
    raw_id_fields = ("event",)  # an autocomplete widget re-renders a malformed id with a query (a 500)
    inlines = [SettledSelectionInline]

    def locked_fields(self, request, obj):
        # Bets settle with their market's event: moved, they would never settle (the database refuses too).
        if Sportsbet.objects.filter(selection__market=obj).exists():
            return ("event",), "The event is locked: bets have been placed on this market, and they settle with it."
        return (), ""


@admin.register(Sportsbet)
class SportsbetAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "player", "selection", "odds", "stake", "status", "created_at", "settled_at")
    list_filter = ("status",)
    search_fields = ("player__username", "selection__market__event__name")
    list_select_related = ("player", "selection__market__event")
    raw_id_fields = ("player", "selection")


class QueuedPlayerFilter(admin.SimpleListFilter):
    """Players who are owed money right now (the long tail is reachable by search)."""

    title = "player with queued payouts"
    parameter_name = "player"

    def lookups(self, request, model_admin):
        rows = (
            Payout.objects.filter(state=Payout.State.QUEUED)
            .values_list("player_id", "player__username")
            .distinct()
            .order_by("player__username")[:50]
        )
        return [(str(pk), name) for pk, name in rows]

    def queryset(self, request, queryset):
        value = self.value()
        return queryset.filter(player_id=value) if value and value.isdigit() else queryset


@admin.register(Payout)
class PayoutAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The payout queue: what the book owes, to whom, and what was paid."""

    list_display = ("id", "player", "bet_link", "kind", "amount", "state", "created_at", "paid_at")
    list_filter = ("state", "kind", QueuedPlayerFilter)
    search_fields = ("player__username", "=bet__id")
    list_select_related = ("player", "bet")
    date_hierarchy = "created_at"
    actions = ["pay_now"]

    @admin.display(description="Bet")
    def bet_link(self, obj):
        return format_html(
            '<a href="{}">#{}</a>', reverse("admin:casino_sportsbet_change", args=[obj.bet_id]), obj.bet_id
        )

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context=extra_context)
        if hasattr(response, "context_data"):
            cl = response.context_data.get("cl")
            response.context_data["liability"] = selectors.queued_liability()
            if cl is not None:
                response.context_data["filtered_liability"] = selectors.queued_liability(cl.queryset)
        return response

    def has_pay_permission(self, request):
        return request.user.is_staff and request.user.has_perm("casino.change_payout")

    @admin.action(description="Pay now (players not at a machine)", permissions=["pay"])
    def pay_now(self, request, queryset):
        player_ids = set(queryset.filter(state=Payout.State.QUEUED).values_list("player_id", flat=True))
        paid = skipped = 0
        for player in User.objects.filter(pk__in=player_ids).order_by("pk"):
            done = services.pay_out_player(player=player, actor=request.user)  # audited per payout, inside it
            if done:
                paid += len(done)
            else:
                skipped += 1
        self.message_user(
            request, f"Paid {paid} payouts; {skipped} players skipped (in a game session: paid when they leave)."
        )


@admin.register(Notice)
class NoticeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The players' "bet settled" / "payout paid" notices: read-only (support can see what was shown when)."""

    list_display = ("created_at", "player", "kind", "bet", "amount", "seen_at")
    list_filter = ("kind",)
    search_fields = ("player__username",)
    list_select_related = ("player", "bet__selection")
