"""The survival figure: one reportlab drawing, as SVG for the page and PNG for the export."""

from __future__ import annotations

import base64
import io

from PIL import Image
from reportlab.graphics.shapes import Drawing

from oncology_ui.cohorts.charts import (
    Marker,
    StepCurve,
    drawing_png,
    drawing_svg_uri,
    survival_figure,
)

CURVES = [
    StepCurve("A: <script>", [6.0, 20.0], [0.9, 0.8], [0.7, 0.6], [0.95, 0.9], [10.0]),
    StepCurve("B", [3.0, 30.0], [0.7, 0.5], [0.5, 0.3], [0.85, 0.7], style=1),
]


def _figure() -> Drawing:
    return survival_figure(
        CURVES,
        at_risk=[("A", [5, 4]), ("B", [6, 3])],
        at_risk_months=[0, 12],
        markers=[[Marker(12.0, 0.8)], [Marker(12.0, 0.6, hollow=True)]],
        notes=["B: fewer than 5 patients; not shown"],
    )


def test_the_svg_escapes_labels_and_leaves_unfilled_lines_unfilled() -> None:
    uri = drawing_svg_uri(_figure())
    svg = base64.b64decode(uri.removeprefix("data:image/svg+xml;base64,")).decode()
    assert "&lt;script&gt;" in svg and "<script>" not in svg
    assert "fill: None" not in svg and "fill: none" in svg
    assert "fewer than 5 patients; not shown" in svg


def test_the_png_has_the_drawing_size_and_draws_the_curves() -> None:
    drawing = _figure()
    image = Image.open(io.BytesIO(drawing_png(drawing, scale=2.0)))
    assert image.format == "PNG"
    assert image.size == (round(drawing.width * 2), round(drawing.height * 2))
    # Black pixels of curve A: the image is not blank, and not filled black either.
    pixels = list(image.convert("L").getdata())
    dark = sum(1 for value in pixels if value < 60) / len(pixels)
    assert 0.005 < dark < 0.2
