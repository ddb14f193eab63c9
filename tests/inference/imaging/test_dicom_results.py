"""RECIST results as DICOM SR (TID 1500) and SEG, checked with dicom3tools' dciodvfy."""

from __future__ import annotations

from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
import pytest

from inference.imaging.dicom_results import ResultLesion, ResultUids, recist_seg, recist_sr
from tests.inference.imaging.dciodvfy import dciodvfy_errors
from tests.paths import SHARED_DATA

CT = SHARED_DATA / "dicom-samples" / "dcmqi" / "ct-3slice"


def _headers() -> list[pydicom.Dataset]:
    headers = [pydicom.dcmread(p, stop_before_pixels=True) for p in sorted(CT.glob("*.dcm"))]
    return sorted(headers, key=lambda ds: float(ds.ImagePositionPatient[2]))


def _values(ds: pydicom.Dataset) -> set[str]:
    """Every text, code meaning and number anywhere in ``ds``."""
    keywords = {"TextValue", "CodeMeaning", "NumericValue"}
    return {str(e.value) for e in ds.iterall() if e.keyword in keywords}


def _lesions(shape: tuple[int, int, int]) -> list[ResultLesion]:
    mask = np.zeros(shape, dtype=bool)
    mask[1, 100:140, 100:150] = True
    return [
        ResultLesion("T1", "target", 42.0, False, mask),
        ResultLesion("N1", "non_target", None, False),
        ResultLesion("L1", "target", 12.5, True),
    ]


def test_the_sr_and_seg_are_valid_and_reference_the_source_images(tmp_path: Path) -> None:
    headers = _headers()
    lesions = _lesions((len(headers), int(headers[0].Rows), int(headers[0].Columns)))
    seg, segments = recist_seg(headers, lesions, ResultUids(hd.UID(), hd.UID(), 9902), "t")
    sr = recist_sr(
        headers,
        lesions,
        ResultUids(hd.UID(), hd.UID(), 9901),
        overall="PR",
        seg=seg,
        segments=segments,
    )
    assert segments == {"T1": 1}
    seg.save_as(tmp_path / "seg.dcm")
    sr.save_as(tmp_path / "sr.dcm")
    assert dciodvfy_errors(tmp_path / "seg.dcm") == []
    assert dciodvfy_errors(tmp_path / "sr.dcm") == []
    # The SEG's one frame is the lesion's plane on the middle slice, referencing that slice.
    read = hd.seg.segread(tmp_path / "seg.dcm")
    assert read.number_of_frames == 1 and read.PatientID == headers[0].PatientID
    (frame,) = read.PerFrameFunctionalGroupsSequence
    (derivation,) = frame.DerivationImageSequence
    (source,) = derivation.SourceImageSequence
    assert source.ReferencedSOPInstanceUID == headers[1].SOPInstanceUID
    # The SR: one group per lesion, the diameters as long and short axes in mm.
    report = hd.sr.Comprehensive3DSR.from_dataset(pydicom.dcmread(tmp_path / "sr.dcm"))
    assert report.SeriesDescription.startswith("RECIST 1.1 PR (Research use only")
    values = _values(pydicom.dcmread(tmp_path / "sr.dcm"))
    assert {"Lesion T1 (target)", "Lesion N1 (non-target)", "Lesion L1 (target)"} <= values
    assert {"Long axis", "Short axis", "42.0", "12.5"} <= values
    evidence = {
        item.ReferencedSOPInstanceUID
        for study in report.CurrentRequestedProcedureEvidenceSequence
        for series in study.ReferencedSeriesSequence
        for item in series.ReferencedSOPSequence
    }
    assert {h.SOPInstanceUID for h in headers} <= evidence and seg.SOPInstanceUID in evidence


def test_a_mask_that_does_not_fit_the_images_is_refused() -> None:
    headers = _headers()
    lesion = ResultLesion("T1", "target", 10.0, False, np.ones((1, 4, 4), dtype=bool))
    with pytest.raises(ValueError, match="does not fit the images"):
        recist_seg(headers, [lesion], ResultUids(hd.UID(), hd.UID(), 1), "t")
    with pytest.raises(ValueError, match="no lesion has a contour"):
        recist_seg(
            headers, [ResultLesion("T1", "target", 1.0, False)], ResultUids("1", "2", 1), "t"
        )
