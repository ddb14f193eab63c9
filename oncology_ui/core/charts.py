"""What the survival charts of the report and of the cohort pages draw alike (ReportLab)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from reportlab.graphics.shapes import Drawing, Line, String
from reportlab.lib import colors


def survival_axes(
    drawing: Drawing,
    *,
    box: tuple[float, float, float, float],
    x: Callable[[float], float],
    y: Callable[[float], float],
    ticks: Sequence[tuple[float, str, bool]],
) -> None:
    """Axes of a survival chart: 0-100 % up the left, time ticks along the bottom.

    Args:
        box: left, bottom, right, top of the plot area.
        x, y: months and survival (0-1) to drawing coordinates.
        ticks: (months, label, dashed) per tick; a dashed one gets a grey line up the plot
            (the 1, 3 and 5-year marks).
    """
    left, bottom, right, top = box
    drawing.add(Line(left, bottom, right, bottom, strokeWidth=0.6))
    drawing.add(Line(left, bottom, left, top, strokeWidth=0.6))
    for percent in (0, 25, 50, 75, 100):
        level = y(percent / 100)
        drawing.add(Line(left - 3, level, left, level, strokeWidth=0.5))
        drawing.add(String(left - 5, level - 3, f"{percent}%", fontSize=7, textAnchor="end"))
    for months, label, dashed in ticks:
        pos = x(months)
        drawing.add(Line(pos, bottom, pos, bottom - 3, strokeWidth=0.5))
        drawing.add(String(pos, bottom - 11, label, fontSize=7, textAnchor="middle"))
        if dashed:
            drawing.add(
                Line(
                    pos,
                    bottom,
                    pos,
                    top,
                    strokeWidth=0.4,
                    strokeDashArray=[2, 2],
                    strokeColor=colors.HexColor("#666666"),
                )
            )
