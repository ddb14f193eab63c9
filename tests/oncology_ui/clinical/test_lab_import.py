"""Lab CSV import: LOINC coding, units, flags, derived values, and every hostile file."""

from __future__ import annotations

import datetime as dt
import io
import tracemalloc

import pytest
from django.test import Client
from django.urls import reverse

from oncology_ui.clinical.models import ClinicalImport, LabResult, TimelineSource
from oncology_ui.clinical.parsers import ImportRejected, Limits
from oncology_ui.clinical.parsers.labcsv import parse_lab_csv
from oncology_ui.clinical.parsers.labs import PatientContext
from oncology_ui.patients.models import TimelineEvent
from tests.oncology_ui.clinical.conftest import lab_csv, run_import
from tests.oncology_ui.conftest import Cast

pytestmark = pytest.mark.django_db
CONTEXT = PatientContext(sex="female", today=dt.date(2025, 1, 1))


def _parse(data: bytes, limits: Limits | None = None) -> list:
    records, _ = parse_lab_csv(io.BytesIO(data), context=CONTEXT, limits=limits or Limits())
    return records


def _problems(data: bytes, limits: Limits | None = None) -> list[str]:
    with pytest.raises(ImportRejected) as caught:
        _parse(data, limits)
    return [f"{p.where}: {p.message}" for p in caught.value.problems]


def test_it_codes_names_with_loinc_converts_units_and_flags() -> None:
    records = _parse(
        lab_csv(
            "2024-03-01,Creatinine,,1.2,mg/dL,,",
            "2024-03-01,Hb,,9.8,g/dL,,",
            "2024-03-01,WBC,,12.3,x10E3/uL,,",
            "2024-03-01,Potassium,,4.0,mEq/L,3.5-5.1,",
        )
    )
    by_key = {r.analyte_key: r for r in records}
    assert by_key["creatinine"].loinc == "2160-0"
    assert by_key["creatinine"].value == pytest.approx(106.08, rel=1e-3)
    assert by_key["creatinine"].unit == "umol/L"
    assert (by_key["creatinine"].value_text, by_key["creatinine"].unit_original) == ("1.2", "mg/dL")
    assert by_key["hemoglobin"].value == pytest.approx(98.0)
    assert by_key["hemoglobin"].flag == "L"  # below the female default of 120 g/L
    assert by_key["wbc"].flag == "H"
    assert by_key["potassium"].ref_source == "laboratory"
    assert by_key["potassium"].flag == ""


def test_laboratory_reference_ranges_are_converted_like_the_value() -> None:
    (record,) = _parse(lab_csv("2024-03-01,Glucose,,200,mg/dL,70-100,"))
    assert record.ref_low == pytest.approx(3.886, rel=1e-3)
    assert record.ref_high == pytest.approx(5.551, rel=1e-3)
    assert record.flag == "H"


def test_comparators_and_tumour_markers_are_kept() -> None:
    records = _parse(lab_csv("2024-03-01,CEA,,<0.5,ng/mL,,", "2024-03-01,CA 15-3,,42,U/mL,,"))
    cea, ca153 = records
    assert (cea.comparator, cea.value, cea.category) == ("<", 0.5, "tumour_marker")
    assert (ca153.loinc, ca153.unit, ca153.flag) == ("6875-9", "kU/L", "H")


def test_it_accepts_a_bom_and_crlf_line_endings() -> None:
    data = b"\xef\xbb\xbf" + lab_csv("2024-03-01,Sodium,,140,mmol/L,,").replace(b"\n", b"\r\n")
    (record,) = _parse(data)
    assert record.analyte_key == "sodium" and record.value == 140


def test_latin1_bytes_labelled_utf8_are_refused_with_the_line() -> None:
    data = lab_csv("2024-03-01,Creatinine,,1.0,mg/dL,,", "2024-03-02,Créatinine,,1.0,mg/dL,,")
    problems = _problems(data.decode().encode("latin-1"))
    assert problems == [
        "line 3: is not valid UTF-8 (byte 0xE9 at position 14) — it looks like "
        "Latin-1/Windows-1252; save the file as UTF-8."
    ]


def test_duplicate_headers_are_refused() -> None:
    problems = _problems(b"date,test,value,unit,value\n2024-03-01,Sodium,140,mmol/L,141\n")
    assert "column “value” appears twice (columns 3 and 5)" in problems[0]


def test_a_200_kb_field_is_refused_without_being_buffered() -> None:
    data = lab_csv("2024-03-01,Sodium,," + "9" * 200_000 + ",mmol/L,,")
    assert _problems(data) == [
        "line 2: is longer than 64 KB; a field this large is not a lab or variant value."
    ]


def test_the_row_limit_trips_early_in_a_huge_streamed_file() -> None:
    def rows() -> bytes:
        return lab_csv(*("2024-03-01,Sodium,,140,mmol/L,," for _ in range(5000)))

    tracemalloc.start()
    problems = _problems(rows(), Limits(max_rows=1000))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert problems == [
        "line 1002: the file has more than 1,000 rows; split it into smaller files."
    ]
    assert peak < 20 * 1024 * 1024


def test_a_million_row_file_streams_in_bounded_memory(tmp_path: object) -> None:
    """A real 1,000,000-row file on disk: refused at the limit, memory flat, well under a second."""
    from pathlib import Path

    path = Path(str(tmp_path)) / "million.csv"
    with path.open("wb") as out:
        out.write(b"date,test,value,unit\n")
        out.write(b"2024-03-01,Sodium,140,mmol/L\n" * 1_000_000)
    tracemalloc.start()
    with path.open("rb") as handle, pytest.raises(ImportRejected) as caught:
        parse_lab_csv(handle, context=CONTEXT, limits=Limits(max_rows=2000))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert caught.value.problems[0].where == "line 2002"
    assert peak < 20 * 1024 * 1024


def test_formula_cells_are_data_never_formulas() -> None:
    problems = _problems(
        lab_csv('2024-03-01,=HYPERLINK("http://x"),,1,mmol/L,,', "2024-03-01,@SUM(A1),,1,mg/dL,,")
    )
    assert problems[0].startswith("line 2: “=HYPERLINK")
    assert problems[1].startswith("line 3: “@SUM(A1)”")
    minus = _problems(lab_csv("2024-03-01,Sodium,,-140,mmol/L,,"))
    assert "outside physiological limits" in minus[0]
    plus = _parse(lab_csv("2024-03-01,Sodium,,+140,mmol/L,,"))
    assert plus[0].value == 140


def test_units_that_cannot_be_converted_name_the_row() -> None:
    problems = _problems(
        lab_csv("2024-03-01,Creatinine,,1.0,mmol/L,,", "2024-03-01,WBC,,5,mg/dL,,")
    )
    assert problems == ["line 3: “mg/dL” cannot be converted to 10*9/L for White blood cells."]


def test_values_outside_physiological_limits_are_refused() -> None:
    problems = _problems(lab_csv("2024-03-01,Potassium,,45,mmol/L,,"))
    assert problems == [
        "line 2: Potassium 45 mmol/L is outside physiological limits (1–12 mmol/L); "
        "check the value and its unit."
    ]


def test_other_bad_rows_each_get_a_message() -> None:
    problems = _problems(
        lab_csv(
            "03/01/2024,Sodium,,140,mmol/L,,",
            "2099-01-01,Sodium,,140,mmol/L,,",
            "2024-03-01,Unobtainium,,1,mg/dL,,",
            "2024-03-01,Sodium,2951-3,140,mmol/L,,",
            "2024-03-01,Sodium,,1e999,mmol/L,,",
            "2024-03-01,Sodium,,14,0,mmol/L,,",
            "2024-03-01,Creatinine,,1.0,,,",
        )
    )
    assert len(problems) == 7
    assert "is not a date" in problems[0]
    assert "in the future" in problems[1]
    assert "is not a lab test OncoBoard knows" in problems[2]
    assert "not a valid LOINC code" in problems[3]
    assert "not a finite number" in problems[4]
    assert "has 8 cells but the header has 7" in problems[5]
    assert "the unit is missing" in problems[6]


def test_a_failed_import_writes_nothing_and_keeps_a_report(cast: Cast) -> None:
    data = lab_csv("2024-03-01,Sodium,,140,mmol/L,,", "2024-03-01,Potassium,,45,mmol/L,,")
    record = run_import(cast.case, data, "labs.csv")
    assert record.status == ClinicalImport.Status.FAILED
    assert record.problem_count == 1 and record.problems[0]["where"] == "line 3"
    assert not LabResult.objects.exists()
    assert record.job is not None and "Nothing was imported. line 3" in record.job.error


def test_an_import_creates_results_derived_values_and_a_lab_panel_event(cast: Cast) -> None:
    data = lab_csv(
        "2024-03-01,Creatinine,2160-0,0.9,mg/dL,,a1",
        "2024-03-01,Weight,,68,kg,,a2",
        "2024-03-01,Height,,165,cm,,a3",
        "2024-03-01,WBC,,5.0,10^9/L,,a4",
        "2024-03-01,Neutrophils %,,60,%,,a5",
    )
    record = run_import(cast.case, data, "labs.csv")
    assert record.status == ClinicalImport.Status.IMPORTED, record.problems
    assert record.summary["labs"] == {"new": 5, "already_present": 0}
    derived = {
        r.analyte_key: r for r in LabResult.objects.filter(case=cast.case).exclude(formula="")
    }
    assert set(derived) == {"egfr_ckdepi2021", "crcl_cg", "neutrophils", "bsa"}
    assert derived["neutrophils"].value == 3.0
    assert derived["bsa"].value == pytest.approx(1.77, abs=0.01)
    assert "CKD-EPI 2021" in derived["egfr_ckdepi2021"].formula
    event = TimelineEvent.objects.get(case=cast.case, kind=TimelineEvent.Kind.LAB_PANEL)
    assert event.title == "Lab panel: 5 results"
    assert "Source: labs.csv · line 2" in event.detail
    assert TimelineSource.objects.get(event=event).source_import == record


def test_reimporting_the_same_file_duplicates_nothing(cast: Cast) -> None:
    data = lab_csv("2024-03-01,Sodium,,140,mmol/L,,", "2024-03-02,Sodium,,138,mmol/L,,")
    run_import(cast.case, data, "labs.csv")
    again = run_import(cast.case, data, "labs-again.csv")
    assert again.summary["labs"] == {"new": 0, "already_present": 2}
    assert LabResult.objects.filter(case=cast.case).count() == 2
    assert TimelineEvent.objects.filter(case=cast.case, kind="lab_panel").count() == 2


def test_the_template_downloads_and_imports_cleanly(cast: Cast, oncologist_client: Client) -> None:
    response = oncologist_client.get(reverse("clinical-lab-template"))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    record = run_import(cast.case, response.content, "template.csv")
    assert record.status == ClinicalImport.Status.IMPORTED, record.problems


def test_the_error_report_neutralises_formula_cells(cast: Cast, oncologist_client: Client) -> None:
    record = run_import(cast.case, lab_csv("2024-03-01,=cmd|' /C calc'!A0,,1,mg/dL,,"), "bad.csv")
    response = oncologist_client.get(reverse("clinical-import-report", args=[record.pk]))
    body = response.content.decode()
    assert response.status_code == 200 and response["Content-Security-Policy"] == "sandbox"
    assert "\nerror,line 2," in body
    for line in body.splitlines()[1:]:
        for cell in line.split(","):
            assert not cell.startswith(("=", "+", "-", "@"))


def test_vital_signs_for_the_model_convert_from_fahrenheit_and_bpm(cast: Cast) -> None:
    from oncology_ui.clinical.selectors import clinical_model_inputs

    record = run_import(
        cast.case,
        lab_csv(
            "2024-03-01,Temperature,,100.4,[degF],,",
            "2024-03-01,Pulse,,92,bpm,,",
            "2024-03-01,MAP,,85,mmHg,,",
            "2024-03-01,WBC,,11.5,K/uL,,",
        ),
        "vitals.csv",
    )
    assert record.status == ClinicalImport.Status.IMPORTED, record.problems
    values = clinical_model_inputs(cast.case)["labs"]["values"]
    assert values["temperature"] == pytest.approx(38.0)
    assert (values["heart_rate"], values["mean_blood_pressure"]) == (92, 85)
    assert values["white_blood_cells"] == pytest.approx(11.5)
