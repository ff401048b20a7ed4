"""The report's SVG charts (reports.charts): numbers in, an accessible inline SVG out."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

from core.money import format_money
from reports.charts import FIGURES, bar_chart, report_charts
from reports.selectors import DayRow

DAYS = [date(2026, 3, 1) + timedelta(days=i) for i in range(5)]


def _bars(svg: str) -> list[dict]:
    return [
        {"y": float(y), "height": float(h), "fill": fill, "title": title}
        for y, h, fill, title in re.findall(
            r'<rect x="[^"]+" y="([^"]+)" width="[^"]+" height="([^"]+)" fill="([^"]+)"><title>([^<]*)</title>', svg
        )
    ]


def test_a_bar_per_day_with_its_amount_and_a_name_and_description():
    amounts = [Decimal("10.00"), Decimal("0.00"), Decimal("25.50"), Decimal("5.00"), Decimal("0.01")]
    svg = bar_chart(chart_id="chart-stakes", title="Stakes per day", points=list(zip(DAYS, amounts, strict=True)))
    assert svg.startswith('<svg class="report-chart" role="img"') and svg.endswith("</svg>")
    assert '<title id="chart-stakes-title">Stakes per day</title>' in svg
    desc = re.search(r'<desc id="chart-stakes-desc">([^<]*)</desc>', svg).group(1)
    assert "5 days from 2026-03-01 to 2026-03-05" in desc and format_money(Decimal("40.51")) in desc
    bars = _bars(svg)
    assert [b["title"] for b in bars] == [
        f"{d.isoformat()}: {format_money(a)}" for d, a in zip(DAYS, amounts, strict=True)
    ]
    # Taller for more money; the biggest day fills the plot; a cent still shows; zero draws nothing.
    assert bars[2]["height"] > bars[0]["height"] > bars[3]["height"] > 0
    assert bars[1]["height"] == 0 and bars[4]["height"] >= 1
    for label in ("2026-03-01", "2026-03-03", "2026-03-05"):  # first, middle, last day under the axis
        assert f">{label}</text>" in svg


def test_negative_days_hang_below_zero_in_another_colour():
    amounts = [Decimal("30.00"), Decimal("-10.00"), Decimal("0.00")]
    svg = bar_chart(chart_id="c", title="GGR", points=list(zip(DAYS, amounts, strict=False)))
    up, down, _ = _bars(svg)
    assert up["fill"] != down["fill"]
    zero_line = float(re.findall(r'<line x1="[^"]+" x2="[^"]+" y1="([^"]+)"', svg)[1])
    assert abs(up["y"] + up["height"] - zero_line) < 0.15  # stands on the zero line
    assert down["y"] == zero_line  # hangs from it
    assert abs(up["height"] / down["height"] - 3) < 0.05  # to scale
    assert format_money(Decimal("-10.00")) in svg  # the lowest amount is labelled


def test_all_zero_and_empty_charts_are_still_valid():
    flat = bar_chart(chart_id="z", title="Nothing", points=[(d, Decimal("0.00")) for d in DAYS])
    assert len(_bars(flat)) == 5 and "nan" not in flat
    empty = bar_chart(chart_id="e", title="Nothing", points=[])
    assert "No days to show." in empty and "<rect" not in empty


def test_text_is_escaped():
    svg = bar_chart(chart_id='x"><script>', title="<b>GGR</b> & co", points=[(DAYS[0], Decimal("1.00"))])
    assert "<script>" not in svg and "<b>" not in svg and "&lt;b&gt;GGR&lt;/b&gt; &amp; co" in svg


def test_report_charts_draws_each_figure_of_the_rows():
    rows = [DayRow(day=d, stakes=Decimal(i), wins=Decimal("1.00")) for i, d in enumerate(DAYS)]
    charts = report_charts(rows)
    assert [c.key for c in charts] == [key for key, _ in FIGURES]
    ggr = next(c for c in charts if c.key == "ggr")
    assert f"2026-03-01: {format_money(Decimal('-1.00'))}" in ggr.svg  # stakes 0 - wins 1
    assert f"2026-03-05: {format_money(Decimal('3.00'))}" in ggr.svg
