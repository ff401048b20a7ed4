"""Admin for sports events, bets and the payout queue (issue 4).

Events are edited with their markets inline (and a market's selections inline
on the market page; Django admin has no nested inlines). Settling is a page
per event (``Settle`` button / action): pick the results, review what will be paid
(nothing is written yet; a kick-off still in the future is flagged), then confirm,
which calls ``settle_event`` and writes an audit row. Bets and payouts are read-only:
money moves only via services. A market's event is locked once it has bets (issue 13: the database refuses too).

Trading (issue 18): each event has a trading page (liability per selection, market and event,
suspend / reopen buttons per market, a change-odds page per selection, the price history).
A market's status changes only through ``suspend_market`` / ``reopen_market`` (read-only in its
form); a price changed on the market page or the odds page goes through ``change_odds`` (with
its ``OddsChange`` row); the other fields of an existing market or selection are written with a
set-based UPDATE of the fields the form changed, so a save never puts back a status or a price
somebody else changed meanwhile. Suspending and reopening need the change permission on markets,
changing a price the change permission on selections; the services write the audit rows.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, F, Q
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_http_methods

from accounts.models import User
from casino import selectors, services
from casino.forms.sportsbook import SettleEventForm
from casino.forms.trading import ChangeOddsForm, MarketAdminForm, MarketInlineForm, SelectionInlineForm
from casino.models import BetLeg, Market, OddsChange, Payout, Selection, SportEvent, Sportsbet
from casino.models.sportsbook import Notice
from casino.selectors import settlement, trading
from casino.services.liability import set_max_liability
from casino.services.sportsbook import parse_result
from core.admin import BoundedInlineMixin, LabelledWidgetsMixin, LockedFieldsAdminMixin, ReadOnlyAdminMixin
from core.exceptions import DomainError
from core.forms import add_domain_error
from core.money import format_money


def save_changed_fields(form, *, exclude: tuple[str, ...] = ()) -> None:
    """Write only what ``form`` changed on its existing row, set-based, with the version bumped:
    a stale form never puts back a status or a price written by somebody else (a new row is saved)."""
    instance = form.instance
    if instance.pk is None or instance._state.adding:
        form.save()
        return
    names = [name for name in form.changed_data if name not in exclude and name in form.cleaned_data]
    if not names:
        return
    values = {instance._meta.get_field(name).attname: getattr(instance, instance._meta.get_field(name).attname)
              for name in names}  # fmt: skip
    type(instance)._default_manager.filter(pk=instance.pk).update(
        **values, version=F("version") + 1, updated_at=timezone.now()
    )


class MarketInline(LabelledWidgetsMixin, BoundedInlineMixin, admin.TabularInline):
    label_every_widget = True
    model = Market
    form = MarketInlineForm
    extra = 1
    fields = ("name", "kind", "line", "max_stake", "status")
    readonly_fields = ("status",)
    show_change_link = True


class SelectionInline(LabelledWidgetsMixin, BoundedInlineMixin, admin.TabularInline):
    label_every_widget = True
    model = Selection
    form = SelectionInlineForm
    extra = 3
    fields = ("name", "odds", "max_liability", "liability_mode", "result")
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
    list_display = ("name", "sport", "starts_at", "status", "bet_count", "trading_link", "settle_link")
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

    @admin.display(description="Trading")
    def trading_link(self, obj):
        return format_html(
            '<a href="{}">Liability &amp; prices</a>', reverse("admin:casino_sportevent_trading", args=[obj.pk])
        )

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
            path(
                "<int:pk>/trading/",
                self.admin_site.admin_view(require_http_methods(["GET", "HEAD"])(self.trading_view)),
                name="casino_sportevent_trading",
            ),
        ]
        return urls + super().get_urls()

    def save_model(self, request, obj, form, change):
        # Only the fields the form changed: a full save would put back the status (and version)
        # it loaded, un-settling an event settled meanwhile.
        save_changed_fields(form, exclude=("status", "settled_at"))

    def save_formset(self, request, form, formset, change):
        if formset.model is not Market:
            return super().save_formset(request, form, formset, change)
        # A market's status changes only through suspend_market / reopen_market: never saved back here.
        formset.save(commit=False)  # validates deletions, sets deleted_objects
        for obj in formset.deleted_objects:
            obj.delete()
        for inline_form in formset.forms:
            if inline_form in formset.deleted_forms or not inline_form.has_changed():
                continue
            if inline_form.instance.pk is None:
                inline_form.instance.event = form.instance
            save_changed_fields(inline_form, exclude=("status",))
        return None

    def trading_view(self, request, pk):
        """The trader's page: liability per selection, market and event; suspend / reopen; prices."""
        event = get_object_or_404(SportEvent, pk=pk)
        if not self.has_view_permission(request):
            raise PermissionDenied
        ctx = {
            **self.admin_site.each_context(request),
            "title": f"Trading: {event}",
            "event": event,
            "opts": self.model._meta,
            "report": trading.event_liability(event=event),
            "history": trading.event_odds_history(event=event),
            "can_suspend": request.user.has_perm("casino.change_market") and event.status == SportEvent.Status.OPEN,
            "can_change_odds": request.user.has_perm("casino.change_selection")
            and event.status == SportEvent.Status.OPEN,
        }
        return render(request, "admin/casino/sportevent/trading.html", ctx)

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
            "bet_count": Sportsbet.objects.filter(Q(selection__market__event=event) | Q(legs__event=event))
            .distinct()
            .count(),
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
    form = MarketAdminForm
    list_display = ("name", "event", "kind", "line", "status", "max_stake")
    list_filter = ("status", "kind")
    search_fields = ("name", "event__name")
    list_select_related = ("event",)
    raw_id_fields = ("event",)  # an autocomplete widget re-renders a malformed id with a query (a 500)
    fields = ("event", "name", "kind", "line", "max_stake", "status")
    readonly_fields = ("status",)  # suspend / reopen: the buttons, through the services
    inlines = [SettledSelectionInline]
    actions = ["suspend_selected", "reopen_selected"]

    def locked_fields(self, request, obj):
        # Bets settle with their market's event: moved, they would never settle (the database refuses too).
        # Their kind and line are what the bets were placed on.
        if trading.market_has_bets(market=obj):
            return ("event", "kind", "line"), (
                "The event is locked: bets have been placed on this market, and they settle with it. "
                "Its kind and goals line are locked too."
            )
        return (), ""

    def save_model(self, request, obj, form, change):
        save_changed_fields(form, exclude=("status",))

    def save_formset(self, request, form, formset, change):
        """Selections: a changed price goes through ``change_odds`` (history, audit), a changed
        liability limit or mode through ``set_max_liability`` (its shards laid out again, audited);
        the name of an existing selection is written set-based (never a stale price or version)."""
        if formset.model is not Selection:
            return super().save_formset(request, form, formset, change)
        formset.save(commit=False)
        for obj in formset.deleted_objects:
            obj.delete()
        for inline_form in formset.forms:
            if inline_form in formset.deleted_forms or not inline_form.has_changed():
                continue
            selection = inline_form.instance
            if selection.pk is None:
                selection.market = form.instance
                inline_form.save()
                continue
            changed = set(inline_form.changed_data)
            save_changed_fields(inline_form, exclude=("odds", "max_liability", "liability_mode"))
            try:
                if "odds" in changed:
                    services.change_odds(selection=selection, odds=inline_form.cleaned_data["odds"], actor=request.user)
                if changed & {"max_liability", "liability_mode"}:  # the shards are laid out again (audited)
                    set_max_liability(
                        selection=selection,
                        max_liability=inline_form.cleaned_data["max_liability"],
                        mode=inline_form.cleaned_data["liability_mode"],
                        actor=request.user,
                    )
            except DomainError as exc:
                self.message_user(request, f"{selection.name} was not changed: {exc.message}", messages.ERROR)
        return None

    # --- suspend / reopen (buttons on the trading page, actions on the list) ----------------
    def get_urls(self):
        def view(func, methods):
            return self.admin_site.admin_view(require_http_methods(methods)(func))

        urls = [
            path("<int:pk>/suspend/", view(self.suspend_view, ["POST"]), name="casino_market_suspend"),
            path("<int:pk>/reopen/", view(self.reopen_view, ["POST"]), name="casino_market_reopen"),
            path(
                "selection/<int:pk>/odds/",
                view(self.change_odds_view, ["GET", "HEAD", "POST"]),
                name="casino_selection_change_odds",
            ),
        ]
        return urls + super().get_urls()

    def has_trade_permission(self, request):
        """Suspend and reopen: the model's change permission (settled or not: the service refuses those)."""
        return admin.ModelAdmin.has_change_permission(self, request)

    def suspend_view(self, request, pk):
        return self._status_view(request, pk, services.suspend_market, "suspended")

    def reopen_view(self, request, pk):
        return self._status_view(request, pk, services.reopen_market, "reopened")

    def _status_view(self, request, pk, service, done: str):
        market = get_object_or_404(Market.objects.select_related("event"), pk=pk)
        if not self.has_trade_permission(request):
            raise PermissionDenied
        try:
            service(market=market, actor=request.user)
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
        else:
            self.message_user(request, f"{market} {done}.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:casino_sportevent_trading", args=[market.event_id]))

    @admin.action(description="Suspend the selected markets (no bets until reopened)", permissions=["trade"])
    def suspend_selected(self, request, queryset):
        self._set_status_of(request, queryset, services.suspend_market, "Suspended")

    @admin.action(description="Reopen the selected markets", permissions=["trade"])
    def reopen_selected(self, request, queryset):
        self._set_status_of(request, queryset, services.reopen_market, "Reopened")

    def _set_status_of(self, request, queryset, service, done: str) -> None:
        count, refused = 0, []
        for market in queryset.select_related("event").order_by("pk"):
            try:
                service(market=market, actor=request.user)
            except DomainError as exc:
                refused.append(f"{market}: {exc.message}")
            else:
                count += 1
        self.message_user(request, f"{done} {count} market{'s' if count != 1 else ''}.", messages.SUCCESS)
        for line in refused:
            self.message_user(request, line, messages.ERROR)

    # --- a selection's price -------------------------------------------------------------------
    def change_odds_view(self, request, pk):
        """One selection's price: the form (with the version the trader saw) and its history."""
        selection = trading.selection_for_trading(pk=pk)
        if not request.user.has_perm("casino.change_selection"):
            raise PermissionDenied
        initial = {"odds": f"{selection.odds:.2f}", "expected_version": selection.version}
        form = ChangeOddsForm(request.POST if request.method == "POST" else None, initial=initial)
        status = 200
        if request.method == "POST":
            if form.is_valid():
                try:
                    services.change_odds(
                        selection=selection,
                        odds=form.cleaned_data["odds"],
                        actor=request.user,
                        expected_version=form.cleaned_data["expected_version"],
                    )
                except DomainError as exc:
                    add_domain_error(form, exc)
                else:
                    self.message_user(
                        request,
                        f"{selection.name} ({selection.market.name}) is now {selection.odds}.",
                        messages.SUCCESS,
                    )
                    return HttpResponseRedirect(
                        reverse("admin:casino_sportevent_trading", args=[selection.market.event_id])
                    )
            status = 422
        event = selection.market.event
        ctx = {
            **self.admin_site.each_context(request),
            "title": f"Change the odds of {selection.name}",
            "selection": selection,
            "market": selection.market,
            "event": event,
            "form": form,
            "history": trading.odds_history(selection=selection),
            "settled": event.status != SportEvent.Status.OPEN or selection.result != Selection.Result.PENDING,
            "opts": self.model._meta,
        }
        return render(request, "admin/casino/market/change_odds.html", ctx, status=status)


@admin.register(OddsChange)
class OddsChangeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Every price change: who, when, old -> new (written by ``change_odds``; never edited)."""

    list_display = ("created_at", "selection_name", "market", "old_odds", "new_odds", "changed_by")
    list_filter = ("selection__market__kind",)
    search_fields = ("selection__name", "selection__market__event__name", "changed_by__username")
    list_select_related = ("selection__market__event", "changed_by")
    date_hierarchy = "created_at"

    @admin.display(description="Selection", ordering="selection__name")
    def selection_name(self, obj):
        return obj.selection.name

    @admin.display(description="Market")
    def market(self, obj):
        return str(obj.selection.market)


class BetLegInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = BetLeg
    fields = ("event", "selection", "odds", "result", "settled_at")
    readonly_fields = fields
    extra = 0


@admin.register(Sportsbet)
class SportsbetAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "player",
        "kind",
        "selection",
        "odds",
        "stake",
        "status",
        "cash_out_amount",
        "created_at",
        "settled_at",
    )
    list_filter = ("status", "kind")
    inlines = [BetLegInline]
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
