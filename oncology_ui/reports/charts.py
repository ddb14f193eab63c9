"""The charts of the case report, drawn in greys and line styles so a black-and-white print keeps
them readable: the survival curve with its band, contribution bars and lab values over time."""

from __future__ import annotations

from reportlab.graphics.shapes import Drawing, Line, Polygon, PolyLine, Rect, String
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Table, TableStyle

from oncology_ui.core.charts import survival_axes
from oncology_ui.reports.data import Bar, ChartSeries, Prognosis
from oncology_ui.reports.layout import CELL, FACTS_STYLE, paragraph


def survival_drawing(
    prognosis: Prognosis, width: float = 160 * mm, height: float = 62 * mm
) -> Drawing:
    """S(t) as a black line over a grey band, with dashed 1/3/5-year marks (prints in grey)."""
    drawing = Drawing(width, height)
    left, bottom, right, top = 30.0, 22.0, width - 10, height - 8
    horizon = max(prognosis.times_months[-1] if prognosis.times_months else 60.0, 1.0)

    def x(t: float) -> float:
        return left + (t / horizon) * (right - left)

    def y(s: float) -> float:
        return bottom + max(0.0, min(1.0, s)) * (top - bottom)

    if prognosis.lower and prognosis.upper:
        points: list[float] = []
        for t, s in zip(prognosis.times_months, prognosis.upper, strict=False):
            points += [x(t), y(s)]
        for t, s in reversed(list(zip(prognosis.times_months, prognosis.lower, strict=False))):
            points += [x(t), y(s)]
        drawing.add(Polygon(points, fillColor=colors.HexColor("#cfcfcf"), strokeColor=None))
    # A short curve (conditional, near the model's horizon) gets six-month ticks.
    if horizon >= 24:
        ticks = [(12.0 * k, f"{k} y", k in (1, 3, 5)) for k in range(int(horizon // 12) + 1)]
    else:
        ticks = [(6.0 * k, f"{6 * k} mo", False) for k in range(int(horizon // 6) + 1)]
    survival_axes(drawing, box=(left, bottom, right, top), x=x, y=y, ticks=ticks)
    if prognosis.survival:
        line: list[float] = []
        for t, s in zip(prognosis.times_months, prognosis.survival, strict=False):
            line += [x(t), y(s)]
        drawing.add(PolyLine(line, strokeColor=colors.black, strokeWidth=1.6))
    drawing.add(
        String((left + right) / 2, 1, prognosis.axis_label, fontSize=7, textAnchor="middle")
    )
    return drawing


def bar_table(bars: tuple[Bar, ...], width: float) -> Table:
    """Signed values as labelled bars diverging from a centre line (dark = raises survival).

    Lengths come from the values as printed (one decimal), so a bar always matches its label.
    """
    printed = [round(bar.value, 1) for bar in bars]
    scale = max((abs(value) for value in printed), default=0.0)
    bar_width = width * 0.4
    rows = []
    for bar, value in zip(bars, printed, strict=True):
        drawing = Drawing(bar_width, 9)
        half = (bar_width / 2) * abs(value) / scale if scale else 0.0
        start = bar_width / 2 - half if bar.value < 0 else bar_width / 2
        fill = colors.HexColor("#333333") if bar.value >= 0 else colors.HexColor("#aaaaaa")
        drawing.add(
            Rect(start, 1, half, 7, fillColor=fill, strokeColor=colors.black, strokeWidth=0.3)
        )
        drawing.add(Line(bar_width / 2, 0, bar_width / 2, 9, strokeWidth=0.5))
        rows.append([paragraph(bar.label, CELL), paragraph(f"{value:+.1f} points", CELL), drawing])
    table = Table(rows, colWidths=[width * 0.42, width * 0.14, bar_width + 6])
    table.setStyle(FACTS_STYLE)
    return table


def lab_chart_drawing(series: ChartSeries, width: float, height: float = 30 * mm) -> Drawing:
    """One analyte over time: points joined by a line over its grey reference band."""
    drawing = Drawing(width, height)
    left, bottom, right, top = 24.0, 12.0, width - 6, height - 12
    values = [point.value for point in series.points]
    bounds = [*values, *(v for v in (series.ref_low, series.ref_high) if v is not None)]
    low, high = min(bounds), max(bounds)
    if high == low:
        low, high = low - 1, high + 1
    pad = (high - low) * 0.1
    low, high = low - pad, high + pad
    span = max(series.points[-1].day, 1)

    def x(day: int) -> float:
        if len(series.points) == 1:
            return (left + right) / 2
        return left + day / span * (right - left)

    def y(value: float) -> float:
        return bottom + (value - low) / (high - low) * (top - bottom)

    if series.ref_low is not None or series.ref_high is not None:
        band_low = y(series.ref_low) if series.ref_low is not None else bottom
        band_high = y(series.ref_high) if series.ref_high is not None else top
        drawing.add(
            Rect(
                left,
                band_low,
                right - left,
                max(band_high - band_low, 0.5),
                fillColor=colors.HexColor("#e3e3e3"),
                strokeColor=None,
            )
        )
    drawing.add(Line(left, bottom, right, bottom, strokeWidth=0.5))
    drawing.add(Line(left, bottom, left, top, strokeWidth=0.5))
    drawing.add(
        String(left - 2, y(high - pad) - 2, f"{high - pad:.3g}", fontSize=6, textAnchor="end")
    )
    drawing.add(
        String(left - 2, y(low + pad) - 2, f"{low + pad:.3g}", fontSize=6, textAnchor="end")
    )
    coordinates = [(x(point.day), y(point.value)) for point in series.points]
    if len(coordinates) > 1:
        drawing.add(
            PolyLine([c for xy in coordinates for c in xy], strokeColor=colors.black, strokeWidth=1)
        )
    for (px, py), point in zip(coordinates, series.points, strict=True):
        flagged = point.flag in ("H", "L")
        drawing.add(
            Rect(
                px - 1.8,
                py - 1.8,
                3.6,
                3.6,
                strokeColor=colors.black,
                strokeWidth=0.5,
                fillColor=colors.white if flagged else colors.black,
            )
        )
    drawing.add(
        String(
            left,
            height - 8,
            f"{series.label} ({series.unit})" if series.unit else series.label,
            fontSize=7,
        )
    )
    drawing.add(String(left, 2, series.points[0].when, fontSize=6))
    if len(series.points) > 1:
        drawing.add(String(right, 2, series.points[-1].when, fontSize=6, textAnchor="end"))
    return drawing


def lab_charts(charts: tuple[ChartSeries, ...], width: float) -> Table:
    per_row = 3
    cell = width / per_row
    drawings: list[Flowable | str] = [lab_chart_drawing(series, cell - 4) for series in charts]
    drawings += [""] * (-len(drawings) % per_row)
    rows = [drawings[i : i + per_row] for i in range(0, len(drawings), per_row)]
    table = Table(rows, colWidths=[cell] * per_row)
    table.setStyle(
        TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0), ("VALIGN", (0, 0), (-1, -1), "TOP")])
    )
    return table
