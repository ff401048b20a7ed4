"""The finance report page in the admin (issue 19).

``DailyFigure`` is registered only to give the report its place in the admin: the index
shows "Daily figures" under Reports to staff with ``reports.view_reports`` (the ``finance``
group; ``manage.py setup_groups``), and its list opens the report. Rows are derived by the
roll-up and never edited here.

The report page (GET ``admin:reports_dailyfigure_report``) reads the roll-up
(``selectors.report``) and the liabilities snapshot (``selectors.liabilities``), never the
ledger: a bounded number of queries whatever the range. ``?format=csv`` exports exactly the
tables the page shows for the same filters. "Roll up now" (POST
``admin:reports_dailyfigure_roll_up``) runs ``services.roll_up`` and writes an audit row.
"""

from __future__ import annotations

import csv

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods

from core.audit import audit
from core.exceptions import DomainError
from core.forms import add_domain_error
from reports import charts, selectors, services
from reports.forms import ReportFilterForm
from reports.models import DailyFigure

PERMISSION = "reports.view_reports"
FILTERS = ("date_from", "date_to", "product", "game")
FORMATS = ("html", "csv")
FIGURE_COLUMNS = ("stakes", "wins", "ggr", "bonus_cost", "ngr", "deposits", "withdrawals", "transactions")
CSV_COLUMNS = ("section", "key", "label", *FIGURE_COLUMNS)


def report_csv_rows(report: selectors.Report) -> list[list[str]]:
    """The rows of the CSV export: the header, a ``day`` row per day, the ``total`` row, then a
    ``product`` row per product and a ``game`` row per game, as the page's tables show them
    (plain decimals: ``1234.50``, ``-3.00``)."""

    def figures(row) -> list[str]:
        # "f": never an exponent (Decimal("0E-2") is written 0.00)
        return [format(getattr(row, name), "f") for name in FIGURE_COLUMNS[:-1]] + [str(row.transactions)]

    out = [list(CSV_COLUMNS)]
    out += [["day", row.day.isoformat(), row.day.isoformat(), *figures(row)] for row in report.rows]
    out.append(["total", "", "Total", *figures(report.totals)])
    out += [["product", str(row.key), row.label, *figures(row)] for row in report.by_product]
    out += [["game", str(row.key), row.label, *figures(row)] for row in report.by_game]
    return out


def _csv_response(report: selectors.Report) -> HttpResponse:
    name = f"report-{report.date_from.isoformat()}-{report.date_to.isoformat()}"
    if report.product:
        name += f"-{report.product}"
    if report.game_id is not None:
        name += f"-game{report.game_id}"
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    csv.writer(response).writerows(report_csv_rows(report))
    return response


def _filter_query(data: QueryDict) -> str:
    """The report's filters of ``data`` as a query string (nothing else is carried over)."""
    query = QueryDict(mutable=True)
    for name in FILTERS:
        if name in data:
            query[name] = data.get(name, "")[:40]
    return query.urlencode()


@admin.register(DailyFigure)
class DailyFigureAdmin(admin.ModelAdmin):
    list_display = ("day", "product", "game", "vendor", "stakes", "wins", "bonus_cost", "transactions")

    # --- who sees it: the report permission, nothing else -----------------------------------------
    def has_module_permission(self, request):
        return request.user.is_active and request.user.has_perm(PERMISSION)

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.has_perm(PERMISSION)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        """The figures are read through the report (the admin index's link lands there)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        return redirect("admin:reports_dailyfigure_report")

    # --- the report page -------------------------------------------------------------------------
    def get_urls(self):
        def view(func, methods):
            return self.admin_site.admin_view(require_http_methods(methods)(func))

        extra = [
            path("report/", view(self.report_view, ["GET", "HEAD"]), name="reports_dailyfigure_report"),
            path("report/roll-up/", view(self.roll_up_view, ["POST"]), name="reports_dailyfigure_roll_up"),
        ]
        return extra + super().get_urls()

    def report_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        games = selectors.games_for_filter()
        form = ReportFilterForm(request.GET, games=games)
        export = request.GET.get("format", "html")
        report = None
        if form.is_valid():
            if export not in FORMATS:
                form.add_error(None, "Unknown export format: the page exports CSV (format=csv).")
            else:
                try:
                    report = selectors.report(**form.filters())
                except DomainError as exc:
                    add_domain_error(form, exc, default_field="date_from")
        if report is not None and export == "csv":
            return _csv_response(report)
        query = _filter_query(request.GET)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Finance report",
            "form": form,
            "report": report,
            "charts": charts.report_charts(report.rows) if report else [],
            "liabilities": selectors.liabilities() if report else None,
            "csv_query": f"{query}&format=csv" if query else "format=csv",
            "filter_query": query,
        }
        return TemplateResponse(
            request, "admin/reports/dailyfigure/report.html", context, status=200 if report is not None else 400
        )

    def roll_up_view(self, request):
        """Bring the roll-up up to date now (the beat task does it every few minutes) and audit it."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        run = services.roll_up()
        with transaction.atomic():
            audit(
                actor=request.user,
                action="reports.roll_up",
                target=f"roll-up through transaction {run.through_tx}",
                days=[day.isoformat() for day in run.days],
                seconds=round(run.seconds, 3),
                through_tx=run.through_tx,
            )
        self.message_user(
            request,
            f"Rolled up {len(run.days)} day(s) in {run.seconds:.2f} s, through ledger transaction {run.through_tx}.",
            messages.SUCCESS,
        )
        back = _filter_query(QueryDict(request.POST.get("filters", "")))
        url = reverse("admin:reports_dailyfigure_report")
        return redirect(f"{url}?{back}" if back else url)
