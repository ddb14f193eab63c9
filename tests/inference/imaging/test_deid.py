"""Annex E conformance: canaries in every Table E.1-1 attribute must not survive."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pydicom
import pytest
from hypothesis import given
from pydicom.datadict import dictionary_has_tag, dictionary_VR
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from inference.imaging.deid import (
    date_offset_days,
    deidentify_dataset,
    deidentify_file,
    load_profile,
    remap_uid,
)
from inference.imaging.schema import DeidOptions
from tests.inference.fuzz import byte_flips, flipped, fuzz_settings

from .dicom_factory import image_dataset, write

SECRET_A = b"patient-a-secret-0123456789"
SECRET_B = b"patient-b-secret-9876543210"
UID_RE = re.compile(r"^[0-9]+(\.[0-9]+)*$")
TEXT_VRS = {"LO", "SH", "PN", "LT", "ST", "UT", "UC", "CS", "AE", "UR", "AS"}


def _canary(tag: int) -> str:
    return f"ZZCANARY-{tag:08X}"


def _canary_uid(tag: int) -> str:
    return f"1.2.826.0.1.3680043.10.1099.77.{tag}"


def _canary_date(n: int) -> str:
    return f"1{n % 900 + 100:03d}0{1 + n % 9}{10 + n % 18}"


def _fill(ds: Dataset, tag: int, n: int, planted: dict[str, str]) -> None:
    """Plant a recognisable value in ``tag`` according to its VR; record what to search for."""
    vr = dictionary_VR(tag)
    if vr in TEXT_VRS:
        ds.add_new(tag, vr, _canary(tag))
        planted[_canary(tag)] = f"{tag:08X}"
    elif vr == "UI":
        ds.add_new(tag, vr, _canary_uid(tag))
        planted[_canary_uid(tag)] = f"{tag:08X}"
    elif vr == "DA":
        ds.add_new(tag, vr, _canary_date(n))
        planted[_canary_date(n)] = f"{tag:08X}"
    elif vr == "DT":
        ds.add_new(tag, vr, _canary_date(n) + "101010")
        planted[_canary_date(n)] = f"{tag:08X}"
    elif vr in ("DS", "IS"):
        value = f"9{n:07d}1"
        ds.add_new(tag, vr, value)
        planted[value] = f"{tag:08X}"
    elif vr in ("OB", "OW", "UN", "OB or OW"):
        ds.add_new(tag, "OB", _canary(tag).encode() + b"\x00")
        planted[_canary(tag)] = f"{tag:08X}"
    elif vr == "SQ":
        item = Dataset()
        item.PatientName = _canary(tag) + "-NESTED"
        item.ReferencedSOPInstanceUID = _canary_uid(tag) + ".5"
        ds.add_new(tag, vr, Sequence([item]))
        planted[_canary(tag) + "-NESTED"] = f"{tag:08X} item"
        planted[_canary_uid(tag) + ".5"] = f"{tag:08X} item UID"
    # Times (kept by the longitudinal option) and binary numbers are not planted.


def _canary_dataset() -> tuple[Dataset, dict[str, str]]:
    exact, _ = load_profile()
    ds = image_dataset(patient_id="ZZCANARY-PID")
    planted: dict[str, str] = {}
    # Keep the attributes the file needs to stay a valid image; they get canary UIDs below.
    skip = {0x00020003, 0x00080018, 0x0020000D, 0x0020000E, 0x00200052}
    for n, tag in enumerate(sorted(exact)):
        if tag >> 16 in (0x0000, 0x0002, 0xFFFA, 0xFFFC) or tag in skip:
            continue
        if not dictionary_has_tag(tag) or (tag >> 16) & 1:
            continue
        if tag in (0x00101010, 0x00100040, 0x00101020, 0x00101030):
            continue  # patient characteristics are kept by the chosen option (113108)
        _fill(ds, tag, n, planted)
    for keyword, tag in (
        ("SOPInstanceUID", 0x00080018),
        ("StudyInstanceUID", 0x0020000D),
        ("SeriesInstanceUID", 0x0020000E),
        ("FrameOfReferenceUID", 0x00200052),
    ):
        setattr(ds, keyword, _canary_uid(tag))
        planted[_canary_uid(tag)] = keyword
    ds.file_meta.MediaStorageSOPInstanceUID = pydicom.uid.UID(_canary_uid(0x00080018))
    # Overlay plane and curve (repeating groups).
    ds.add_new(0x60003000, "OW", b"ZZCANARY-OVERLAY")
    ds.add_new(0x60004000, "LT", "ZZCANARY-OVERLAY-COMMENT")
    ds.add_new(0x50000010, "LO", "ZZCANARY-CURVE")
    planted.update({"ZZCANARY-OVERLAY": "overlay", "ZZCANARY-CURVE": "curve"})
    # Private block at top level and inside a kept sequence three levels down.
    block = ds.private_block(0x0009, "ZZCANARY CREATOR", create=True)
    block.add_new(0x01, "LO", "ZZCANARY-PRIVATE")
    planted["ZZCANARY-PRIVATE"] = "private"
    planted["ZZCANARY CREATOR"] = "private creator"
    level3 = Dataset()
    level3.PatientName = "ZZCANARY-DEEP-NAME"
    level3.ReferencedSOPInstanceUID = _canary_uid(0x00080018)
    level3.add_new(0x00291010, "LO", "ZZCANARY-DEEP-PRIVATE")
    level2 = Dataset()
    level2.ContentSequence = Sequence([level3])
    level2.RadiopharmaceuticalInformationSequence = Sequence([level3])
    ds.RadiopharmaceuticalInformationSequence = Sequence([level2])
    planted.update({"ZZCANARY-DEEP-NAME": "nested name", "ZZCANARY-DEEP-PRIVATE": "nested private"})
    return ds, planted


def test_no_canary_survives_in_output_bytes_or_filenames(tmp_path: Path) -> None:
    ds, planted = _canary_dataset()
    assert len(planted) > 400
    src = write(ds, tmp_path / "ZZCANARY-NAME.dcm")
    assert all(value.encode() in src.read_bytes() for value in planted if "CREATOR" not in value)
    out = tmp_path / "out"
    result = deidentify_file(src, out, DeidOptions(patient_secret=SECRET_A))
    data = Path(result.output_path).read_bytes()
    leaks = [f"{what} ({value})" for value, what in planted.items() if value.encode() in data]
    assert leaks == []
    assert b"ZZCANARY" not in data
    assert all("ZZCANARY" not in p.name for p in out.rglob("*"))
    assert result.removed_private_tags >= 2

    clean = pydicom.dcmread(result.output_path)
    assert clean.PatientIdentityRemoved == "YES"
    codes = [item.CodeValue for item in clean.DeidentificationMethodCodeSequence]
    assert codes[0] == "113100" and "113107" in codes
    for elem in clean.iterall():
        if elem.VR == "UI" and elem.value:
            values = elem.value if isinstance(elem.value, list) else [elem.value]
            for v in values:
                assert UID_RE.match(str(v)) and len(str(v)) <= 64, (elem.tag, v)


def test_uids_are_consistent_within_a_patient_and_differ_across_patients(tmp_path: Path) -> None:
    a1 = image_dataset(instance=1)
    a2 = image_dataset(instance=2)
    ref = Dataset()
    ref.ReferencedSOPClassUID = a1.SOPClassUID
    ref.ReferencedSOPInstanceUID = a1.SOPInstanceUID
    a2.ReferencedImageSequence = Sequence([ref])
    opts_a = DeidOptions(patient_secret=SECRET_A, uid_root="1.2.826.0.1.3680043.10.1099")
    out1, _ = deidentify_dataset(a1, opts_a)
    out2, _ = deidentify_dataset(a2, opts_a)
    assert out1.StudyInstanceUID == out2.StudyInstanceUID
    assert out1.FrameOfReferenceUID == out2.FrameOfReferenceUID
    assert out2.ReferencedImageSequence[0].ReferencedSOPInstanceUID == out1.SOPInstanceUID
    assert out2.ReferencedImageSequence[0].ReferencedSOPClassUID == pydicom.uid.CTImageStorage
    assert out1.SOPInstanceUID.startswith("1.2.826.0.1.3680043.10.1099.")
    b1, _ = deidentify_dataset(image_dataset(instance=1), DeidOptions(patient_secret=SECRET_B))
    assert b1.StudyInstanceUID != out1.StudyInstanceUID
    assert b1.SOPInstanceUID != out1.SOPInstanceUID


def test_remapped_uids_are_valid_for_long_roots() -> None:
    root = "1.2.826.0.1.3680043.10.1099.123456"
    for n in range(200):
        new = remap_uid(f"1.2.3.{n}", SECRET_A, root)
        assert len(new) <= 64 and UID_RE.match(new) and new.startswith(root + ".")
        assert not any(part.startswith("0") and part != "0" for part in new.split("."))


def test_dates_shift_by_a_per_patient_offset_or_stay_when_kept() -> None:
    days = date_offset_days(SECRET_A, 3650)
    assert 1 <= days <= 3650
    shifted, _ = deidentify_dataset(image_dataset(), DeidOptions(patient_secret=SECRET_A))
    import datetime as dt

    expected = (dt.date(2024, 1, 2) - dt.timedelta(days=days)).strftime("%Y%m%d")
    assert shifted.StudyDate == expected and shifted.SeriesDate == expected
    kept, _ = deidentify_dataset(
        image_dataset(), DeidOptions(patient_secret=SECRET_A, dates="keep")
    )
    assert kept.StudyDate == "20240102"
    assert "113106" in [i.CodeValue for i in kept.DeidentificationMethodCodeSequence]


@pytest.mark.parametrize(
    ("modality", "burned", "flag"),
    [
        ("CT", None, False),
        ("CT", "YES", True),
        ("US", None, True),
        ("SC", "NO", True),
        ("OT", None, True),
    ],
)
def test_burned_in_annotation_is_flagged_for_review(
    modality: str, burned: str | None, flag: bool
) -> None:
    ds = image_dataset(modality=modality)
    if burned is not None:
        ds.BurnedInAnnotation = burned
    _, result = deidentify_dataset(ds, DeidOptions(patient_secret=SECRET_A))
    assert result.needs_pixel_review is flag
    assert bool(result.review_reason) is flag


def test_profile_table_is_loaded_with_all_action_kinds() -> None:
    exact, rules = load_profile()
    assert len(rules) >= 600
    assert exact[0x00100010] == "Z" and exact[0x00100020] == "Z/D"
    assert exact[0x00080018] == "U" and exact[0x00081030] == "X"
    assert exact[0x00081140] == "X/Z/U*"
    assert {r.action for r in rules} >= {"D", "Z", "X", "U", "Z/D", "X/Z", "X/D", "X/Z/D"}


def test_short_secrets_are_refused() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        deidentify_dataset(image_dataset(), DeidOptions(patient_secret=b"short"))


def test_batch_deidentification_runs_in_the_sandbox_and_reports_bad_files(tmp_path: Path) -> None:
    from inference.imaging.deid import deidentify_files
    from inference.imaging.schema import SandboxLimits

    good = write(image_dataset(patient_id="ZZCANARY-BATCH"), tmp_path / "in" / "a.dcm")
    bad = tmp_path / "in" / "b.dcm"
    bad.write_bytes(b"not dicom")
    results, problems = deidentify_files(
        [good, bad],
        tmp_path / "out",
        DeidOptions(patient_secret=SECRET_A),
        SandboxLimits(memory_bytes=1024**3, cpu_seconds=30, wall_seconds=60),
    )
    assert len(results) == 1 and b"ZZCANARY" not in Path(results[0].output_path).read_bytes()
    assert [(Path(p.path).name, p.kind) for p in problems] == [("b.dcm", "not_dicom")]


def test_deidentified_ct_and_rtstruct_still_fit_together(tmp_path: Path) -> None:
    from inference.imaging.deid import deidentify_files
    from inference.imaging.dicom_index import index_files
    from inference.imaging.regions import rtstruct_masks
    from inference.imaging.volume import load_series

    fixture = Path(__file__).resolve().parents[2] / "fixtures" / "dicom" / "sts_002" / "CT"
    images = sorted((fixture / "image").glob("*.dcm"))
    assert images, "the committed DICOM fixture under tests/fixtures/dicom is missing"
    options = DeidOptions(patient_secret=SECRET_A)
    results, problems = deidentify_files(
        [*images, fixture / "mask" / "RS.dcm"], tmp_path, options, None
    )
    assert problems == () and not any(r.needs_pixel_review for r in results)
    index = index_files([r.output_path for r in results], None)
    assert index.patient_id == "ANON" and len(index.studies) == 1
    by_modality = {s.modality: s for s in index.studies[0].series}
    ct = by_modality["CT"]
    before = load_series(images, None)
    after = load_series([i.path for i in ct.instances], None)
    np.testing.assert_array_equal(before.voxels, after.voxels)
    assert after.frame_of_reference_uid != before.frame_of_reference_uid
    rs_path = by_modality["RTSTRUCT"].instances[0].path
    (gtv_after,) = rtstruct_masks(rs_path, after)
    (gtv_before,) = rtstruct_masks(fixture / "mask" / "RS.dcm", before)
    assert gtv_after.warnings == () and gtv_after.mask.sum() == gtv_before.mask.sum() > 0

    # The upstream RTSTRUCT references the images' original UIDs from before its re-export, so
    # check the mapping itself: every reference is the remapped original, none survives as is.
    def refs(ds: pydicom.Dataset) -> set[str]:
        return {
            str(img.ReferencedSOPInstanceUID)
            for roi in ds.ROIContourSequence
            for c in roi.ContourSequence
            for img in c.get("ContourImageSequence", [])
        }

    original_refs = refs(pydicom.dcmread(fixture / "mask" / "RS.dcm"))
    new_refs = refs(pydicom.dcmread(rs_path))
    assert original_refs and not original_refs & new_refs
    assert new_refs == {remap_uid(u, SECRET_A, "2.25") for u in original_refs}


def _canary_bytes() -> bytes:
    import io

    buf = io.BytesIO()
    ds = image_dataset(patient_id="ZZCANARY-FUZZ")
    ds.InstitutionName = "ZZCANARY-INST"
    ds.ContentDate = "20240101"
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


_FUZZ_SOURCE = _canary_bytes()


@fuzz_settings(80)
@given(flips=byte_flips(_FUZZ_SOURCE, max_size=6))
def test_deidentifying_mutated_files_fails_cleanly_or_leaks_nothing(
    tmp_path: Path, flips: list[tuple[int, int]]
) -> None:
    from inference.imaging.dicom_format import ERROR_KINDS, DicomFileError

    src = tmp_path / "in.dcm"
    src.write_bytes(flipped(_FUZZ_SOURCE, flips))
    try:
        result = deidentify_file(src, tmp_path / "out", DeidOptions(patient_secret=SECRET_A))
    except DicomFileError as exc:
        assert exc.kind in ERROR_KINDS
        return
    out = Path(result.output_path).read_bytes()
    assert b"ZZCANARY-FUZZ" not in out and b"ZZCANARY-INST" not in out
