"""The case report and the board packet as PDF: pure functions from report data to bytes.

This module lays out the sections; :mod:`oncology_ui.reports.layout` holds the styles, tables and
page furniture, :mod:`oncology_ui.reports.charts` the drawings. Every text reaches reportlab's
markup parser through :mod:`oncology_ui.reports.markup`, which escapes it (an unescaped
``<img src="http://...">`` would be fetched, ``<a href>`` would become a live link, a broken tag
would fail the document).
"""

from __future__ import annotations

import io
import logging

from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    PageBreak,
    Spacer,
)

from oncology_ui.reports.charts import bar_table, lab_charts, survival_drawing
from oncology_ui.reports.data import (
    NOT_AVAILABLE,
    RESEARCH_USE,
    BoardPacketData,
    CaseReportData,
    DecisionData,
    HallmarkReport,
    OptionalSection,
)
from oncology_ui.reports.layout import (
    BODY,
    COVER,
    COVER_SUB,
    H0,
    H1,
    H2,
    SMALL,
    FooterCanvas,
    FooterMark,
    ReportDocument,
    facts_table,
    grid_table,
    long_text,
    not_available,
    paragraph,
)
from oncology_ui.reports.markup import Heading, contents_table, para, png_image

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


def _percent(value: float | None) -> str:
    return f"{value:.0%}" if value is not None else "—"


def _prognosis_story(data: CaseReportData, width: float) -> list[Flowable]:
    prognosis = data.prognosis
    if prognosis is None:
        return [not_available(data.prognosis_unavailable)]
    story: list[Flowable] = []
    if prognosis.stale:
        story.append(para(prognosis.stale, BODY, bold=True))
    story.append(paragraph(f"Stored prediction computed {prognosis.computed_at}.", SMALL))
    if prognosis.status != "ok":
        story.append(paragraph("The model abstained: " + "; ".join(prognosis.abstention_reasons)))
        return story
    if prognosis.basis:
        story.append(para(prognosis.basis, BODY, bold=True))
    if prognosis.routing:
        story.append(paragraph(prognosis.routing))
    if prognosis.validation:
        story.append(paragraph(prognosis.validation, SMALL))
    reference = f"{prognosis.reference_years}-year" if prognosis.reference_years else "predicted"
    if prognosis.no_curve_reason:
        story.append(not_available("No survival estimate from today: " + prognosis.no_curve_reason))
    else:
        if prognosis.times_months and prognosis.survival:
            story.append(survival_drawing(prognosis, width=width))
            story.append(
                paragraph(
                    "Line: predicted survival"
                    + (" from today, given survival to today" if prognosis.conditioned else "")
                    + (
                        ". Grey band: the model's 90% bootstrap interval"
                        if prognosis.validation
                        else ". Grey band: the spread of the model's ensemble"
                    )
                    + (
                        ", each edge conditioned on its own survival to today."
                        if prognosis.conditioned
                        else "."
                    ),
                    SMALL,
                )
            )
        else:
            story.append(
                not_available("Not available: the stored prediction has no survival curve.")
            )
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
            story.append(grid_table(["Horizon", "Survival", "Interval"], rows, [width * 0.3] * 3))
        else:
            story.append(not_available("Not available: no 1/3/5-year figures were stored."))
        median = "Median survival" + (" from today" if prognosis.conditioned else "")
        story.append(
            paragraph(
                f"{median}: {prognosis.median_months:.0f} months."
                if prognosis.median_months is not None
                else f"{median}: not reached within the model's horizon."
            )
        )
    story.append(para("Why: the facts that moved this prediction most", H2))
    if prognosis.factors:
        story.append(
            paragraph(
                f"Percentage points of the predicted {reference} survival "
                f"({prognosis.factors_method}); negative lowers it. Values that round to 0.0 "
                "are left out.",
                SMALL,
            )
        )
        story.append(bar_table(prognosis.factors, width))
    else:
        story.append(not_available("Not available: no factor attribution was stored."))
    # A clinical-portrait model (it has validation facts) reads one modality: nothing to share.
    if not (prognosis.validation and not prognosis.contributions):
        story.append(para("Modality contributions", H2))
        if prognosis.contributions:
            story.append(
                paragraph(
                    f"Exact Shapley values in percentage points of the predicted {reference} "
                    "survival from diagnosis; negative lowers it. Values that round to 0.0 are "
                    "left out.",
                    SMALL,
                )
            )
            story.append(bar_table(prognosis.contributions, width))
        else:
            story.append(
                not_available(
                    "Not available: no modality contribution was stored or all round to 0.0."
                )
            )
    return story


def _hallmark_story(report: HallmarkReport, width: float) -> list[Flowable]:
    if not report.source:
        return [not_available(report.unavailable)]
    story: list[Flowable] = [para(f"Source: {report.source}", BODY, bold=True)]
    story += [paragraph(line, SMALL) for line in report.lines]
    widths = [width * 0.3, width * 0.36, width * 0.14, width * 0.2]
    story.append(
        grid_table(
            ["Capability", "Programmes (direction)", "Score", "Percentile"],
            [[r.label, r.programmes, r.score, r.percentile] for r in report.capabilities],
            widths,
        )
    )
    if report.gene_sets:
        story.append(para("Gene sets furthest from the cohort's median", H2))
        story.append(
            grid_table(
                ["Set", "Genes", "Score", "Percentile"],
                [[r.label, r.programmes, r.score, r.percentile] for r in report.gene_sets],
                widths,
            )
        )
    return story


def _optional_story(section: OptionalSection, width: float) -> list[Flowable]:
    if not section.available:
        return [not_available(section.unavailable)]
    story: list[Flowable] = [paragraph(line) for line in section.lines]
    if section.charts:
        story.append(lab_charts(section.charts, width))
        story.append(
            paragraph(
                "Grey band: reference range. Hollow squares: results flagged high or low.", SMALL
            )
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
                not_available(
                    f"Not available: the {section.title.lower()} image could not be read."
                )
            )
        if section.image_caption:
            story.append(paragraph(section.image_caption, SMALL))
    return story


def _decision_story(decision: DecisionData, width: float) -> list[Flowable]:
    title = f"Decision version {decision.version} — {decision.status}"
    if decision.superseded:
        title += " (SUPERSEDED by a later version; not in force)"
    story: list[Flowable] = [para(title, H2)]
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
    story.append(facts_table(rows, width))
    story.append(paragraph("Discussion notes:", SMALL))
    story.extend(
        long_text(decision.notes) if decision.notes else [not_available("No notes recorded.")]
    )
    if decision.signature is not None:
        sig = decision.signature
        story.append(
            paragraph(
                f"Electronically signed by {sig.name} at {sig.at_utc}. Meaning: {sig.meaning}. "
                f"Signed content sha256: {sig.content_hash}",
                SMALL,
            )
        )
    else:
        story.append(not_available("Not signed: this is a draft, not the board's recommendation."))
    return story


def _case_story(data: CaseReportData, width: float, *, level: int, key: str) -> list[Flowable]:
    """All flowables of one case report; ``level`` 0 alone, 1 inside a packet."""
    story: list[Flowable] = [FooterMark(_footer_lines(data))]
    title = "Case report — " + (
        "de-identified" if data.deidentified or data.identifiers is None else data.identifiers.name
    )
    story.append(Heading(f"{data.case_ref}: {title}", H0, level=level, key=key))
    if data.identifiers is not None:
        ident = data.identifiers
        story.append(
            facts_table(
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
            paragraph(
                "De-identified report: no names, record numbers or birth dates; dates "
                "are days from diagnosis.",
                SMALL,
            )
        )

    def heading(text: str) -> Heading:
        return Heading(text, H1, level=level + 1, key=f"{key}-{len(story)}")

    story += [heading("Case summary"), facts_table(data.summary, width)]
    story.append(heading("Timeline"))
    if data.timeline:
        story.append(
            grid_table(
                ["When", "Event", "What", "Detail"],
                [[row.when, row.kind, row.label, row.detail] for row in data.timeline],
                [width * 0.17, width * 0.18, width * 0.3, width * 0.35],
            )
        )
    else:
        story.append(not_available("Not available: no timeline events recorded."))
    story.append(heading("Data used and missing"))
    story.append(
        facts_table(
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
    story.append(heading("Hallmark profile"))
    story += _hallmark_story(data.hallmarks, width)
    for section in data.optional_sections:
        story.append(heading(section.title))
        story += _optional_story(section, width)
    story.append(heading("Board decision and signatures"))
    if data.decisions:
        for decision in data.decisions:
            story += _decision_story(decision, width)
    else:
        story.append(
            not_available("Not available: the board has not recorded a decision for this case.")
        )
    story.append(heading("Limitations"))
    story += [paragraph("• " + line) for line in data.limitations]
    if data.image_derived:
        story.append(paragraph(RESEARCH_USE))
    else:
        story.append(
            paragraph(
                RESEARCH_USE + " (No image-derived output was used in this prediction.)", SMALL
            )
        )
    return story


def render_case_report(data: CaseReportData) -> bytes:
    """The case report PDF for ``data``."""
    buffer = io.BytesIO()
    doc = ReportDocument(buffer, title=f"{data.case_ref} report")
    story = _case_story(data, doc.width, level=0, key="case")
    doc.build(story, canvasmaker=FooterCanvas)
    return buffer.getvalue()


def render_board_packet(packet: BoardPacketData) -> bytes:
    """Cover, agenda and table of contents, then every case's report, with bookmarks."""
    buffer = io.BytesIO()
    doc = ReportDocument(buffer, title=f"{packet.board} {packet.meeting_date} board packet")
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
    story: list[Flowable] = [FooterMark(footer), Spacer(1, 50 * mm)]
    story.append(Heading(f"{packet.board} — tumor board packet", COVER, level=0, key="cover"))
    story.append(paragraph(f"{packet.site} · {packet.specialty}", COVER_SUB))
    story.append(
        paragraph(
            f"Meeting of {packet.meeting_date}" + (f": {packet.title}" if packet.title else ""),
            COVER_SUB,
        )
    )
    story.append(Spacer(1, 10 * mm))
    story.append(
        paragraph(
            f"{len(packet.agenda)} case{'s' if len(packet.agenda) != 1 else ''} · attendees: "
            + (", ".join(packet.attendees) or "—"),
            COVER_SUB,
        )
    )
    story.append(paragraph(f"Generated {packet.generated_at_utc}", COVER_SUB))
    story.append(PageBreak())
    story.append(Heading("Agenda", H1, level=0, key="agenda"))
    if packet.agenda:
        story.append(
            grid_table(
                ["#", "Case", "Presenter", "Preparation"],
                [[str(r.order), r.case_ref, r.presenter, r.prepared] for r in packet.agenda],
                [width * 0.07, width * 0.55, width * 0.23, width * 0.15],
            )
        )
    else:
        story.append(not_available("The agenda is empty."))
    story.append(Spacer(1, 6 * mm))
    story.append(para("Contents", H1))
    story.append(
        contents_table(
            [
                ParagraphStyle("toc0", parent=BODY, fontSize=9.5, leftIndent=0, firstLineIndent=0),
                ParagraphStyle("toc1", parent=SMALL, leftIndent=12, firstLineIndent=0),
            ]
        )
    )
    for index, case in enumerate(packet.cases, start=1):
        story.append(PageBreak())
        story += _case_story(case, width, level=0, key=f"case{index}")
    doc.multiBuild(story, canvasmaker=FooterCanvas)
    return buffer.getvalue()
