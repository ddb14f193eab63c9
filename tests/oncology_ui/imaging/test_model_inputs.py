"""The imaging part of the analysis snapshot and the imaging section of the case report."""

from __future__ import annotations

import json

import pytest

from inference.schema import ImagingMeasurements
from oncology_ui.analysis.adapters import case_inputs_from_snapshot, case_snapshot
from oncology_ui.imaging.models import ImagingUpload
from oncology_ui.reports.build import case_report_data
from oncology_ui.reports.pdf import render_case_report
from oncology_ui.reports.sources import optional_sections
from tests.oncology_ui.conftest import Cast

pytestmark = pytest.mark.django_db


def test_the_snapshot_carries_lesion_and_study_numbers_with_units_but_no_identifiers(
    cast: Cast, sts_upload: ImagingUpload
) -> None:
    snapshot = case_snapshot(cast.case)
    imaging = snapshot["imaging"]
    assert imaging["research_use_only"] is True
    assert imaging["feature_version"] == "imaging-features-1"
    assert len(imaging["lesions"]) == 2
    ct = next(les for les in imaging["lesions"] if les["modality"] == "CT")
    assert ct["units"]["volume"] == "mL" and ct["values"]["volume"] == pytest.approx(53.3, abs=0.5)
    assert "RTSTRUCT" in ct["provenance"]["volume"]
    assert imaging["study"]["units"]["suv_max"] == "SUVbw"
    text = json.dumps(snapshot)
    assert "ZZCANARY" not in text and "STS_002" not in text and "2.25." not in text
    inputs = case_inputs_from_snapshot(snapshot)
    assert isinstance(inputs.imaging, ImagingMeasurements)
    assert inputs.imaging.study["suv_max"] == pytest.approx(21.68, abs=0.01)
    assert {les["volume"] for les in inputs.imaging.lesions} == {
        les["values"]["volume"] for les in imaging["lesions"]
    }


def test_a_case_without_contoured_images_has_no_imaging_part(cast: Cast) -> None:
    assert case_snapshot(cast.case)["imaging"] is None
    assert case_inputs_from_snapshot(case_snapshot(cast.case)).imaging is None


def test_the_report_prints_the_key_slice_with_its_contour_and_research_use(
    cast: Cast, sts_upload: ImagingUpload
) -> None:
    sections = {s.title: s for s in optional_sections(cast.case, deidentified=False)}
    imaging = sections["Imaging slice"]
    assert imaging.available and imaging.image_png is not None
    assert imaging.image_png[:4] == b"\x89PNG"
    assert any("Research use only" in line for line in imaging.lines)
    assert any("mL" in line and "mm" in line for line in imaging.lines)
    assert "28 Jan 2006" in imaging.lines[0]
    deidentified = {s.title: s for s in optional_sections(cast.case, deidentified=True)}
    assert "2006" not in " ".join(deidentified["Imaging slice"].lines)
    pdf = render_case_report(case_report_data(cast.case))
    assert pdf.startswith(b"%PDF") and len(pdf) > 5000


def test_the_report_says_why_there_is_no_slice(cast: Cast) -> None:
    sections = {s.title: s for s in optional_sections(cast.case, deidentified=False)}
    assert not sections["Imaging slice"].available
    assert "no contoured lesion" in sections["Imaging slice"].unavailable
