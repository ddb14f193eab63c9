"""The case report and the board packet as PDF: pure functions from report data to bytes.

Every text reaches reportlab's markup parser through :mod:`oncology_ui.reports.markup`, which
escapes it (an unescaped ``<img src="http://...">`` would be fetched, ``<a href>`` would become a
live link, a broken tag would fail the document). Charts use greys and line styles only, so a
black-and-white print keeps them readable.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable

from reportlab.graphics.shapes import Drawing, Line, Polygon, PolyLine, Rect, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Flowable,
    Frame,
    PageBreak,
    PageTemplate,
    Spacer,
    Table,
    TableStyle,
)

from oncology_ui.reports.data import (
    NOT_AVAILABLE,
    RESEARCH_USE,
    Bar,
    BoardPacketData,
    CaseReportData,
    ChartSeries,
    DecisionData,
    OptionalSection,
    Prognosis,
)
from oncology_ui.reports.markup import Heading, contents_entry, contents_table, para, png_image

logger = logging.getLogger(__name__)

#: Section headings of a case report, in order (tests check each one is printed).
CASE_HEADINGS: tuple[str, ...] = (
    "Case summary",
    "Timeline",
    "Data used and missing",
    "Prognosis",
    "Therapy ranking",
    "Trial matches",
    "Slide thumbnail",
    "Imaging slice",
    "Labs chart",
    "Board decision and signatures",
    "Limitations",
)

_STYLES = getSampleStyleSheet()
_BODY = ParagraphStyle("body", parent=_STYLES["BodyText"], fontSize=9.5, leading=12)
_SMALL = ParagraphStyle("small", parent=_BODY, fontSize=8, leading=10)
_CELL = ParagraphStyle("cell", parent=_BODY, fontSize=8.5, leading=10.5, spaceBefore=0)
_NA = ParagraphStyle(
    "na", parent=_BODY, textColor=colors.HexColor("#444444"), fontName="Helvetica-Oblique"
)
_H0 = ParagraphStyle("h0", parent=_STYLES["Title"], fontSize=17, leading=21, spaceAfter=4)
_H1 = ParagraphStyle(
    "h1", parent=_STYLES["Heading2"], fontSize=12.5, leading=15, spaceBefore=10, spaceAfter=4
)
_H2 = ParagraphStyle(
    "h2", parent=_STYLES["Heading3"], fontSize=10.5, leading=13, spaceBefore=6, spaceAfter=2
)
_COVER = ParagraphStyle("cover", parent=_H0, fontSize=24, leading=30, alignment=TA_CENTER)
_COVER_SUB = ParagraphStyle("coversub", parent=_BODY, fontSize=12, leading=16, alignment=TA_CENTER)

_GRID = TableStyle(
    [
        ("FONT", (0, 0), (-1, -1), "Helvetica", 8.5, 10.5),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#888888")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e6e6e6")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]
)
_FACTS = TableStyle(
    [
        ("FONT", (0, 0), (-1, -1), "Helvetica", 8.5, 10.5),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#bbbbbb")),
        ("LEFTPADDING", (0, 0), (-1, -1), 2),
    ]
)


def _p(text: object, style: ParagraphStyle = _BODY) -> Flowable:
    return para(text, style)


def _na(text: str = NOT_AVAILABLE) -> Flowable:
    return para(text, _NA)


def _long_text(text: str) -> list[Flowable]:
    """Long notes as one paragraph per line so they split across pages anywhere."""
    return [_p(line) for line in text.splitlines() if line.strip()] or [_na("—")]


class _FooterMark(Flowable):
    """Sets the footer of the page it lands on (and the following ones) without taking space."""

    def __init__(self, lines: tuple[str, str]) -> None:
        super().__init__()
        self.lines = lines

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return 0, 0

    def draw(self) -> None:
        self.canv._oncoboard_footer = self.lines


_TOTAL_FORM = "oncoboardPageTotal"


class _FooterCanvas(Canvas):
    """Defines the "of y" page total once it is known: footers reference it as a form.

    (Deferring whole pages instead would break bookmarks, which record the page being drawn.)
    """

    def save(self) -> None:
        total = self.getPageNumber() - 1  # the page after the last showPage was never drawn
        self.beginForm(_TOTAL_FORM)
        self.setFont("Helvetica", 6.5)
        self.drawString(0, 0, str(total))
        self.endForm()
        super().save()


def _draw_footer(canvas: Canvas, doc: BaseDocTemplate) -> None:
    lines = getattr(canvas, "_oncoboard_footer", ("", ""))
    width = canvas._pagesize[0]
    canvas.saveState()
    canvas.setStrokeColor(colors.HexColor("#888888"))
    canvas.setLineWidth(0.4)
    canvas.line(15 * mm, 15 * mm, width - 15 * mm, 15 * mm)
    canvas.setFont("Helvetica", 6.5)
    canvas.setFillColor(colors.black)
    canvas.drawString(15 * mm, 11.5 * mm, lines[0])
    canvas.drawString(15 * mm, 8.5 * mm, lines[1])
    label = f"Page {canvas.getPageNumber()} of "
    x = width - 15 * mm - 12 * mm
    canvas.drawString(x, 8.5 * mm, label)
    canvas.translate(x + canvas.stringWidth(label, "Helvetica", 6.5), 8.5 * mm)
    canvas.doForm(_TOTAL_FORM)
    canvas.restoreState()


class _Document(BaseDocTemplate):
    def __init__(self, buffer: io.BytesIO, *, title: str) -> None:
        super().__init__(
            buffer,
            pagesize=A4,
            leftMargin=16 * mm,
            rightMargin=16 * mm,
            topMargin=16 * mm,
            bottomMargin=22 * mm,
            title=title,
            author="OncoBoard",
            creator="OncoBoard",
        )
        frame = Frame(self.leftMargin, self.bottomMargin, self.width, self.height, id="body")
        self.addPageTemplates([PageTemplate(id="page", frames=[frame], onPageEnd=_draw_footer)])

    def afterFlowable(self, flowable: Flowable) -> None:  # noqa: N802
        if isinstance(flowable, Heading):
            self.canv.bookmarkPage(flowable.key)
            # Bookmark titles are PDF text strings, never parsed as markup: the plain text.
            self.canv.addOutlineEntry(flowable.plain, flowable.key, level=flowable.level)
            if flowable.level == 0:  # the contents list cases; bookmarks also carry sections
                contents_entry(self, flowable)


def _footer_lines(data: CaseReportData) -> tuple[str, str]:
    model = (
        f"Model {data.model.name} {data.model.version} · weights sha256 {data.model.sha256}"
        if data.model
        else "Model: none (no analysis stored for this case)"
    )
    mode = "De-identified" if data.deidentified else "Contains patient identifiers — confidential"
    return (
        f"{data.case_ref} · {model}",
        f"Knowledge base {data.knowledge_base_version} · "
        f"Generated {data.generated_at_utc} · {mode}",
    )


def _cell(text: object, width: float) -> str | Flowable:
    """A table cell: plain text when it fits on one line, else a wrapping Paragraph.

    Plain strings are drawn as they are (no markup parsing), which is both literal and several
    times faster than a Paragraph; only text that needs wrapping pays for one (escaped).
    """
    value = "" if text is None else str(text)
    if "\n" not in value and stringWidth(value, "Helvetica", _CELL.fontSize) <= width - 7:
        return value
    return _p(value, _CELL)


def _facts(rows: Iterable[tuple[str, str]], width: float) -> Table:
    widths = [width * 0.28, width * 0.72]
    table = Table(
        [[_cell(label, widths[0]), _cell(value, widths[1])] for label, value in rows],
        colWidths=widths,
    )
    table.setStyle(_FACTS)
    return table


def _grid(header: list[str], rows: list[list[str]], widths: list[float]) -> Table:
    body = [
        [_cell(cell, w) for cell, w in zip(row, widths, strict=True)] for row in [header, *rows]
    ]
    table = Table(body, colWidths=widths, repeatRows=1)
    table.setStyle(_GRID)
    return table


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
    drawing.add(Line(left, bottom, right, bottom, strokeWidth=0.6))
    drawing.add(Line(left, bottom, left, top, strokeWidth=0.6))
    for percent in (0, 25, 50, 75, 100):
        level = y(percent / 100)
        drawing.add(Line(left - 3, level, left, level, strokeWidth=0.5))
        drawing.add(String(left - 5, level - 3, f"{percent}%", fontSize=7, textAnchor="end"))
    # A short curve (conditional, near the model's horizon) gets six-month ticks.
    step, unit = (12.0, "y") if horizon >= 24 else (6.0, "mo")
    for k in range(0, int(horizon // step) + 1):
        pos = x(step * k)
        label = f"{k} y" if unit == "y" else f"{6 * k} mo"
        drawing.add(Line(pos, bottom, pos, bottom - 3, strokeWidth=0.5))
        drawing.add(String(pos, bottom - 11, label, fontSize=7, textAnchor="middle"))
        if unit == "y" and k in (1, 3, 5):
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
    if prognosis.survival:
        line: list[float] = []
        for t, s in zip(prognosis.times_months, prognosis.survival, strict=False):
            line += [x(t), y(s)]
        drawing.add(PolyLine(line, strokeColor=colors.black, strokeWidth=1.6))
    drawing.add(
        String((left + right) / 2, 1, prognosis.axis_label, fontSize=7, textAnchor="middle")
    )
    return drawing


def _bars(bars: tuple[Bar, ...], width: float) -> Table:
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
        rows.append([_p(bar.label, _CELL), _p(f"{value:+.1f} points", _CELL), drawing])
    table = Table(rows, colWidths=[width * 0.42, width * 0.14, bar_width + 6])
    table.setStyle(_FACTS)
    return table


def _percent(value: float | None) -> str:
    return f"{value:.0%}" if value is not None else "—"


def _prognosis_story(data: CaseReportData, width: float) -> list[Flowable]:
    prognosis = data.prognosis
    if prognosis is None:
        return [_na(data.prognosis_unavailable)]
    story: list[Flowable] = []
    if prognosis.stale:
        story.append(para(prognosis.stale, _BODY, bold=True))
    story.append(_p(f"Stored prediction computed {prognosis.computed_at}.", _SMALL))
    if prognosis.status != "ok":
        story.append(_p("The model abstained: " + "; ".join(prognosis.abstention_reasons)))
        return story
    if prognosis.basis:
        story.append(para(prognosis.basis, _BODY, bold=True))
    reference = f"{prognosis.reference_years}-year" if prognosis.reference_years else "predicted"
    if prognosis.no_curve_reason:
        story.append(_na("No survival estimate from today: " + prognosis.no_curve_reason))
    else:
        if prognosis.times_months and prognosis.survival:
            story.append(survival_drawing(prognosis, width=width))
            story.append(
                _p(
                    "Line: predicted survival"
                    + (" from today, given survival to today" if prognosis.conditioned else "")
                    + ". Grey band: the spread of the model's ensemble"
                    + (
                        ", each edge conditioned on its own survival to today."
                        if prognosis.conditioned
                        else "."
                    ),
                    _SMALL,
                )
            )
        else:
            story.append(_na("Not available: the stored prediction has no survival curve."))
        when = "from today" if prognosis.conditioned else ""
        rows = [
            [
                f"{mark.years} year{'s' if mark.years != 1 else ''} {when}".strip(),
                _percent(mark.survival)
                if mark.survival is not None
                else "beyond the model's horizon",
                f"{_percent(mark.lower)} – {_percent(mark.upper)}"
                if mark.survival is not None
                else "—",
            ]
            for mark in prognosis.landmarks
        ]
        if rows:
            story.append(_grid(["Horizon", "Survival", "Interval"], rows, [width * 0.3] * 3))
        else:
            story.append(_na("Not available: no 1/3/5-year figures were stored."))
        median = "Median survival" + (" from today" if prognosis.conditioned else "")
        story.append(
            _p(
                f"{median}: {prognosis.median_months:.0f} months."
                if prognosis.median_months is not None
                else f"{median}: not reached within the model's horizon."
            )
        )
    story.append(para("Modality contributions", _H2))
    if prognosis.contributions:
        story.append(
            _p(
                f"Exact Shapley values in percentage points of the predicted {reference} "
                "survival from diagnosis; negative lowers it. Values that round to 0.0 are "
                "left out.",
                _SMALL,
            )
        )
        story.append(_bars(prognosis.contributions, width))
    else:
        story.append(_na("Not available: no modality contribution was stored or all round to 0.0."))
    story.append(para("Hallmark profile", _H2))
    if prognosis.hallmarks:
        story.append(
            _p(
                f"Summed gene attributions per hallmark, percentage points of the predicted "
                f"{reference} survival from diagnosis.",
                _SMALL,
            )
        )
        story.append(_bars(prognosis.hallmarks, width))
    else:
        story.append(
            _na(prognosis.hallmarks_unavailable or "Not available: no hallmark profile was stored.")
        )
    return story


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


def _charts(charts: tuple[ChartSeries, ...], width: float) -> Table:
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


def _optional_story(section: OptionalSection, width: float) -> list[Flowable]:
    if not section.available:
        return [_na(section.unavailable)]
    story: list[Flowable] = [_p(line) for line in section.lines]
    if section.charts:
        story.append(_charts(section.charts, width))
        story.append(
            _p("Grey band: reference range. Hollow squares: results flagged high or low.", _SMALL)
        )
    if section.image_png:
        try:
            image = png_image(section.image_png)
            scale = min(1.0, width / image.imageWidth, (80 * mm) / image.imageHeight)
            image.drawWidth, image.drawHeight = image.imageWidth * scale, image.imageHeight * scale
            story.append(image)
        except Exception:  # a corrupt image must not lose the whole report
            logger.warning("report image for %s could not be read", section.title)
            story.append(
                _na(f"Not available: the {section.title.lower()} image could not be read.")
            )
        if section.image_caption:
            story.append(_p(section.image_caption, _SMALL))
    return story


def _decision_story(decision: DecisionData, width: float) -> list[Flowable]:
    title = f"Decision version {decision.version} — {decision.status}"
    if decision.superseded:
        title += " (SUPERSEDED by a later version; not in force)"
    story: list[Flowable] = [para(title, _H2)]
    rows = [
        ("Meeting", decision.meeting),
        ("Therapy", decision.therapy or "—"),
        ("Trial referral", decision.trial_referral or "—"),
        ("Further tests", decision.further_tests or "—"),
        ("Follow-up", decision.follow_up or "—"),
        ("In agreement", ", ".join(decision.agreeing) or "—"),
        ("Model's top option", decision.model_top_option or "not available"),
        ("Model prognosis at decision", decision.model_prognosis),
        (
            "Discordance",
            f"Yes — {decision.discordance_reason}" if decision.is_discordant else "No",
        ),
    ]
    story.append(_facts(rows, width))
    story.append(_p("Discussion notes:", _SMALL))
    story.extend(_long_text(decision.notes) if decision.notes else [_na("No notes recorded.")])
    if decision.signature is not None:
        sig = decision.signature
        story.append(
            _p(
                f"Electronically signed by {sig.name} at {sig.at_utc}. Meaning: {sig.meaning}. "
                f"Signed content sha256: {sig.content_hash}",
                _SMALL,
            )
        )
    else:
        story.append(_na("Not signed: this is a draft, not the board's recommendation."))
    return story


def _case_story(data: CaseReportData, width: float, *, level: int, key: str) -> list[Flowable]:
    """All flowables of one case report; ``level`` 0 alone, 1 inside a packet."""
    story: list[Flowable] = [_FooterMark(_footer_lines(data))]
    title = "Case report — " + (
        "de-identified" if data.deidentified or data.identifiers is None else data.identifiers.name
    )
    story.append(Heading(f"{data.case_ref}: {title}", _H0, level=level, key=key))
    if data.identifiers is not None:
        ident = data.identifiers
        story.append(
            _facts(
                [
                    ("Patient", ident.name),
                    ("MRN", f"{ident.mrn} ({ident.site})"),
                    ("Date of birth", ident.birth_date),
                    ("Sex", ident.sex),
                ],
                width,
            )
        )
    else:
        story.append(
            _p(
                "De-identified report: no names, record numbers or birth dates; dates "
                "are days from diagnosis.",
                _SMALL,
            )
        )

    def heading(text: str) -> Heading:
        return Heading(text, _H1, level=level + 1, key=f"{key}-{len(story)}")

    story += [heading("Case summary"), _facts(data.summary, width)]
    story.append(heading("Timeline"))
    if data.timeline:
        story.append(
            _grid(
                ["When", "Event", "What", "Detail"],
                [[row.when, row.kind, row.label, row.detail] for row in data.timeline],
                [width * 0.17, width * 0.18, width * 0.3, width * 0.35],
            )
        )
    else:
        story.append(_na("Not available: no timeline events recorded."))
    story.append(heading("Data used and missing"))
    story.append(
        _facts(
            [
                ("Used by the model", ", ".join(data.data_used) or NOT_AVAILABLE),
                # Without an analysis nothing was checked, so "nothing missing" would be untrue.
                (
                    "Missing",
                    ", ".join(data.data_missing)
                    or ("nothing reported missing" if data.data_used else NOT_AVAILABLE),
                ),
                *(
                    [("Known but not used by this model", "; ".join(data.data_not_used))]
                    if data.data_not_used
                    else []
                ),
            ],
            width,
        )
    )
    story.append(CondPageBreak(70 * mm))
    story.append(heading("Prognosis"))
    story += _prognosis_story(data, width)
    for section in data.optional_sections:
        story.append(heading(section.title))
        story += _optional_story(section, width)
    story.append(heading("Board decision and signatures"))
    if data.decisions:
        for decision in data.decisions:
            story += _decision_story(decision, width)
    else:
        story.append(_na("Not available: the board has not recorded a decision for this case."))
    story.append(heading("Limitations"))
    story += [_p("• " + line) for line in data.limitations]
    if data.image_derived:
        story.append(_p(RESEARCH_USE))
    else:
        story.append(
            _p(RESEARCH_USE + " (No image-derived output was used in this prediction.)", _SMALL)
        )
    return story


def render_case_report(data: CaseReportData) -> bytes:
    """The case report PDF for ``data``."""
    buffer = io.BytesIO()
    doc = _Document(buffer, title=f"{data.case_ref} report")
    story = _case_story(data, doc.width, level=0, key="case")
    doc.build(story, canvasmaker=_FooterCanvas)
    return buffer.getvalue()


def render_board_packet(packet: BoardPacketData) -> bytes:
    """Cover, agenda and table of contents, then every case's report, with bookmarks."""
    buffer = io.BytesIO()
    doc = _Document(buffer, title=f"{packet.board} {packet.meeting_date} board packet")
    width = doc.width
    footer = (
        f"{packet.board} · {packet.site} · meeting {packet.meeting_date}",
        f"Generated {packet.generated_at_utc} · "
        + (
            "De-identified"
            if packet.deidentified
            else "Contains patient identifiers — confidential"
        ),
    )
    story: list[Flowable] = [_FooterMark(footer), Spacer(1, 50 * mm)]
    story.append(Heading(f"{packet.board} — tumor board packet", _COVER, level=0, key="cover"))
    story.append(_p(f"{packet.site} · {packet.specialty}", _COVER_SUB))
    story.append(
        _p(
            f"Meeting of {packet.meeting_date}" + (f": {packet.title}" if packet.title else ""),
            _COVER_SUB,
        )
    )
    story.append(Spacer(1, 10 * mm))
    story.append(
        _p(
            f"{len(packet.agenda)} case{'s' if len(packet.agenda) != 1 else ''} · attendees: "
            + (", ".join(packet.attendees) or "—"),
            _COVER_SUB,
        )
    )
    story.append(_p(f"Generated {packet.generated_at_utc}", _COVER_SUB))
    story.append(PageBreak())
    story.append(Heading("Agenda", _H1, level=0, key="agenda"))
    if packet.agenda:
        story.append(
            _grid(
                ["#", "Case", "Presenter", "Preparation"],
                [[str(r.order), r.case_ref, r.presenter, r.prepared] for r in packet.agenda],
                [width * 0.07, width * 0.55, width * 0.23, width * 0.15],
            )
        )
    else:
        story.append(_na("The agenda is empty."))
    story.append(Spacer(1, 6 * mm))
    story.append(para("Contents", _H1))
    story.append(
        contents_table(
            [
                ParagraphStyle("toc0", parent=_BODY, fontSize=9.5, leftIndent=0, firstLineIndent=0),
                ParagraphStyle("toc1", parent=_SMALL, leftIndent=12, firstLineIndent=0),
            ]
        )
    )
    for index, case in enumerate(packet.cases, start=1):
        story.append(PageBreak())
        story += _case_story(case, width, level=0, key=f"case{index}")
    doc.multiBuild(story, canvasmaker=_FooterCanvas)
    return buffer.getvalue()
