"""Header index, malformed-DICOM corpus and a bounded fuzz of the header reader."""

from __future__ import annotations

import io
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pydicom
import pytest
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence

from inference.imaging.dicom_format import ERROR_KINDS, DicomFileError
from inference.imaging.dicom_index import FileHeader, index_files, read_header
from inference.imaging.dicom_read import assert_pydicom_version, read_dataset
from inference.imaging.schema import SandboxLimits
from tests.inference.fuzz import byte_flips, flipped, fuzz_settings
from tests.paths import SHARED_DATA

from .dicom_factory import image_dataset, write, write_series

FAST_LIMITS = SandboxLimits(memory_bytes=1024**3, cpu_seconds=20, wall_seconds=30)


def _valid_bytes() -> bytes:
    buf = io.BytesIO()
    image_dataset().save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def test_it_requires_pydicom_3_0_2_or_later() -> None:
    assert_pydicom_version()
    major, minor, patch = (int(x) for x in pydicom.__version__.split(".")[:3])
    assert (major, minor, patch) >= (3, 0, 2)


def test_it_indexes_a_series_sorted_by_position(tmp_path: Path) -> None:
    vol = np.zeros((5, 4, 4), dtype=np.int16)
    paths = write_series(tmp_path / "s", vol, positions_z=[10, 12.5, 15, 17.5, 20])
    idx = index_files(paths, FAST_LIMITS)
    assert idx.patient_id == "P1" and idx.problems == ()
    (study,) = idx.studies
    (series,) = study.series
    assert series.modality == "CT" and series.slice_count == 5
    assert series.slice_spacing == pytest.approx(2.5)
    zs = [i.image_position[2] for i in series.instances if i.image_position]
    assert zs == [10, 12.5, 15, 17.5, 20]


def test_fast_path_agrees_with_pydicom_on_the_real_samples() -> None:
    root = SHARED_DATA / "dicom-samples"
    files = (
        sorted(root.glob("dcmqi/**/*.dcm"))
        + sorted(root.glob("tcia-*/STS_002/*/dicom/*/*.dcm"))[::9]
    )
    if not files:
        pytest.skip("shared data not present")
    from inference.imaging import dicom_fast, dicom_index

    for f in files:
        fast = dicom_fast.fast_values(str(f))
        slow = dicom_index._pydicom_values(str(f))
        assert fast is not None
        assert {k: str(v) for k, v in slow.items()} == {k: str(v) for k, v in fast.items()}


# --- malformed corpus -----------------------------------------------------------------------------


def _deeply_nested(depth: int) -> Dataset:
    ds = image_dataset()
    inner = Dataset()
    inner.CodeValue = "X"
    for _ in range(depth):
        outer = Dataset()
        outer.ContentSequence = Sequence([inner])
        inner = outer
    ds.ContentSequence = Sequence([inner])
    return ds


def _corpus(tmp: Path) -> dict[str, tuple[Path, str]]:
    valid = _valid_bytes()
    cases: dict[str, tuple[Path, str]] = {}

    def put(name: str, data: bytes, kind: str) -> None:
        path = tmp / f"{name}.dcm"
        path.write_bytes(data)
        cases[name] = (path, kind)

    put("html", b"<html><body>not dicom</body></html>", "not_dicom")
    put("empty", b"", "not_dicom")
    put("truncated_header", valid[:300], "truncated")
    # PatientID (0010,0020) LO: give it a 0xFFFFFFFF length in an implicit-VR copy.
    implicit = image_dataset()
    implicit.file_meta.TransferSyntaxUID = pydicom.uid.ImplicitVRLittleEndian
    buf = io.BytesIO()
    implicit.save_as(buf, enforce_file_format=True)
    raw = bytearray(buf.getvalue())
    at = raw.index(b"\x10\x00\x20\x00", 132)
    struct.pack_into("<I", raw, at + 4, 0xFFFFFFFF)
    put("undefined_length_text", bytes(raw), "absurd_length")
    # A long-form element claiming ~4 GB.
    big = image_dataset()
    big.add_new(0x00204000, "LT", "x")
    big.add_new(0x00081030, "LO", "desc")
    buf = io.BytesIO()
    big.save_as(buf, enforce_file_format=True)
    raw = bytearray(buf.getvalue())
    at = raw.index(b"\xe0\x7f\x10\x00OW")
    struct.pack_into("<I", raw, at + 8, 0xFFFFFFF0)
    put("absurd_pixel_length", bytes(raw[: at + 12 + 64]), "absurd_length")
    nested = io.BytesIO()
    _deeply_nested(60).save_as(nested, enforce_file_format=True)
    put("deep_sequence", nested.getvalue(), "deep_nesting")
    bad_ts = image_dataset()
    bad_ts.file_meta.TransferSyntaxUID = pydicom.uid.UID("1.2.3.4.5.6")
    buf = io.BytesIO()
    bad_ts.save_as(buf, implicit_vr=False, little_endian=True, enforce_file_format=True)
    put("unknown_transfer_syntax", buf.getvalue(), "unsupported_transfer_syntax")
    no_uid = image_dataset()
    del no_uid.SeriesInstanceUID
    buf = io.BytesIO()
    no_uid.save_as(buf, enforce_file_format=True)
    put("no_series_uid", buf.getvalue(), "missing_attribute")
    return cases


def test_malformed_corpus_maps_each_file_to_a_clear_error(tmp_path: Path) -> None:
    # The header reader stops before group 0029, so damage beyond it (deep content sequences,
    # pixel data) is found by the full reader used for volumes and de-identification.
    header_blind = {"absurd_pixel_length", "deep_sequence"}
    for name, (path, kind) in _corpus(tmp_path).items():
        readers: list[Callable[[Path], object]] = []
        if name != "no_series_uid":  # the full reader does not require index attributes
            readers.append(lambda p: read_dataset(p, stop_before_pixels=False))
        if name not in header_blind:
            readers.append(read_header)
        for reader in readers:
            with pytest.raises(DicomFileError) as info:
                reader(path)
            assert info.value.kind == kind, f"{name}: {info.value.kind} ({info.value})"
            assert path.name in str(info.value)


def test_index_lists_bad_files_as_problems_in_the_sandbox(tmp_path: Path) -> None:
    (tmp_path / "bad").mkdir()
    cases = _corpus(tmp_path / "bad")
    good = write_series(tmp_path / "good", np.zeros((2, 4, 4), dtype=np.int16))
    other = write(image_dataset(patient_id="P2", study=7), tmp_path / "other.dcm")
    paths = [*good, other] + [p for name, (p, _) in cases.items() if name != "absurd_pixel_length"]
    idx = index_files(paths, FAST_LIMITS)
    assert idx.patient_id == "P1"
    kinds = {Path(p.path).name: p.kind for p in idx.problems}
    assert kinds["other.dcm"] == "mixed_patients"
    assert kinds["html.dcm"] == "not_dicom"
    assert kinds["truncated_header.dcm"] == "truncated"
    assert idx.studies[0].series[0].slice_count == 2
    assert all(p.kind in ERROR_KINDS for p in idx.problems)


def test_dicomdir_paths_are_never_followed(tmp_path: Path) -> None:
    secret = tmp_path / "outside.dcm"
    write(image_dataset(patient_id="SECRET"), secret)
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = pydicom.uid.UID("1.2.840.10008.1.3.10")
    ds.file_meta.MediaStorageSOPInstanceUID = pydicom.uid.UID("1.2.3")
    ds.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
    record = Dataset()
    record.DirectoryRecordType = "IMAGE"
    record.ReferencedFileID = ["..", "outside.dcm"]
    ds.DirectoryRecordSequence = Sequence([record])
    ds.SOPInstanceUID = "1.2.3"
    ds.SeriesInstanceUID = "1.2.4"
    ds.StudyInstanceUID = "1.2.5"
    upload = tmp_path / "upload"
    write(ds, upload / "DICOMDIR")
    idx = index_files([upload / "DICOMDIR"], None)
    assert [p.kind for p in idx.problems] == ["dicomdir"]
    assert idx.studies == () and "SECRET" not in repr(idx)


def test_a_real_dicomdir_without_series_uids_is_reported_as_a_dicomdir() -> None:
    from pydicom.data import get_testdata_file

    path = get_testdata_file("DICOMDIR", download=False)  # pydicom's bundled media directory
    assert path is not None
    idx = index_files([str(path)], None)
    assert [(p.kind, p.message) for p in idx.problems] == [
        ("dicomdir", "DICOMDIR: DICOMDIR ignored: its file paths are not trusted")
    ]


# --- fuzz -----------------------------------------------------------------------------------------

_VALID = _valid_bytes()


@fuzz_settings(150, HealthCheck.too_slow)
@given(flips=byte_flips(_VALID, max_size=8), cut=st.one_of(st.none(), st.integers(0, len(_VALID))))
def test_fuzzed_headers_raise_only_allowlisted_errors(
    tmp_path: Path, flips: list[tuple[int, int]], cut: int | None
) -> None:
    data = flipped(_VALID, flips)
    path = tmp_path / "fuzz.dcm"
    path.write_bytes(data[:cut] if cut is not None else data)
    try:
        header = read_header(path)
    except DicomFileError as exc:
        assert exc.kind in ERROR_KINDS
        assert "fuzz.dcm" in str(exc)
    else:
        assert isinstance(header, FileHeader)
    try:
        read_dataset(path, stop_before_pixels=False)
    except DicomFileError as exc:
        assert exc.kind in ERROR_KINDS
