"""Server-rendered SVG charts for the finance report: numbers in, inline SVG out, no JavaScript.

A chart is a bar per day (a negative figure, such as a day's GGR when players won, hangs
below the zero line in another colour). It is an image with a name and a description for
screen readers (``role="img"``, ``<title>``, ``<desc>``), and each bar carries its own
``<title>`` (day and amount, the browser's tooltip). The same numbers are in the page's table:
the chart is a picture of the table, never the only place a figure is.

Money stays ``Decimal`` for every text; floats are used only for pixel positions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from core.money import format_money

WIDTH, HEIGHT = 720, 190
LEFT, RIGHT, TOP, BOTTOM = 92, 10, 12, 26
POSITIVE, NEGATIVE, AXIS, TEXT = "#2b6cb0", "#c53030", "#6b7280", "#1f2328"


@dataclass(frozen=True)
class Chart:
    key: str  # the figure's name (stakes, wins, ggr, ...)
    title: str
    svg: SafeString


def _coord(value: float) -> str:
    return f"{value:.1f}"


def bar_chart(*, chart_id: str, title: str, points: Sequence[tuple[date, Decimal]]) -> SafeString:
    """One bar per (day, amount) of ``points`` (in order), scaled between the lowest and highest
    amount (zero always inside the scale); ``chart_id`` makes the element ids unique on a page."""
    amounts = [Decimal(amount) for _, amount in points]
    low, high = min([Decimal(0), *amounts]), max([Decimal(0), *amounts])
    span = float(high - low) or 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def y(amount: Decimal) -> float:
        return TOP + (float(high) - float(amount)) / span * plot_h

    total = sum(amounts, Decimal("0.00"))
    if points:
        first, last = points[0][0], points[-1][0]
        desc = (
            f"{len(points)} days from {first.isoformat()} to {last.isoformat()}: total {format_money(total)}, "
            f"highest day {format_money(high if amounts else 0)}, lowest day {format_money(min(amounts))}."
        )
    else:
        desc = "No days to show."
    cid = escape(chart_id)
    out = [
        f'<svg class="report-chart" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'aria-labelledby="{cid}-title {cid}-desc" data-figure="{cid}" preserveAspectRatio="xMinYMin meet">',
        f'<title id="{cid}-title">{escape(title)}</title>',
        f'<desc id="{cid}-desc">{escape(desc)}</desc>',
        # The scale: the highest amount, zero, the lowest (when below zero), and the axes.
        f'<g font-size="11" fill="{TEXT}" text-anchor="end">',
        f'<text x="{LEFT - 6}" y="{_coord(y(high) + 4)}">{escape(format_money(high))}</text>',
    ]
    zero = y(Decimal(0))
    if high != 0:
        out.append(f'<text x="{LEFT - 6}" y="{_coord(zero + 4)}">{escape(format_money(0))}</text>')
    if low < 0:
        out.append(f'<text x="{LEFT - 6}" y="{_coord(y(low) + 4)}">{escape(format_money(low))}</text>')
    out.append("</g>")
    out.append(f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + plot_h}" stroke="{AXIS}" stroke-width="1"/>')
    out.append(
        f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{_coord(zero)}" y2="{_coord(zero)}" '
        f'stroke="{AXIS}" stroke-width="1"/>'
    )
    if points:
        step = plot_w / len(points)
        bar = max(step * 0.8, 1.0) if step > 3 else step
        out.append("<g>")
        for i, ((day, _), amount) in enumerate(zip(points, amounts, strict=True)):
            top, bottom = (y(amount), zero) if amount >= 0 else (zero, y(amount))
            height = max(bottom - top, 0.0 if amount == 0 else 1.0)  # a cent still shows
            if amount > 0:
                top = min(top, zero - height)
            colour = POSITIVE if amount >= 0 else NEGATIVE
            out.append(
                f'<rect x="{_coord(LEFT + i * step + (step - bar) / 2)}" y="{_coord(top)}" '
                f'width="{_coord(bar)}" height="{_coord(height)}" fill="{colour}">'
                f"<title>{day.isoformat()}: {escape(format_money(amount))}</title></rect>"
            )
        out.append("</g>")
        # Day labels: the first, the middle and the last day.
        marks = sorted({0, len(points) // 2, len(points) - 1})
        out.append(f'<g font-size="11" fill="{TEXT}" text-anchor="middle">')
        for i in marks:
            x = LEFT + i * step + step / 2
            anchor = ' text-anchor="start"' if i == 0 else (' text-anchor="end"' if i == len(points) - 1 else "")
            if i == 0:
                x = LEFT
            elif i == len(points) - 1:
                x = WIDTH - RIGHT
            out.append(f'<text x="{_coord(x)}" y="{HEIGHT - 8}"{anchor}>{points[i][0].isoformat()}</text>')
        out.append("</g>")
    out.append("</svg>")
    return mark_safe("".join(out))  # noqa: S308 - every text above is escaped


# The figures drawn, in the page's order: (attribute of a row, chart title).
FIGURES: tuple[tuple[str, str], ...] = (
    ("stakes", "Stakes per day"),
    ("wins", "Wins paid per day"),
    ("ggr", "GGR (stakes - wins) per day"),
    ("bonus_cost", "Bonus cost per day"),
    ("ngr", "NGR (GGR - bonus cost) per day"),
    ("deposits", "Deposits per day"),
    ("withdrawals", "Withdrawals per day"),
)


def report_charts(rows: Sequence, *, figures: Sequence[tuple[str, str]] = FIGURES) -> list[Chart]:
    """A chart per figure over ``rows`` (objects with ``day`` and the figures as attributes,
    e.g. ``reports.selectors.DayRow``)."""
    return [
        Chart(
            key=key,
            title=title,
            svg=bar_chart(chart_id=f"chart-{key}", title=title, points=[(row.day, getattr(row, key)) for row in rows]),
        )
        for key, title in figures
    ]
