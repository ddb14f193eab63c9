"""The building blocks of OncoBoard's PDFs: paragraph styles, escaped paragraphs and tables, and
the page furniture (footer with "page x of y", bookmarks and the contents entries of headings).

Every text goes through :mod:`oncology_ui.reports.markup`, which escapes it for reportlab.
"""

from __future__ import annotations

import io
from collections.abc import Iterable

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Flowable, Frame, PageTemplate, Table, TableStyle

from oncology_ui.reports.data import NOT_AVAILABLE
from oncology_ui.reports.markup import Heading, contents_entry, para

_STYLES = getSampleStyleSheet()
BODY = ParagraphStyle("body", parent=_STYLES["BodyText"], fontSize=9.5, leading=12)
SMALL = ParagraphStyle("small", parent=BODY, fontSize=8, leading=10)
CELL = ParagraphStyle("cell", parent=BODY, fontSize=8.5, leading=10.5, spaceBefore=0)
NOT_AVAILABLE_STYLE = ParagraphStyle(
    "na", parent=BODY, textColor=colors.HexColor("#444444"), fontName="Helvetica-Oblique"
)
H0 = ParagraphStyle("h0", parent=_STYLES["Title"], fontSize=17, leading=21, spaceAfter=4)
H1 = ParagraphStyle(
    "h1", parent=_STYLES["Heading2"], fontSize=12.5, leading=15, spaceBefore=10, spaceAfter=4
)
H2 = ParagraphStyle(
    "h2", parent=_STYLES["Heading3"], fontSize=10.5, leading=13, spaceBefore=6, spaceAfter=2
)
COVER = ParagraphStyle("cover", parent=H0, fontSize=24, leading=30, alignment=TA_CENTER)
COVER_SUB = ParagraphStyle("coversub", parent=BODY, fontSize=12, leading=16, alignment=TA_CENTER)

GRID_STYLE = TableStyle(
    [
        ("FONT", (0, 0), (-1, -1), "Helvetica", 8.5, 10.5),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#888888")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e6e6e6")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]
)
FACTS_STYLE = TableStyle(
    [
        ("FONT", (0, 0), (-1, -1), "Helvetica", 8.5, 10.5),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#bbbbbb")),
        ("LEFTPADDING", (0, 0), (-1, -1), 2),
    ]
)


def paragraph(text: object, style: ParagraphStyle = BODY) -> Flowable:
    return para(text, style)


def not_available(text: str = NOT_AVAILABLE) -> Flowable:
    return para(text, NOT_AVAILABLE_STYLE)


def long_text(text: str) -> list[Flowable]:
    """Long notes as one paragraph per line so they split across pages anywhere."""
    return [paragraph(line) for line in text.splitlines() if line.strip()] or [not_available("—")]


class FooterMark(Flowable):
    """Sets the footer of the page it lands on (and the following ones) without taking space."""

    def __init__(self, lines: tuple[str, str]) -> None:
        super().__init__()
        self.lines = lines

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return 0, 0

    def draw(self) -> None:
        self.canv._oncoboard_footer = self.lines


_TOTAL_FORM = "oncoboardPageTotal"


class FooterCanvas(Canvas):
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


class ReportDocument(BaseDocTemplate):
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


def table_cell(text: object, width: float) -> str | Flowable:
    """A table cell: plain text when it fits on one line, else a wrapping Paragraph.

    Plain strings are drawn as they are (no markup parsing), which is both literal and several
    times faster than a Paragraph; only text that needs wrapping pays for one (escaped).
    """
    value = "" if text is None else str(text)
    if "\n" not in value and stringWidth(value, "Helvetica", CELL.fontSize) <= width - 7:
        return value
    return paragraph(value, CELL)


def facts_table(rows: Iterable[tuple[str, str]], width: float) -> Table:
    widths = [width * 0.28, width * 0.72]
    table = Table(
        [[table_cell(label, widths[0]), table_cell(value, widths[1])] for label, value in rows],
        colWidths=widths,
    )
    table.setStyle(FACTS_STYLE)
    return table


def grid_table(header: list[str], rows: list[list[str]], widths: list[float]) -> Table:
    body = [
        [table_cell(cell, w) for cell, w in zip(row, widths, strict=True)]
        for row in [header, *rows]
    ]
    table = Table(body, colWidths=widths, repeatRows=1)
    table.setStyle(GRID_STYLE)
    return table
