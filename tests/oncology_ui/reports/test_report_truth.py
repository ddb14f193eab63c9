"""The PDFs say only what is true: labs that are stored, hallmarks only with data, bars that
match their numbers, a prognosis from today, and a stale prediction marked as such."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from django.test import Client
from django.urls import reverse
from reportlab.graphics.shapes import Drawing, Rect

from oncology_ui.analysis.adapters import case_snapshot
from oncology_ui.analysis.models import AnalysisRun
from oncology_ui.clinical.models import LabResult
from oncology_ui.core.jobs import job_run
from oncology_ui.core.models import Job
from oncology_ui.reports import services
from oncology_ui.reports.build import case_report_data
from oncology_ui.reports.charts import bar_table
from oncology_ui.reports.data import Bar, BoardPacketData, CaseReportData
from tests.oncology_ui.boards.conftest import BoardCast
from tests.oncology_ui.boards.helpers import (
    diagnosed_years_ago,
    tcga_prediction_create,
)
from tests.oncology_ui.clinical.conftest import lab_csv, run_import
from tests.oncology_ui.conftest import Cast
from tests.pdfs import pdf_text

pytestmark = pytest.mark.django_db

HALLMARKS = [
    "HALLMARK_E2F_TARGETS",
    "HALLMARK_HYPOXIA",
    "HALLMARK_MYC_TARGETS_V1",
    "HALLMARK_G2M_CHECKPOINT",
    "HALLMARK_APOPTOSIS",
    "HALLMARK_GLYCOLYSIS",
    "HALLMARK_KRAS_SIGNALING_UP",
    "HALLMARK_P53_PATHWAY",
    "HALLMARK_DNA_REPAIR",
    "HALLMARK_ANGIOGENESIS",
    "HALLMARK_MTORC1_SIGNALING",
    "HALLMARK_INFLAMMATORY_RESPONSE",
]
#: Eight analytes on two days: 16 results, as in the report that said "no laboratory results".
LABS = [
    f"{day},{test},,{value},{unit},,"
    for day, values in (
        ("2026-01-05", (131, 1.1, 12.3, 9.8)),
        ("2026-02-02", (136, 1.4, 9.1, 11.2)),
    )
    for test, value, unit in zip(
        ("Sodium", "Creatinine", "WBC", "Hb"),
        values,
        ("mmol/L", "mg/dL", "x10E3/uL", "g/dL"),
        strict=True,
    )
] + [
    f"{day},{test},,{value},{unit},,"
    for day, values in (("2026-01-05", (4.1, 98, 30, 0.8)), ("2026-02-02", (4.6, 140, 41, 1.2)))
    for test, value, unit in zip(
        ("Potassium", "Glucose", "ALT", "Bilirubin"),
        values,
        ("mmol/L", "mg/dL", "U/L", "mg/dL"),
        strict=True,
    )
]


@pytest.fixture
def rendered(monkeypatch: pytest.MonkeyPatch) -> list[CaseReportData | BoardPacketData]:
    """The data each real renderer was called with (the renderers still run)."""
    seen: list[CaseReportData | BoardPacketData] = []
    case_renderer, packet_renderer = services.render_case_report, services.render_board_packet

    def case_report(data: CaseReportData) -> bytes:
        seen.append(data)
        return case_renderer(data)

    def board_packet(data: BoardPacketData) -> bytes:
        seen.append(data)
        return packet_renderer(data)

    monkeypatch.setattr(services, "render_case_report", case_report)
    monkeypatch.setattr(services, "render_board_packet", board_packet)
    return seen


def _packet_text(client: Client, boards: BoardCast) -> str:
    client.post(reverse("reports-packet-request", args=[boards.meeting.pk]))
    job = Job.objects.filter(kind=services.PACKET_JOB).latest("pk")
    assert job_run(job.pk) == Job.Status.SUCCEEDED
    response = client.get(reverse("reports-packet-download", args=[job.pk]))
    return pdf_text(b"".join(response.streaming_content))  # type: ignore[attr-defined]


def test_imported_labs_print_in_the_case_report_and_the_packet(
    cast: Cast,
    boards: BoardCast,
    oncologist_client: Client,
    rendered: list[CaseReportData | BoardPacketData],
) -> None:
    record = run_import(cast.case, lab_csv(*LABS))
    assert record.status == "imported", record.problems
    text = pdf_text(services.case_report_pdf(case=cast.case, deidentified=False))
    (data,) = rendered
    assert isinstance(data, CaseReportData)
    labs = next(section for section in data.optional_sections if section.title == "Labs chart")
    # 16 imported results, and the eGFR the importer derives from each creatinine.
    stored = LabResult.objects.filter(case=cast.case).count()
    assert stored == 18
    assert labs.available and len(labs.charts) == 9
    assert sum(len(series.points) for series in labs.charts) == stored
    sodium = next(series for series in labs.charts if series.label == "Sodium")
    assert [(p.when, p.value) for p in sodium.points] == [("2026-01-05", 131), ("2026-02-02", 136)]
    assert "no laboratory results" not in text
    assert "18 laboratory results stored" in text
    assert "Sodium: 136 mmol/L; on 2026-02-02" in text
    packet = _packet_text(oncologist_client, boards)
    assert "no laboratory results" not in packet
    assert "18 laboratory results stored" in packet and "Sodium: 136 mmol/L" in packet
    assert isinstance(rendered[-1], BoardPacketData)
    assert rendered[-1].cases[0].optional_sections[-1].charts == labs.charts


def test_the_deidentified_labs_print_days_from_diagnosis(cast: Cast) -> None:
    run_import(cast.case, lab_csv(*LABS))
    data = case_report_data(cast.case, deidentified=True)
    labs = next(section for section in data.optional_sections if section.title == "Labs chart")
    days = (dt.date(2026, 1, 5) - cast.case.diagnosis_date).days
    assert labs.charts[0].points[0].when == f"day {days:+d}"
    assert "2026-01-05" not in " ".join(labs.lines)


def test_the_old_zero_filled_hallmark_table_is_gone_and_one_plain_line_says_why(
    cast: Cast, rendered: list[CaseReportData | BoardPacketData]
) -> None:
    tcga_prediction_create(
        cast.case,
        explanation={
            "reference_years": 3,
            "modality_shapley": [{"modality": "clinical", "shapley": 0.05}],
            "hallmarks": [
                {
                    "hallmark": name,
                    "attribution": 1e-7 * (i + 1),
                    "score": None,
                    "genes_measured": 0,
                }
                for i, name in enumerate(HALLMARKS)
            ],
        },
    )
    text = pdf_text(services.case_report_pdf(case=cast.case, deidentified=False))
    (data,) = rendered
    assert isinstance(data, CaseReportData) and data.prognosis is not None
    assert data.hallmarks.source == ""
    assert "No expression profile measured; hallmark programmes cannot be scored." in text
    assert "HALLMARK_" not in text and "+0.000" not in text


def test_every_bar_is_as_long_as_its_printed_value() -> None:
    bars = (Bar("Clinical", 2.0), Bar("Labs", -1.04), Bar("Tiny", 0.04))
    table = bar_table(bars, 400.0)
    printed = [str(row[1].text) for row in table._cellvalues]
    assert printed == ["+2.0 points", "-1.0 points", "+0.0 points"]
    widths = []
    for row in table._cellvalues:
        drawing = row[2]
        assert isinstance(drawing, Drawing)
        (rect,) = [shape for shape in drawing.contents if isinstance(shape, Rect)]
        widths.append(rect.width)
    assert widths[1] / widths[0] == pytest.approx(1.0 / 2.0)
    assert widths[2] == 0.0


def test_the_report_prognosis_starts_from_today(
    cast: Cast, rendered: list[CaseReportData | BoardPacketData]
) -> None:
    diagnosed = diagnosed_years_ago(cast.case, 7.9)
    tcga_prediction_create(cast.case)
    text = pdf_text(services.case_report_pdf(case=cast.case, deidentified=False))
    (data,) = rendered
    assert isinstance(data, CaseReportData) and data.prognosis is not None
    assert data.prognosis.conditioned
    assert data.prognosis.times_months[0] == 0.0
    assert data.prognosis.times_months[-1] == pytest.approx(120 - 7.9 * 12, abs=0.1)
    assert data.prognosis.landmarks[0].survival == pytest.approx(math.exp(-0.12), rel=1e-6)
    assert f"given survival since diagnosis on {diagnosed.isoformat()}, 7.9 years ago" in text
    assert "1 year from today 89%" in text
    assert "3 years from today beyond the model's horizon" in text
    assert "Years from today" in text  # the chart's axis
    assert "Years since analysis" not in text


def test_the_deidentified_report_names_time_zero_without_the_date(cast: Cast) -> None:
    diagnosed = diagnosed_years_ago(cast.case, 2.0)
    tcga_prediction_create(cast.case)
    text = pdf_text(services.case_report_pdf(case=cast.case, deidentified=True))
    assert "given survival since diagnosis (day 0), 2.0 years ago" in text
    assert diagnosed.isoformat() not in text


def test_past_the_horizon_the_report_says_the_curve_cannot_be_extended(cast: Cast) -> None:
    diagnosed_years_ago(cast.case, 11.0)
    tcga_prediction_create(cast.case)
    text = pdf_text(services.case_report_pdf(case=cast.case, deidentified=False))
    assert "No survival estimate from today" in text and "cannot be extended from today" in text
    assert "1 year from today" not in text


def test_a_stale_prediction_is_marked_in_the_report_and_the_packet(
    cast: Cast, boards: BoardCast, oncologist_client: Client
) -> None:
    prediction = tcga_prediction_create(cast.case)
    AnalysisRun.objects.filter(pk=prediction.run_id).update(
        inputs_snapshot=case_snapshot(cast.case)
    )
    assert "STALE" not in pdf_text(services.case_report_pdf(case=cast.case, deidentified=False))
    run_import(cast.case, lab_csv("2026-01-05,Sodium,,131,mmol/L,,"))
    text = pdf_text(services.case_report_pdf(case=cast.case, deidentified=False))
    assert "STALE: this prediction was made" in text and "before newer laboratory results" in text
    assert "STALE: this prediction was made" in _packet_text(oncologist_client, boards)


def test_inputs_the_model_cannot_use_print_plainly(cast: Cast) -> None:
    prediction = tcga_prediction_create(
        cast.case, inputs_ignored=["clinical:er_positive", "clinical:ecog"]
    )
    AnalysisRun.objects.filter(pk=prediction.run_id).update(
        inputs_snapshot={
            "case_id": str(cast.case.pk),
            "clinical": {"values": {"age": 62.0, "er_positive": 1.0, "ecog": 1.0}},
        }
    )
    text = pdf_text(services.case_report_pdf(case=cast.case, deidentified=False))
    assert "Known but not used by this model ER positive; ECOG performance status 1" in text
    assert "er_positive" not in text


def test_without_an_analysis_the_report_never_says_nothing_is_missing(cast: Cast) -> None:
    text = pdf_text(services.case_report_pdf(case=cast.case, deidentified=False))
    assert "Data used and missing" in text
    assert "nothing reported missing" not in text
