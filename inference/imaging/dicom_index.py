"""Header index of many DICOM files: study -> series -> instances.

Two readers produce the same :class:`FileHeader`:

* a fast path (:mod:`inference.imaging.dicom_fast`) that reads only the first kilobytes of a file
  and walks the elements up to group 0028, never decoding pixel data and giving up (returns None)
  at anything unusual;
* pydicom (:mod:`inference.imaging.dicom_read`, ``stop_before_pixels``) for everything the fast
  path declines, whose exceptions are mapped to :class:`DicomFileError` with a ``kind`` from
  :data:`ERROR_KINDS`.

Untrusted uploads should be indexed with :func:`index_files` (runs in the sandbox by default).
"""

from __future__ import annotations

import logging
import os
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom

from inference.imaging.dicom_fast import BINARY_KEYS, WANTED, fast_values, parse_floats, parse_int
from inference.imaging.dicom_format import (
    DICOMDIR_SOP_CLASS,
    SUPPORTED_TRANSFER_SYNTAXES,
    DicomFileError,
)
from inference.imaging.dicom_read import read_dataset
from inference.imaging.sandbox import run_sandboxed
from inference.imaging.schema import (
    DicomIndex,
    FileProblem,
    InstanceHeader,
    SandboxLimits,
    SeriesIndex,
    StudyIndex,
)
from inference.sandbox import SandboxError

logger = logging.getLogger(__name__)

DEFAULT_LIMITS = SandboxLimits()


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
    position = parse_floats(v.get("ImagePositionPatient"), 3)
    orientation = parse_floats(v.get("ImageOrientationPatient"), 6)
    spacing = parse_floats(v.get("PixelSpacing"), 2)
    thickness = parse_floats(v.get("SliceThickness"), 1)
    rows, cols = v.get("Rows"), v.get("Columns")
    instance = InstanceHeader(
        path=path,
        sop_instance_uid=s("SOPInstanceUID"),
        sop_class_uid=s("SOPClassUID"),
        instance_number=parse_int(v.get("InstanceNumber")),
        image_position=position,  # type: ignore[arg-type]
        image_orientation=orientation,  # type: ignore[arg-type]
        rows=rows if isinstance(rows, int) else parse_int(rows),
        columns=cols if isinstance(cols, int) else parse_int(cols),
        pixel_spacing=spacing,  # type: ignore[arg-type]
        slice_thickness=thickness[0] if thickness else None,
        number_of_frames=parse_int(v.get("NumberOfFrames")) or 1,
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
        series_number=parse_int(v.get("SeriesNumber")),
        modality=s("Modality"),
        body_part=s("BodyPartExamined"),
        frame_of_reference_uid=s("FrameOfReferenceUID"),
        media_storage_sop_class_uid=s("MediaStorageSOPClassUID"),
        instance=instance,
    )


def _pydicom_values(path: str) -> dict[str, str | int]:
    ds = read_dataset(path, stop_before_pixels=True)
    values: dict[str, str | int] = {}
    try:
        for key in WANTED.values():
            source = ds.file_meta if key in ("MediaStorageSOPClassUID", "TransferSyntaxUID") else ds
            if key not in source:
                continue
            value = source[key].value
            if value is None:
                continue
            if isinstance(value, int) and key in BINARY_KEYS:
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
        values = fast_values(name)
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
            series_list.append(_series_index(series_uid, members, all_problems))
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


def _series_index(
    series_uid: str, members: Sequence[FileHeader], problems: list[FileProblem]
) -> SeriesIndex:
    """One series, its instances in slice order; a repeated SOP instance is appended to
    ``problems`` and left out."""
    first = members[0]
    seen: set[str] = set()
    unique: list[InstanceHeader] = []
    for m in members:
        if m.instance.sop_instance_uid in seen:
            problems.append(
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
    return SeriesIndex(
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
