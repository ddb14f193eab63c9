"""Survival figures drawn on the server as reportlab drawings, in the greys and line styles of the
case report's charts (``oncology_ui/reports/charts.py``), so they print in black and white.

One drawing, two outputs: SVG for the page (an ``<img>`` with a data URI, as the second-factor QR
code is shown) and PNG for the export, rasterised with Pillow because reportlab's own bitmap
renderer needs a Cairo binding the runtime does not ship.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont
from reportlab.graphics import renderSVG
from reportlab.graphics.shapes import Drawing, Group, Line, Polygon, PolyLine, Rect, String
from reportlab.lib import colors

from oncology_ui.core.charts import survival_axes

# Group A solid black, group B dashed dark grey; bands in light greys that overlap legibly.
_STYLES = (
    (colors.black, None, colors.HexColor("#bdbdbd")),
    (colors.HexColor("#555555"), [5, 3], colors.HexColor("#e0e0e0")),
)


@dataclass(frozen=True)
class StepCurve:
    """One curve to draw: right-continuous steps from (0, 1), with an optional band."""

    label: str
    times: Sequence[float]
    survival: Sequence[float]
    lower: Sequence[float] = ()
    upper: Sequence[float] = ()
    censored: Sequence[float] = ()
    style: int | None = None  # 0 solid black, 1 dashed grey; by default the curve's position


@dataclass(frozen=True)
class Marker:
    """A point with an interval (mean predicted, or observed with its CI) at a time."""

    time: float
    value: float
    low: float | None = None
    high: float | None = None
    hollow: bool = False


def _steps(times: Sequence[float], values: Sequence[float], start: float = 1.0) -> list[float]:
    points = [0.0, start]
    level = start
    for t, v in zip(times, values, strict=True):
        points += [t, level, t, v]
        level = v
    return points


def survival_figure(
    curves: Sequence[StepCurve],
    *,
    horizon_months: float = 60.0,
    at_risk: Sequence[tuple[str, Sequence[int]]] = (),
    at_risk_months: Sequence[int] = (),
    markers: Sequence[Sequence[Marker]] = (),
    notes: Sequence[str] = (),
    width: float = 720,
    height: float = 320,
    axis_label: str = "Years from diagnosis",
) -> Drawing:
    """Kaplan-Meier steps with bands, censoring ticks, 1/3/5-year marks and an at-risk table.

    Args:
        curves: at most two curves (A, B), drawn in the styles above.
        horizon_months: the x axis' end; curves are cut there.
        at_risk: (label, counts) rows printed under the axis at ``at_risk_months``.
        markers: per curve, points with intervals (predicted survival at the horizons).
        notes: lines printed above the legend (a withheld group, the test's result).
    """
    table_height = 14.0 * len(at_risk) + (14 if at_risk else 0)
    drawing = Drawing(width, height + table_height)
    left, bottom = 44.0, 34.0 + table_height
    right, top = width - 14, height + table_height - 22 - 12 * len(notes)
    for index, note in enumerate(notes):
        drawing.add(String(left, height + table_height - 10 - 12 * index, note, fontSize=8))

    def x(months: float) -> float:
        return left + min(months, horizon_months) / horizon_months * (right - left)

    def y(s: float) -> float:
        return bottom + max(0.0, min(1.0, s)) * (top - bottom)

    def points(steps: list[float]) -> list[float]:
        return [v for k in range(0, len(steps), 2) for v in (x(steps[k]), y(steps[k + 1]))]

    def cut(curve: StepCurve, values: Sequence[float]) -> list[float]:
        kept = [i for i, t in enumerate(curve.times) if t <= horizon_months]
        steps = _steps([curve.times[i] for i in kept], [values[i] for i in kept])
        return [*steps, horizon_months, steps[-1]]

    # Bands first, every curve's line over them; a band's edges are dotted in its curve's
    # colour, so two overlapping (opaque in SVG) bands stay readable.
    for index, curve in enumerate(curves[:2]):
        line_colour, _, band_colour = _STYLES[index if curve.style is None else curve.style]
        if curve.lower and curve.upper:
            upper, lower = cut(curve, curve.upper), cut(curve, curve.lower)
            outline = points(upper) + points(
                [v for k in range(len(lower) - 2, -1, -2) for v in lower[k : k + 2]]
            )
            drawing.add(Polygon(outline, fillColor=band_colour, fillOpacity=0.55, strokeColor=None))
            for edge in (upper, lower):
                drawing.add(
                    PolyLine(
                        points(edge),
                        strokeColor=line_colour,
                        strokeWidth=0.4,
                        strokeDashArray=[1, 2],
                        fillColor=None,
                    )
                )
    for index, curve in enumerate(curves[:2]):
        line_colour, dash, _ = _STYLES[index if curve.style is None else curve.style]
        drawing.add(
            PolyLine(
                points(cut(curve, curve.survival)),
                strokeColor=line_colour,
                strokeWidth=1.6,
                strokeDashArray=dash,
            )
        )
        level = dict(zip(curve.times, curve.survival, strict=True))
        for t in curve.censored:
            if t <= horizon_months:
                s = _level_at(curve, t, level)
                drawing.add(Line(x(t), y(s) - 3, x(t), y(s) + 3, strokeColor=line_colour))
        legend_y = top + 10
        legend_x = left + 4 + index * (right - left) / 2
        drawing.add(
            Line(
                legend_x,
                legend_y + 3,
                legend_x + 18,
                legend_y + 3,
                strokeColor=line_colour,
                strokeWidth=1.6,
                strokeDashArray=dash,
            )
        )
        drawing.add(String(legend_x + 22, legend_y, curve.label[:60], fontSize=8))
    for index, series in enumerate(markers[:2]):
        line_colour = _STYLES[index][0]
        for point in series:
            px, py = x(point.time) + (3 if index else -3), y(point.value)
            if point.low is not None and point.high is not None:
                drawing.add(Line(px, y(point.low), px, y(point.high), strokeColor=line_colour))
            drawing.add(
                Rect(
                    px - 2.5,
                    py - 2.5,
                    5,
                    5,
                    strokeColor=line_colour,
                    strokeWidth=0.8,
                    fillColor=colors.white if point.hollow else line_colour,
                )
            )
    years = range(0, int(horizon_months // 12) + 1)
    survival_axes(
        drawing,
        box=(left, bottom, right, top),
        x=x,
        y=y,
        ticks=[(12.0 * year, f"{year} y", year in (1, 3, 5)) for year in years],
    )
    drawing.add(
        String((left + right) / 2, bottom - 22, axis_label, fontSize=7, textAnchor="middle")
    )
    if at_risk:
        row_y = table_height - 4
        drawing.add(String(4, row_y, "At risk", fontSize=7))
        for label, counts in at_risk:
            row_y -= 14
            drawing.add(String(4, row_y, label[:8], fontSize=7))
            for month, count in zip(at_risk_months, counts, strict=False):
                drawing.add(String(x(month), row_y, str(count), fontSize=7, textAnchor="middle"))
    return drawing


def _level_at(curve: StepCurve, t: float, level: dict[float, float]) -> float:
    if t in level:
        return level[t]
    before = [s for time, s in zip(curve.times, curve.survival, strict=True) if time <= t]
    return before[-1] if before else 1.0


def drawing_svg_uri(drawing: Drawing) -> str:
    """The drawing as an SVG data URI for an ``<img>`` (reportlab escapes every string)."""
    # renderSVG writes an unfilled polyline as "fill: None", which SVG reads as black.
    svg = renderSVG.drawToString(drawing).replace("fill: None", "fill: none")
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def drawing_png(drawing: Drawing, *, scale: float = 2.0) -> bytes:
    """The drawing as a PNG, drawn with Pillow from the same shapes the SVG has.

    Handles what these figures use: lines (dashed too), polylines, filled polygons with
    opacity, rectangles and strings with their text anchor.
    """
    width, height = round(drawing.width * scale), round(drawing.height * scale)
    image = Image.new("RGBA", (width, height), "white")
    font = ImageFont.load_default(size=8 * scale)

    def at(px: float, py: float) -> tuple[float, float]:
        return px * scale, height - py * scale

    def rgb(colour: colors.Color | None, alpha: float = 1.0) -> tuple[int, int, int, int] | None:
        if colour is None:
            return None
        red, green, blue = (round(255 * c) for c in colour.rgb())
        return red, green, blue, round(255 * alpha)

    def polyline(
        draw: ImageDraw.ImageDraw, points: list[tuple[float, float]], shape: Line | PolyLine
    ) -> None:
        fill = rgb(shape.strokeColor)
        stroke = max(1, round((shape.strokeWidth or 1) * scale))
        dash = shape.strokeDashArray
        for start, end in zip(points, points[1:], strict=False):
            if not dash:
                draw.line([start, end], fill=fill, width=stroke)
                continue
            _dashed(draw, start, end, [d * scale for d in dash], fill, stroke)

    for shape in _flatten(drawing):
        layer = Image.new("RGBA", image.size, (0, 0, 0, 0))
        draw = ImageDraw.Draw(layer)
        if isinstance(shape, Polygon):
            pts = [at(shape.points[k], shape.points[k + 1]) for k in range(0, len(shape.points), 2)]
            opacity = shape.fillOpacity if shape.fillOpacity is not None else 1.0
            draw.polygon(pts, fill=rgb(shape.fillColor, opacity))
        elif isinstance(shape, PolyLine):
            pts = [at(shape.points[k], shape.points[k + 1]) for k in range(0, len(shape.points), 2)]
            polyline(draw, pts, shape)
        elif isinstance(shape, Line):
            polyline(draw, [at(shape.x1, shape.y1), at(shape.x2, shape.y2)], shape)
        elif isinstance(shape, Rect):
            (x0, y1), (x1, y0) = (
                at(shape.x, shape.y),
                at(shape.x + shape.width, shape.y + shape.height),
            )
            draw.rectangle(
                [x0, y0, x1, y1], fill=rgb(shape.fillColor), outline=rgb(shape.strokeColor)
            )
        elif isinstance(shape, String):
            size_font = (
                ImageFont.load_default(size=shape.fontSize * scale) if shape.fontSize != 8 else font
            )
            length = draw.textlength(shape.text, font=size_font)
            shift = {"middle": length / 2, "end": length}.get(shape.textAnchor, 0.0)
            tx, ty = at(shape.x, shape.y)
            draw.text(
                (tx - shift, ty), shape.text, font=size_font, fill=rgb(shape.fillColor), anchor="ls"
            )
        image = Image.alpha_composite(image, layer)
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _flatten(node: Drawing | Group) -> list[object]:
    shapes: list[object] = []
    for child in node.contents:
        shapes += _flatten(child) if isinstance(child, Group) else [child]
    return shapes


def _dashed(
    draw: ImageDraw.ImageDraw,
    start: tuple[float, float],
    end: tuple[float, float],
    pattern: list[float],
    fill: tuple[int, int, int, int] | None,
    width: int,
) -> None:
    (x0, y0), (x1, y1) = start, end
    length = ((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5
    if length == 0:
        return
    position, index, on = 0.0, 0, True
    while position < length:
        step = min(pattern[index % len(pattern)], length - position)
        if on:
            a, b = position / length, (position + step) / length
            draw.line(
                [
                    (x0 + (x1 - x0) * a, y0 + (y1 - y0) * a),
                    (x0 + (x1 - x0) * b, y0 + (y1 - y0) * b),
                ],
                fill=fill,
                width=width,
            )
        position += step
        index += 1
        on = not on
