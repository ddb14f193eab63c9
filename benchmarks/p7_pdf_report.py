"""P7: case report and board packet rendering speed.

Ours: ``render_case_report`` on a synthetic but complete case (identifiers, a long timeline,
prognosis curve with band, contributions, hallmarks, a signed decision with long notes) sized to
five pages. Baseline: a minimal reportlab document of the same page count, each page one
heading, a 24-row table and a PNG image: the least any PDF report costs. The ratio compares
seconds per page. Then a 20-case board packet (cover, agenda, contents, bookmarks, two layout
passes for the contents) is timed end to end. Both are pure functions of in-memory data: no
database, no model call.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from collections.abc import Callable
from typing import Any

from PIL import Image as PILImage
from pypdf import PdfReader
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.platypus import Image, PageBreak, Paragraph, SimpleDocTemplate, Table

from benchmarks.common import BenchmarkResult, result_line
from oncology_ui.reports.data import (
    AgendaRow,
    Bar,
    BoardPacketData,
    CaseReportData,
    DecisionData,
    Identifiers,
    Landmark,
    ModelInfo,
    OptionalSection,
    Prognosis,
    Signature,
    TimelineRow,
)
from oncology_ui.reports.pdf import render_board_packet, render_case_report

ID = "P7"
TITLE = "Case report s/page vs minimal reportlab doc (goal <= 2x, 5 pages <= 1 s); 20-case packet"
GOAL_RATIO = 2.0
GOAL_FIVE_PAGES_S = 1.0


def _case(n: int, *, timeline_rows: int = 40, note_lines: int = 60) -> CaseReportData:
    times = tuple(float(m) for m in range(0, 61))
    survival = tuple(max(0.05, 1 - 0.012 * t) for t in times)
    prognosis = Prognosis(
        status="ok",
        abstention_reasons=(),
        times_months=times,
        survival=survival,
        lower=tuple(max(0.0, s - 0.1) for s in survival),
        upper=tuple(min(1.0, s + 0.08) for s in survival),
        median_months=41.0,
        landmarks=(
            Landmark(1, 0.86, 0.8, 0.91),
            Landmark(3, 0.64, 0.55, 0.72),
            Landmark(5, 0.4, 0.3, 0.5),
        ),
        contributions=(Bar("Clinical facts", 0.21), Bar("Gene expression", -0.08)),
        computed_at="2026-01-01 10:00 UTC",
    )
    decision = DecisionData(
        version=1,
        status="Signed",
        meeting="Breast tumor board, 2026-01-05",
        therapy="Letrozole + palbociclib",
        trial_referral="",
        further_tests="Repeat CT in 3 months",
        follow_up="Clinic in 4 weeks",
        notes="\n".join(f"Point {k}: " + "discussion " * 14 for k in range(note_lines)),
        agreeing=("A. Clinician", "B. Pathologist"),
        model_top_option="",
        model_prognosis="oncofusion 1.4.0; 1-year survival 86%",
        is_discordant=False,
        discordance_reason="",
        signature=Signature("A. Clinician", "2026-01-05 12:00 UTC", "Reviewed", "f" * 64),
    )
    return CaseReportData(
        case_ref=f"Case {n}",
        generated_at_utc="2026-01-06 08:00 UTC",
        deidentified=False,
        identifiers=Identifiers("DOE, Jane", f"MRN{n:05d}", "main", "1961-04-12", "Female"),
        summary=(("Diagnosis", "Invasive ductal carcinoma"), ("Stage group", "IIB")),
        timeline=tuple(
            TimelineRow("2025-01-01", "Systemic therapy line", f"Line {k}: FOLFOX", "Completed.")
            for k in range(timeline_rows)
        ),
        data_used=("Clinical facts", "Gene expression"),
        data_missing=("Labs", "Pathology slides"),
        prognosis=prognosis,
        prognosis_unavailable="",
        optional_sections=tuple(
            OptionalSection(title=title, unavailable="Not available: nothing stored for this case.")
            for title in (
                "Therapy ranking",
                "Trial matches",
                "Slide thumbnail",
                "Imaging slice",
                "Labs chart",
            )
        ),
        decisions=(decision,),
        model=ModelInfo("oncofusion", "1.4.0", "ab12" * 16),
        knowledge_base_version="not available",
        image_derived=False,
    )


def _png() -> bytes:
    buffer = io.BytesIO()
    PILImage.new("L", (400, 300), 128).save(buffer, format="PNG")
    return buffer.getvalue()


def _minimal(pages: int, png: bytes) -> bytes:
    """The baseline: heading, 24-row table and one image per page, nothing else."""
    styles = getSampleStyleSheet()
    buffer = io.BytesIO()
    story: list[Any] = []
    for page in range(pages):
        story.append(Paragraph(f"Page {page + 1}", styles["Heading2"]))
        story.append(Table([[f"r{r}c{c}" for c in range(4)] for r in range(24)]))
        story.append(Image(io.BytesIO(png), width=200, height=150))
        if page < pages - 1:
            story.append(PageBreak())
    SimpleDocTemplate(buffer, pagesize=A4).build(story)
    return buffer.getvalue()


def _timed(function: Callable[[], bytes], repeats: int) -> tuple[float, bytes]:
    times, result = [], b""
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def _page_count(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


def run(args: argparse.Namespace) -> BenchmarkResult:
    repeats = 3 if getattr(args, "quick", False) else 9
    packet_cases = 5 if getattr(args, "quick", False) else 20
    case = _case(1)
    ours_s, ours_pdf = _timed(lambda: render_case_report(case), repeats)
    pages = _page_count(ours_pdf)
    png = _png()
    base_s, base_pdf = _timed(lambda: _minimal(pages, png), repeats)
    if _page_count(base_pdf) != pages:
        raise RuntimeError("the baseline must have as many pages as the report")
    ratio = (ours_s / pages) / (base_s / pages)
    packet = BoardPacketData(
        board="Breast tumor board",
        site="main",
        specialty="Breast",
        meeting_date="2026-01-05",
        title="Weekly",
        attendees=("A. Clinician",),
        generated_at_utc="2026-01-06 08:00 UTC",
        deidentified=False,
        agenda=tuple(AgendaRow(n, f"Case {n}", "A. Clinician", "complete") for n in range(1, 21)),
        cases=tuple(_case(n) for n in range(1, packet_cases + 1)),
    )
    packet_s, packet_pdf = _timed(lambda: render_board_packet(packet), 1 if packet_cases > 5 else 2)
    return result_line(
        id=ID,
        metric="report_s_per_page",
        ours=round(ours_s / pages, 4),
        baseline=round(base_s / pages, 4),
        ratio=round(ratio, 2),
        goal=f"<= {GOAL_RATIO:g} x per page; 5-page report <= {GOAL_FIVE_PAGES_S:g} s",
        met=ratio <= GOAL_RATIO and ours_s * 5 / pages <= GOAL_FIVE_PAGES_S,
        per_page=True,
        report_pages=pages,
        report_s=round(ours_s, 4),
        goal_ratio=GOAL_RATIO,
        five_page_report_s=round(ours_s * 5 / pages, 4),
        goal_five_pages_s=GOAL_FIVE_PAGES_S,
        packet_cases=packet_cases,
        packet_pages=_page_count(packet_pdf),
        packet_s=round(packet_s, 3),
        packet_mb=round(len(packet_pdf) / 1e6, 2),
        repeats=repeats,
    )
