"""Header index of many DICOM files: study -> series -> instances.

Two readers produce the same :class:`FileHeader`:

* a fast path that reads only the first kilobytes of a file and walks the elements up to group
  0028 (Part 5 little-endian encodings, implicit or explicit VR), skipping sequences by their
  lengths; it never decodes pixel data and gives up (returns None) at anything unusual;
* pydicom (``stop_before_pixels``) for everything the fast path declines, whose exceptions are
  mapped to :class:`DicomFileError` with a ``kind`` from :data:`ERROR_KINDS`.

Untrusted uploads should be indexed with :func:`index_files` (runs in the sandbox by default).
"""

from __future__ import annotations

import logging
import math
import os
import statistics
import struct
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pydicom
from pydicom.datadict import dictionary_has_tag, dictionary_VR
from pydicom.dataelem import RawDataElement
from pydicom.errors import BytesLengthException, InvalidDicomError

from inference.imaging.sandbox import SandboxError, run_sandboxed
from inference.imaging.schema import (
    DicomIndex,
    FileProblem,
    InstanceHeader,
    SandboxLimits,
    SeriesIndex,
    StudyIndex,
)

logger = logging.getLogger(__name__)

MIN_PYDICOM = (3, 0, 2)
ERROR_KINDS = frozenset(
    {
        "not_dicom",
        "truncated",
        "absurd_length",
        "deep_nesting",
        "unsupported_transfer_syntax",
        "missing_attribute",
        "invalid_value",
        "dicomdir",
        "mixed_patients",
        "sandbox",
    }
)
MAX_SEQUENCE_DEPTH = 16
DEFAULT_LIMITS = SandboxLimits()
DICOMDIR_SOP_CLASS = "1.2.840.10008.1.3.10"
SUPPORTED_TRANSFER_SYNTAXES = frozenset(
    {
        "1.2.840.10008.1.2",
        "1.2.840.10008.1.2.1",
        "1.2.840.10008.1.2.1.99",
        "1.2.840.10008.1.2.2",
        "1.2.840.10008.1.2.5",
        "1.2.840.10008.1.2.4.50",
        "1.2.840.10008.1.2.4.51",
        "1.2.840.10008.1.2.4.57",
        "1.2.840.10008.1.2.4.70",
        "1.2.840.10008.1.2.4.80",
        "1.2.840.10008.1.2.4.81",
        "1.2.840.10008.1.2.4.90",
        "1.2.840.10008.1.2.4.91",
        "1.2.840.10008.1.2.4.201",
        "1.2.840.10008.1.2.4.202",
        "1.2.840.10008.1.2.4.203",
    }
)


def _version_tuple(text: str) -> tuple[int, ...]:
    parts: list[int] = []
    for piece in text.split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def assert_pydicom_version() -> None:
    """Refuse to run with a pydicom older than 3.0.2 (CVE-2026-32711)."""
    if _version_tuple(pydicom.__version__) < MIN_PYDICOM:
        raise RuntimeError(f"pydicom {pydicom.__version__} < 3.0.2 (CVE-2026-32711)")


assert_pydicom_version()


class DicomFileError(ValueError):
    """A file could not be read; ``kind`` is one of :data:`ERROR_KINDS`."""

    def __init__(self, path: str | os.PathLike[str], kind: str, detail: str) -> None:
        self.path = str(path)
        self.kind = kind
        self.detail = detail
        super().__init__(f"{Path(path).name}: {detail}")


@dataclass(frozen=True)
class FileHeader:
    """Everything the index needs from one file."""

    path: str
    patient_id: str
    study_instance_uid: str
    study_date: str
    study_description: str
    series_instance_uid: str
    series_date: str
    series_description: str
    series_number: int | None
    modality: str
    body_part: str
    frame_of_reference_uid: str
    media_storage_sop_class_uid: str
    instance: InstanceHeader


# --------------------------------------------------------------------------------------------------
# Fast path

_WANTED = {
    0x00020002: "MediaStorageSOPClassUID",
    0x00020010: "TransferSyntaxUID",
    0x00080016: "SOPClassUID",
    0x00080018: "SOPInstanceUID",
    0x00080020: "StudyDate",
    0x00080021: "SeriesDate",
    0x00080060: "Modality",
    0x00081030: "StudyDescription",
    0x0008103E: "SeriesDescription",
    0x00100020: "PatientID",
    0x00180015: "BodyPartExamined",
    0x00180050: "SliceThickness",
    0x0020000D: "StudyInstanceUID",
    0x0020000E: "SeriesInstanceUID",
    0x00200011: "SeriesNumber",
    0x00200013: "InstanceNumber",
    0x00200032: "ImagePositionPatient",
    0x00200037: "ImageOrientationPatient",
    0x00200052: "FrameOfReferenceUID",
    0x00280008: "NumberOfFrames",
    0x00280010: "Rows",
    0x00280011: "Columns",
    0x00280030: "PixelSpacing",
    0x00280002: "SamplesPerPixel",
    0x00280100: "BitsAllocated",
    0x00280103: "PixelRepresentation",
    0x00281052: "RescaleIntercept",
    0x00281053: "RescaleSlope",
}
_BINARY_US = {0x00280010, 0x00280011, 0x00280002, 0x00280100, 0x00280103}
_BINARY_KEYS = {_WANTED[t] for t in _BINARY_US}
_LONG_VRS = {
    b"OB",
    b"OW",
    b"OF",
    b"SQ",
    b"UT",
    b"UN",
    b"UC",
    b"UR",
    b"OD",
    b"OL",
    b"OV",
    b"SV",
    b"UV",
}
_FAST_TS = {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1"} | {
    ts
    for ts in SUPPORTED_TRANSFER_SYNTAXES
    if ts.startswith("1.2.840.10008.1.2.4") or ts.endswith(".5")
}
_STOP_TAG = 0x00290000
_PREFIX = 16384
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_TAG = struct.Struct("<HH")


class _Decline(Exception):
    """The fast path does not handle this file; pydicom will."""


class _Truncated(_Decline):
    """The buffer ends inside an element (the file is truncated if nothing more can be read)."""


class _AbsurdLength(_Decline):
    """An element that cannot have an undefined length has one."""


class _CleanEnd(_Decline):
    """The buffer ends exactly at an element boundary."""


_EXPLICIT_HEAD = struct.Struct("<HH2sH")
_IMPLICIT_HEAD = struct.Struct("<HHI")
_LONG_VR_SET = frozenset(_LONG_VRS)


def _walk(
    buf: bytes,
    pos: int,
    explicit: bool,
    depth: int,
    values: dict[int, bytes] | None,
    stop_group: int,
) -> int:
    """Walk elements from ``pos``; return where it stopped.

    Stops at an item delimiter (nested item, position left on it), at the first group >=
    ``stop_group`` (top level), or at the end of ``buf`` (raises :class:`_Decline`). Wanted values
    of the top level go into ``values``. Written as one flat loop because this is the hot path of
    the header index (about 100 elements per file).
    """
    if depth > MAX_SEQUENCE_DEPTH:
        raise _Decline
    n = len(buf)
    explicit_head = _EXPLICIT_HEAD.unpack_from
    implicit_head = _IMPLICIT_HEAD.unpack_from
    u32 = _U32.unpack_from
    long_vrs = _LONG_VR_SET
    wanted = _WANTED
    while True:
        if pos == n:
            raise _CleanEnd
        if pos + 8 > n:
            raise _Truncated
        if explicit:
            group, elem, vr, length = explicit_head(buf, pos)
            if group >= stop_group:
                return pos
            if group == 0xFFFE:
                if elem == 0xE00D and depth:
                    return pos
                raise _Decline
            if vr in long_vrs:
                if pos + 12 > n:
                    raise _Truncated
                length = u32(buf, pos + 8)[0]
                start = pos + 12
            else:
                start = pos + 8
        else:
            group, elem, length = implicit_head(buf, pos)
            if group >= stop_group:
                return pos
            if group == 0xFFFE:
                if elem == 0xE00D and depth:
                    return pos
                raise _Decline
            vr = b""
            start = pos + 8
        if length == 0xFFFFFFFF:
            if vr == b"":
                known = (
                    dictionary_VR((group << 16) | elem)
                    if dictionary_has_tag((group << 16) | elem)
                    else "UN"
                )
                if known not in ("SQ", "UN", "OB", "OW", "OB or OW"):
                    raise _AbsurdLength
            elif vr not in (b"SQ", b"UN"):
                raise _AbsurdLength if vr not in (b"OB", b"OW") else _Decline
            # An undefined-length UN holds an implicit-VR sequence (Part 5, 6.2.2).
            pos = _skip_items(buf, start, explicit and vr == b"SQ", depth + 1)
            continue
        pos = start + length
        if pos > n:
            raise _Truncated(length)
        if values is not None:
            tag = (group << 16) | elem
            if tag in wanted:
                values[tag] = buf[start:pos]


def _skip_items(buf: bytes, pos: int, explicit: bool, depth: int) -> int:
    """Skip the items of an undefined-length sequence; return the position after its delimiter."""
    if depth > MAX_SEQUENCE_DEPTH:
        raise _Decline
    n = len(buf)
    while True:
        if pos + 8 > n:
            raise _Truncated
        group, elem, length = _IMPLICIT_HEAD.unpack_from(buf, pos)
        pos += 8
        if group != 0xFFFE:
            raise _Decline
        if elem == 0xE0DD:
            return pos
        if elem != 0xE000:
            raise _Decline
        if length != 0xFFFFFFFF:
            pos += length
            continue
        pos = _walk(buf, pos, explicit, depth, None, 0x10000) + 8


def _decode_values(raw: dict[int, bytes]) -> dict[str, str | int] | None:
    values: dict[str, str | int] = {}
    for tag, data in raw.items():
        if tag in _BINARY_US:
            if len(data) != 2:
                return None
            values[_WANTED[tag]] = _U16.unpack(data)[0]
            continue
        if not data.isascii():
            # Non-ASCII text needs the Specific Character Set: pydicom's job.
            return None
        values[_WANTED[tag]] = data.decode("ascii").strip(" \x00")
    return values


def _fast_values(path: str, *, whole_file: bool = False) -> dict[str, str | int] | None:
    """Read the wanted header values with the fast path, or None to let pydicom decide.

    Args:
        path: the file.
        whole_file: walk every top-level element to the end of the file (a structural pre-check
            before pydicom, which silently accepts values cut short by the end of the file).

    Raises:
        DicomFileError: for truncation and undefined lengths on non-sequence elements.
    """
    stop_group = 0x10000 if whole_file else _STOP_TAG >> 16
    with open(path, "rb") as fh:
        buf = fh.read(-1 if whole_file else _PREFIX)
        if len(buf) < 132 or buf[128:132] != b"DICM":
            return None
        for _attempt in range(3):
            raw: dict[int, bytes] = {}
            try:
                # File meta information is always explicit VR little endian.
                pos = _walk(buf, 132, True, 0, raw, 0x0003)
                ts = raw.get(0x00020010, b"").decode("ascii", "replace").strip(" \x00")
                if ts not in _FAST_TS:
                    return None
                try:
                    _walk(buf, pos, ts != "1.2.840.10008.1.2", 0, raw, stop_group)
                except _CleanEnd:
                    # A header-only object that ends before group 0029 is complete only if the
                    # whole file was read.
                    if fh.read(1):
                        fh.seek(-1, os.SEEK_CUR)
                        raise _Truncated from None
                return _decode_values(raw)
            except _AbsurdLength:
                raise DicomFileError(
                    path, "absurd_length", "undefined length (0xFFFFFFFF) on a non-sequence element"
                ) from None
            except _Decline as exc:
                # Maybe only the prefix was too short (large private blocks): read more, retry.
                more = fh.read(len(buf) * 4)
                if not more:
                    if isinstance(exc, _Truncated):
                        claimed = exc.args[0] if exc.args else 0
                        if claimed > len(buf):
                            raise DicomFileError(
                                path, "absurd_length", f"an element claims {claimed} bytes"
                            ) from None
                        raise DicomFileError(
                            path, "truncated", "file ends inside an element"
                        ) from None
                    return None
                buf += more
        return None


def _floats(text: str | int | None, count: int) -> tuple[float, ...] | None:
    if text is None or text == "":
        return None
    parts = str(text).split("\\")
    if len(parts) != count:
        return None
    try:
        numbers = tuple(float(p) for p in parts)
    except ValueError:
        return None
    if not all(math.isfinite(x) for x in numbers):
        return None
    return numbers


def _int(text: str | int | None) -> int | None:
    if text is None or text == "":
        return None
    try:
        return int(float(str(text)))
    except (ValueError, OverflowError):
        return None


def _header_from_values(path: str, v: dict[str, str | int]) -> FileHeader:
    def s(key: str) -> str:
        return str(v.get(key, "") or "")

    for key in ("SOPInstanceUID", "SeriesInstanceUID", "StudyInstanceUID"):
        if not s(key):
            raise DicomFileError(path, "missing_attribute", f"missing {key}")
    if s("TransferSyntaxUID") and s("TransferSyntaxUID") not in SUPPORTED_TRANSFER_SYNTAXES:
        raise DicomFileError(
            path,
            "unsupported_transfer_syntax",
            f"unsupported transfer syntax {s('TransferSyntaxUID')}",
        )
    position = _floats(v.get("ImagePositionPatient"), 3)
    orientation = _floats(v.get("ImageOrientationPatient"), 6)
    spacing = _floats(v.get("PixelSpacing"), 2)
    thickness = _floats(v.get("SliceThickness"), 1)
    rows, cols = v.get("Rows"), v.get("Columns")
    instance = InstanceHeader(
        path=path,
        sop_instance_uid=s("SOPInstanceUID"),
        sop_class_uid=s("SOPClassUID"),
        instance_number=_int(v.get("InstanceNumber")),
        image_position=position,  # type: ignore[arg-type]
        image_orientation=orientation,  # type: ignore[arg-type]
        rows=rows if isinstance(rows, int) else _int(rows),
        columns=cols if isinstance(cols, int) else _int(cols),
        pixel_spacing=spacing,  # type: ignore[arg-type]
        slice_thickness=thickness[0] if thickness else None,
        number_of_frames=_int(v.get("NumberOfFrames")) or 1,
        transfer_syntax_uid=s("TransferSyntaxUID"),
    )
    return FileHeader(
        path=path,
        patient_id=s("PatientID"),
        study_instance_uid=s("StudyInstanceUID"),
        study_date=s("StudyDate"),
        study_description=s("StudyDescription"),
        series_instance_uid=s("SeriesInstanceUID"),
        series_date=s("SeriesDate"),
        series_description=s("SeriesDescription"),
        series_number=_int(v.get("SeriesNumber")),
        modality=s("Modality"),
        body_part=s("BodyPartExamined"),
        frame_of_reference_uid=s("FrameOfReferenceUID"),
        media_storage_sop_class_uid=s("MediaStorageSOPClassUID"),
        instance=instance,
    )


# --------------------------------------------------------------------------------------------------
# pydicom path


def _check_structure(ds: pydicom.Dataset, name: str, size: int) -> None:
    """Check nesting depth and raw element lengths before any value is converted.

    pydicom reads a value shorter than its declared length without complaint when the file ends,
    so the declared length of every still-raw element is compared with the file size and with the
    bytes actually read.
    """
    stack: list[tuple[pydicom.Dataset, int]] = [(ds, 0)]
    while stack:
        current, depth = stack.pop()
        if depth > MAX_SEQUENCE_DEPTH:
            raise DicomFileError(
                name, "deep_nesting", f"sequences nested more than {depth - 1} deep"
            )
        for tag in list(current.keys()):
            raw = current.get_item(tag)
            if isinstance(raw, RawDataElement):
                length = raw.length
                if length == 0xFFFFFFFF:
                    if raw.VR not in (None, "SQ", "OB", "OW", "UN"):
                        raise DicomFileError(name, "absurd_length", f"undefined length on {tag}")
                    continue
                if length > size:
                    raise DicomFileError(
                        name, "absurd_length", f"element {tag} claims {length} bytes"
                    )
                if raw.value is not None and len(raw.value) < length:
                    raise DicomFileError(name, "truncated", f"file ends inside element {tag}")
                if tag in _PIXEL_TAGS:
                    continue
            elem = current[tag]
            if elem.VR == "SQ":
                stack.extend((item, depth + 1) for item in elem.value)


_PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
_PIXEL_TAGS = frozenset({0x7FE00008, 0x7FE00009, 0x7FE00010})


def read_dataset(path: str | os.PathLike[str], *, stop_before_pixels: bool) -> pydicom.Dataset:
    """Read one untrusted file with pydicom, mapping failures to :class:`DicomFileError`.

    Args:
        path: the file.
        stop_before_pixels: True to skip pixel data (header index).

    Returns:
        The dataset, with every element already parsed (no lazy surprises later).

    Raises:
        DicomFileError: with ``kind`` in :data:`ERROR_KINDS`.
    """
    name = str(path)
    try:
        size = os.path.getsize(name)
        _fast_values(name, whole_file=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # Pixel data is deferred rather than skipped so that a file cut off before it, or one
            # whose pixel element claims more bytes than the file has, is still noticed.
            ds = pydicom.dcmread(name, defer_size=4096 if stop_before_pixels else None)
            _check_structure(ds, name, size)
            if len(ds) == 0:
                raise DicomFileError(name, "truncated", "file ends after its file meta information")
            if "Rows" in ds and not any(k in ds for k in _PIXEL_KEYWORDS):
                raise DicomFileError(name, "truncated", "file ends before its pixel data")
            if stop_before_pixels:
                for keyword in _PIXEL_KEYWORDS:
                    if keyword in ds:
                        del ds[keyword]
            ts = str(getattr(ds.file_meta, "TransferSyntaxUID", "") or "")
            for meta_elem in ds.file_meta:
                _ = meta_elem.value
    except DicomFileError:
        raise
    except InvalidDicomError as exc:
        raise DicomFileError(name, "not_dicom", "not a DICOM file (no DICM preamble)") from exc
    except RecursionError as exc:
        raise DicomFileError(name, "deep_nesting", "sequences nested too deeply") from exc
    except (MemoryError, OverflowError) as exc:
        raise DicomFileError(name, "absurd_length", f"absurd element length ({exc})") from exc
    except (EOFError, struct.error) as exc:
        raise DicomFileError(name, "truncated", f"file is truncated ({exc})") from exc
    except NotImplementedError as exc:
        raise DicomFileError(name, "unsupported_transfer_syntax", str(exc)) from exc
    except (
        ValueError,
        KeyError,
        IndexError,
        TypeError,
        AttributeError,
        UnicodeError,
        BytesLengthException,
    ) as exc:
        # pydicom raises these for malformed values and lengths it cannot follow.
        text = str(exc)
        kind = (
            "truncated" if "end of" in text.lower() or "bytes" in text.lower() else "invalid_value"
        )
        raise DicomFileError(
            name, kind, f"malformed element ({type(exc).__name__}: {text[:120]})"
        ) from exc
    except OSError as exc:
        raise DicomFileError(name, "truncated", f"cannot read file ({exc.strerror})") from exc
    if ts and ts not in SUPPORTED_TRANSFER_SYNTAXES:
        raise DicomFileError(
            name, "unsupported_transfer_syntax", f"unsupported transfer syntax {ts}"
        )
    return ds


def _pydicom_values(path: str) -> dict[str, str | int]:
    ds = read_dataset(path, stop_before_pixels=True)
    values: dict[str, str | int] = {}
    try:
        for key in _WANTED.values():
            source = ds.file_meta if key in ("MediaStorageSOPClassUID", "TransferSyntaxUID") else ds
            if key not in source:
                continue
            value = source[key].value
            if value is None:
                continue
            if isinstance(value, int) and key in _BINARY_KEYS:
                values[key] = value
            elif isinstance(value, list | tuple | pydicom.multival.MultiValue):
                values[key] = "\\".join(str(x) for x in value)
            else:
                values[key] = str(value)
    except (ValueError, TypeError, KeyError) as exc:
        raise DicomFileError(path, "invalid_value", f"malformed value ({exc})") from exc
    return values


def read_header(path: str | os.PathLike[str]) -> FileHeader:
    """Read the header facts of one file (fast path, then pydicom).

    Raises:
        DicomFileError: naming the file, ``kind`` in :data:`ERROR_KINDS`.
    """
    name = str(path)
    try:
        values = _fast_values(name)
    except OSError as exc:
        raise DicomFileError(name, "truncated", f"cannot read file ({exc.strerror})") from exc
    if values is None or "SOPInstanceUID" not in values:
        values = _pydicom_values(name)
    # Before the attribute checks: a real DICOMDIR has no series or study UID, and it must be
    # reported as the DICOMDIR it is, not as an image with missing attributes.
    if str(values.get("MediaStorageSOPClassUID", "")) == DICOMDIR_SOP_CLASS:
        raise DicomFileError(name, "dicomdir", "DICOMDIR ignored: its file paths are not trusted")
    return _header_from_values(name, values)


# --------------------------------------------------------------------------------------------------
# Index


def _slice_geometry(
    instances: list[InstanceHeader],
) -> tuple[list[InstanceHeader], float | None]:
    """Sort by position along the slice normal; return sorted instances and median spacing."""
    orient = instances[0].image_orientation
    if orient is None or any(i.image_position is None for i in instances):
        return sorted(instances, key=lambda i: (i.instance_number or 0, i.path)), None
    normal = np.cross(np.asarray(orient[:3]), np.asarray(orient[3:]))
    keyed = sorted(
        instances, key=lambda i: (float(np.dot(normal, np.asarray(i.image_position))), i.path)
    )
    positions = [float(np.dot(normal, np.asarray(i.image_position))) for i in keyed]
    steps = [b - a for a, b in zip(positions, positions[1:], strict=False)]
    return keyed, (statistics.median(steps) if steps else None)


def build_index(headers: Sequence[FileHeader], problems: Sequence[FileProblem]) -> DicomIndex:
    """Group headers into studies and series; files of a minority patient become problems.

    Args:
        headers: successfully read files.
        problems: files that already failed.

    Returns:
        The index.
    """
    all_problems = list(problems)
    patients = Counter(h.patient_id for h in headers)
    patient_id = patients.most_common(1)[0][0] if patients else ""
    kept: list[FileHeader] = []
    for h in headers:
        if h.patient_id != patient_id:
            all_problems.append(
                FileProblem(
                    path=h.path,
                    kind="mixed_patients",
                    message=f"{Path(h.path).name}: belongs to another patient than the rest",
                )
            )
        else:
            kept.append(h)
    by_study: dict[str, dict[str, list[FileHeader]]] = {}
    for h in kept:
        by_study.setdefault(h.study_instance_uid, {}).setdefault(h.series_instance_uid, []).append(
            h
        )
    studies: list[StudyIndex] = []
    for study_uid, series_map in by_study.items():
        series_list: list[SeriesIndex] = []
        for series_uid, members in series_map.items():
            first = members[0]
            seen: set[str] = set()
            unique: list[InstanceHeader] = []
            for m in members:
                if m.instance.sop_instance_uid in seen:
                    all_problems.append(
                        FileProblem(
                            m.path,
                            "invalid_value",
                            f"{Path(m.path).name}: duplicate SOP Instance UID",
                        )
                    )
                    continue
                seen.add(m.instance.sop_instance_uid)
                unique.append(m.instance)
            ordered, spacing = _slice_geometry(unique)
            series_list.append(
                SeriesIndex(
                    series_instance_uid=series_uid,
                    modality=first.modality,
                    description=first.series_description,
                    body_part=first.body_part,
                    series_number=first.series_number,
                    series_date=first.series_date,
                    frame_of_reference_uid=first.frame_of_reference_uid,
                    instances=tuple(ordered),
                    slice_count=sum(i.number_of_frames for i in ordered),
                    pixel_spacing=ordered[0].pixel_spacing,
                    slice_spacing=spacing,
                    orientation=ordered[0].image_orientation,
                )
            )
        series_list.sort(key=lambda s: (s.series_number or 0, s.series_instance_uid))
        study_first = series_map[next(iter(series_map))][0]
        studies.append(
            StudyIndex(
                study_instance_uid=study_uid,
                study_date=study_first.study_date,
                description=study_first.study_description,
                series=tuple(series_list),
            )
        )
    studies.sort(key=lambda s: (s.study_date, s.study_instance_uid))
    return DicomIndex(
        patient_id=patient_id,
        studies=tuple(studies),
        problems=tuple(all_problems),
        file_count=len(headers) + len(problems),
    )


def index_files_in_process(paths: Sequence[str]) -> DicomIndex:
    """Index ``paths`` in this process (trusted files, or inside the sandbox child)."""
    headers: list[FileHeader] = []
    problems: list[FileProblem] = []
    for path in paths:
        try:
            headers.append(read_header(path))
        except DicomFileError as exc:
            problems.append(FileProblem(path=exc.path, kind=exc.kind, message=str(exc)))
    return build_index(headers, problems)


def index_files(
    paths: Iterable[str | os.PathLike[str]], limits: SandboxLimits | None = DEFAULT_LIMITS
) -> DicomIndex:
    """Index untrusted files: headers only, grouped study -> series -> sorted instances.

    Args:
        paths: the files (e.g. from :func:`inference.imaging.archive.list_extracted_files`).
        limits: sandbox limits; ``None`` parses in this process (trusted files only).

    Returns:
        The index; unreadable files are listed in ``problems`` with messages naming them.
    """
    names = [str(p) for p in paths]
    if limits is None:
        return index_files_in_process(names)
    try:
        result = run_sandboxed(
            "inference.imaging.dicom_index:index_files_in_process", (names,), limits
        )
    except SandboxError as exc:
        problem = FileProblem(path="", kind="sandbox", message=f"indexing failed: {exc}")
        return DicomIndex(patient_id="", studies=(), problems=(problem,), file_count=len(names))
    assert isinstance(result, DicomIndex)
    return result


_NATIVE_TS = {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1"}


def fast_pixel_slice(path: str) -> tuple[dict[str, str | int], npt.NDArray[Any]] | None:
    """Header values and the stored pixel values of a single-frame native little-endian image.

    This is the fast path of volume loading: one read, one walk over the elements, and
    ``np.frombuffer`` on the pixel bytes. It returns None for anything else (compressed,
    multi-frame, colour, odd bit depths, unexpected structure) so the caller falls back to pydicom.

    Raises:
        DicomFileError: when the structure is broken (truncated, absurd lengths).
    """
    with open(path, "rb") as fh:
        buf = fh.read()
    if len(buf) < 132 or buf[128:132] != b"DICM":
        return None
    raw: dict[int, bytes] = {}
    try:
        pos = _walk(buf, 132, True, 0, raw, 0x0003)
        ts = raw.get(0x00020010, b"").decode("ascii", "replace").strip(" \x00")
        if ts not in _NATIVE_TS:
            return None
        explicit = ts != "1.2.840.10008.1.2"
        pos = _walk(buf, pos, explicit, 0, raw, 0x7FE0)
    except _AbsurdLength:
        raise DicomFileError(
            path, "absurd_length", "undefined length on a non-sequence element"
        ) from None
    except _Truncated as exc:
        claimed = exc.args[0] if exc.args else 0
        kind = "absurd_length" if claimed > len(buf) else "truncated"
        raise DicomFileError(path, kind, "file ends inside an element") from None
    except _Decline:
        return None
    values = _decode_values(raw)
    if values is None or pos + 12 > len(buf):
        return None
    group, elem = _TAG.unpack_from(buf, pos)
    if (group, elem) != (0x7FE0, 0x0010):
        return None
    if explicit:
        length = _U32.unpack_from(buf, pos + 8)[0]
        start = pos + 12
    else:
        length = _U32.unpack_from(buf, pos + 4)[0]
        start = pos + 8
    rows, cols = values.get("Rows"), values.get("Columns")
    bits, signed = values.get("BitsAllocated"), values.get("PixelRepresentation", 0)
    if values.get("SamplesPerPixel", 1) != 1 or _int(values.get("NumberOfFrames")) not in (None, 1):
        return None
    if not isinstance(rows, int) or not isinstance(cols, int) or bits not in (8, 16, 32):
        return None
    dtype = np.dtype(f"<{'i' if signed else 'u'}{int(bits) // 8}")
    expected = rows * cols * dtype.itemsize
    if length == 0xFFFFFFFF or length < expected:
        return None
    if start + expected > len(buf):
        raise DicomFileError(path, "truncated", "file ends inside the pixel data")
    pixels = np.frombuffer(buf, dtype=dtype, count=rows * cols, offset=start).reshape(rows, cols)
    return values, pixels
