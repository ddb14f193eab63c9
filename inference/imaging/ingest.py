"""One upload, end to end, in one sandboxed child: index, de-identify, load, measure.

The sandbox costs a fresh interpreter per call (about a second), so an ingest job passes the
whole upload to :func:`process_upload` once instead of calling each step in its own child:

1. index the uploaded files' headers (``not_dicom``, ``truncated`` ... become problems); files of
   a second patient make the whole upload ``refused`` and nothing is de-identified or written, and
   so do files whose Patient ID is not the one expected (a PACS import names the case's MRN);
2. de-identify every readable file (PS3.15 Annex E, per-patient secret); files whose pixels may
   carry burned-in text are set aside as ``quarantined`` and go no further;
3. index the de-identified files (study -> series -> sorted instances, de-identified UIDs);
4. load every image series as a volume, PET converted to SUVbw, and write its voxels to a
   ``.npy`` file in ``work_dir`` (the parent reads it back; the pipe carries only geometry);
5. place every RTSTRUCT ROI and SEG segment on the series it references, write its mask, and
   measure it (:func:`inference.imaging.features.lesion_features`); then per-study features.

Problems name files by their path in the upload (never by the de-identified output name) so the
person who uploaded them can find them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from inference.imaging.deid import deidentify_file
from inference.imaging.dicom_format import DicomFileError
from inference.imaging.dicom_index import index_files_in_process
from inference.imaging.dicom_read import read_dataset
from inference.imaging.features import lesion_features, study_features
from inference.imaging.pet import SuvError, suv_conversion_for_file, to_suv
from inference.imaging.regions import RegionError, load_regions_in_process
from inference.imaging.sandbox import run_sandboxed
from inference.imaging.schema import (
    DeidOptions,
    DicomIndex,
    FileProblem,
    ImagingFeatures,
    LesionFeatures,
    QuarantinedFile,
    SandboxLimits,
    SeriesIndex,
    SuvConversion,
    UploadRegion,
    UploadResult,
    UploadSeries,
    Volume,
)
from inference.imaging.volume import VolumeError, load_series_in_process

DEFAULT_LIMITS = SandboxLimits(memory_bytes=6 * 1024**3, cpu_seconds=900, wall_seconds=1200)
REGION_MODALITIES = frozenset({"RTSTRUCT", "SEG"})
#: Modalities with no pixel volume to show (reports, plans, dose, presentation states ...).
_NO_VOLUME = frozenset({"RTSTRUCT", "SEG", "RTPLAN", "RTDOSE", "PR", "SR", "KO", "REG"})
_EMPTY = np.zeros((0, 0, 0), dtype=np.float32)
Rename = Callable[[FileProblem], FileProblem]


def _renamer(names: dict[str, str]) -> Rename:
    def rename(problem: FileProblem) -> FileProblem:
        original = names.get(problem.path, "")
        if not original:
            return problem
        message = problem.message.replace(Path(problem.path).name, original, 1)
        if original not in message:
            message = f"{original}: {message}"
        return FileProblem(path=original, kind=problem.kind, message=message)

    return rename


_SOP_CLASS_MODALITY = {
    "1.2.840.10008.5.1.4.1.1.2": "CT",
    "1.2.840.10008.5.1.4.1.1.2.1": "CT",
    "1.2.840.10008.5.1.4.1.1.4": "MR",
    "1.2.840.10008.5.1.4.1.1.4.1": "MR",
    "1.2.840.10008.5.1.4.1.1.128": "PT",
    "1.2.840.10008.5.1.4.1.1.130": "PT",
}


def _references(path: str) -> tuple[str, str, str]:
    """(series UID, frame of reference UID, image modality) an RTSTRUCT or SEG was drawn on."""
    ds = read_dataset(path, stop_before_pixels=True)
    series_uid = frame_uid = modality = ""
    try:
        if str(ds.get("Modality", "")) == "RTSTRUCT":
            for frame in ds.get("ReferencedFrameOfReferenceSequence", []):
                frame_uid = frame_uid or str(frame.get("FrameOfReferenceUID", ""))
                for study in frame.get("RTReferencedStudySequence", []):
                    for series in study.get("RTReferencedSeriesSequence", []):
                        series_uid = series_uid or str(series.get("SeriesInstanceUID", ""))
                        for image in series.get("ContourImageSequence", [])[:1]:
                            modality = _SOP_CLASS_MODALITY.get(
                                str(image.get("ReferencedSOPClassUID", "")), ""
                            )
        else:
            frame_uid = str(ds.get("FrameOfReferenceUID", ""))
            for series in ds.get("ReferencedSeriesSequence", []):
                series_uid = series_uid or str(series.get("SeriesInstanceUID", ""))
                for image in series.get("ReferencedInstanceSequence", [])[:1]:
                    modality = _SOP_CLASS_MODALITY.get(
                        str(image.get("ReferencedSOPClassUID", "")), ""
                    )
    except (AttributeError, KeyError, TypeError, ValueError):
        pass
    return series_uid, frame_uid, modality


def _target_volume(path: str, volumes: dict[str, Volume]) -> tuple[Volume | None, str, str]:
    """The loaded volume a region file belongs to, how it was found, and its referenced series.

    The referenced series first; failing that (exports often re-save the images under a new
    series UID, as the MIRP sarcoma subset does) the one volume in the referenced frame of
    reference with the referenced images' modality.
    """
    series_uid, frame_uid, modality = _references(path)
    if series_uid in volumes:
        return volumes[series_uid], "", series_uid
    candidates = [
        v
        for v in volumes.values()
        if frame_uid and v.frame_of_reference_uid == frame_uid and v.modality not in _NO_VOLUME
    ]
    if modality:
        candidates = [v for v in candidates if v.modality == modality]
    if len(candidates) == 1:
        note = "placed by frame of reference and modality: the series it names is not in the upload"
        return candidates[0], note, series_uid
    return None, "", series_uid


def _load_volume(
    series: SeriesIndex, work: Path, n: int, rename: Rename
) -> tuple[UploadSeries, Volume | None]:
    paths = [i.path for i in series.instances]
    problems: list[FileProblem] = []
    label = f"{series.modality} series {series.series_number or ''}".replace("  ", " ").strip()
    try:
        volume = load_series_in_process(paths)
    except DicomFileError as exc:
        problems.append(rename(FileProblem(exc.path, exc.kind, str(exc))))
        return UploadSeries(series, "", None, None, tuple(problems)), None
    except VolumeError as exc:
        problems.append(
            rename(FileProblem(paths[0], "invalid_value", f"{label} not loaded: {exc}"))
        )
        return UploadSeries(series, "", None, None, tuple(problems)), None
    suv: SuvConversion | None = None
    if volume.modality == "PT":
        try:
            suv = suv_conversion_for_file(paths[0])
            volume = to_suv(volume, suv)
        except (SuvError, DicomFileError) as exc:
            problems.append(
                rename(
                    FileProblem(
                        paths[0],
                        "invalid_value",
                        f"{label}: SUV could not be worked out ({exc}); values shown as stored "
                        f"({volume.units or 'unknown units'})",
                    )
                )
            )
    if volume.voxels.shape[0] < 2:
        problems.append(
            rename(
                FileProblem(
                    paths[0],
                    "invalid_value",
                    f"{label} has one slice: shown, but no slice spacing, so no volumes or "
                    "reformats are measured from it",
                )
            )
        )
    voxels_path = work / f"volume-{n}.npy"
    np.save(voxels_path, np.ascontiguousarray(volume.voxels, dtype=np.float32))
    meta = replace(volume, voxels=_EMPTY)
    return UploadSeries(series, str(voxels_path), meta, suv, tuple(problems)), volume


def process_upload_in_process(
    paths: Sequence[str],
    names: Sequence[str],
    work_dir: str,
    options: DeidOptions | None,
    expected_patient_id: str = "",
) -> UploadResult:
    """:func:`process_upload` in this process (inside the sandbox child, or for trusted files)."""
    work = Path(work_dir)
    deid_dir = work / "deid"
    deid_dir.mkdir(parents=True, exist_ok=True)
    upload_names = dict(zip(paths, names, strict=True))
    raw = index_files_in_process(list(paths))
    problems = [_renamer(upload_names)(p) for p in raw.problems]
    refused = _mixed_patients_refusal(problems) or _other_patient_refusal(
        raw.patient_id, expected_patient_id
    )
    if refused:
        return UploadResult(refused, tuple(problems), (), (), (), (), (), len(paths))
    readable = [i.path for st in raw.studies for se in st.series for i in se.instances]
    accepted, quarantined, deid_names = _deidentify_all(
        readable, upload_names, deid_dir, options, problems
    )
    index = index_files_in_process(accepted)
    rename = _renamer(deid_names)
    problems += [rename(p) for p in index.problems]
    out_series, volumes, region_files = _load_volumes(index, work, rename)
    regions, lesions_by_study = _place_regions(
        region_files, volumes, index, deid_names, work, problems
    )
    features_out: list[ImagingFeatures] = [
        study_features(uid, lesions) for uid, lesions in lesions_by_study.items()
    ]
    return UploadResult(
        refused="",
        problems=tuple(problems),
        quarantined=tuple(quarantined),
        studies=index.studies,
        series=tuple(out_series),
        regions=tuple(regions),
        features=tuple(features_out),
        file_count=len(paths),
    )


def _mixed_patients_refusal(problems: Sequence[FileProblem]) -> str:
    """Why the whole upload is refused when its files belong to more than one patient, or ""."""
    mixed = [p.path for p in problems if p.kind == "mixed_patients"]
    if not mixed:
        return ""
    shown = ", ".join(mixed[:5]) + (f" and {len(mixed) - 5} more" if len(mixed) > 5 else "")
    return (
        f"The upload holds images of more than one patient ({len(mixed)} file(s) differ from "
        f"the rest: {shown}). Nothing was stored; upload each patient's studies to their own "
        "record."
    )


def _other_patient_refusal(found: str, expected: str) -> str:
    """Why files of one patient who is not the ``expected`` one are refused, or "".

    The Patient ID found is not quoted: it identifies someone this case has no business with.
    """
    if not expected or found == expected:
        return ""
    return (
        "The images belong to another patient: their Patient ID is not this patient's MRN. "
        "Nothing was stored."
    )


def _deidentify_all(
    readable: Sequence[str],
    upload_names: dict[str, str],
    deid_dir: Path,
    options: DeidOptions | None,
    problems: list[FileProblem],
) -> tuple[list[str], list[QuarantinedFile], dict[str, str]]:
    """De-identify every readable file; failures are appended to ``problems``.

    Returns:
        The accepted de-identified files, those held for pixel review, and the upload name of
        each de-identified file.
    """
    rename = _renamer(upload_names)
    accepted: list[str] = []
    quarantined: list[QuarantinedFile] = []
    deid_names: dict[str, str] = {}
    for path in readable:
        if options is None:  # already de-identified here and released after review
            accepted.append(path)
            deid_names[path] = upload_names[path]
            continue
        try:
            result = deidentify_file(path, str(deid_dir), options)
        except DicomFileError as exc:
            problems.append(rename(FileProblem(exc.path, exc.kind, str(exc))))
            continue
        deid_names[result.output_path] = upload_names[path]
        if result.needs_pixel_review:
            modality = str(read_dataset(result.output_path, stop_before_pixels=True).Modality)
            quarantined.append(
                QuarantinedFile(
                    result.output_path, result.sop_instance_uid, modality, result.review_reason
                )
            )
        else:
            accepted.append(result.output_path)
    return accepted, quarantined, deid_names


def _load_volumes(
    index: DicomIndex, work: Path, rename: Rename
) -> tuple[list[UploadSeries], dict[str, Volume], list[tuple[SeriesIndex, str]]]:
    """Load every image series as a volume; region series (RTSTRUCT, SEG) are set aside.

    Returns:
        One item per series, the loaded volumes by series UID, and the region files to place.
    """
    out_series: list[UploadSeries] = []
    volumes: dict[str, Volume] = {}
    region_files: list[tuple[SeriesIndex, str]] = []
    n = 0
    for study in index.studies:
        for series in study.series:
            if series.modality in REGION_MODALITIES:
                region_files += [(series, i.path) for i in series.instances]
                out_series.append(UploadSeries(series, "", None, None))
            elif series.modality in _NO_VOLUME:
                out_series.append(UploadSeries(series, "", None, None))
            else:
                item, volume = _load_volume(series, work, n, rename)
                n += 1
                out_series.append(item)
                if volume is not None:
                    volumes[series.series_instance_uid] = volume
    return out_series, volumes, region_files


def _place_regions(
    region_files: Sequence[tuple[SeriesIndex, str]],
    volumes: dict[str, Volume],
    index: DicomIndex,
    deid_names: dict[str, str],
    work: Path,
    problems: list[FileProblem],
) -> tuple[list[UploadRegion], dict[str, list[LesionFeatures]]]:
    """Place each region file on the volume it refers to, saving masks and measuring lesions.

    Regions that cannot be placed are appended to ``problems``.

    Returns:
        The regions, and the lesion features of each study.
    """
    regions: list[UploadRegion] = []
    lesions_by_study: dict[str, list[LesionFeatures]] = {}
    study_of = {se.series_instance_uid: st for st in index.studies for se in st.series}
    m = 0
    for holder, path in region_files:
        name = deid_names.get(path, Path(path).name)
        volume, note, target = _target_volume(path, volumes)
        if volume is None:
            where = "could not be loaded" if target in study_of else "is not in this upload"
            problems.append(
                FileProblem(
                    name,
                    "invalid_value",
                    f"{name}: the {holder.modality} refers to an image series that {where}; "
                    "its regions were not placed (upload it together with its images)",
                )
            )
            continue
        try:
            masks = load_regions_in_process(path, volume)
        except (RegionError, DicomFileError) as exc:
            problems.append(FileProblem(name, "invalid_value", f"{name}: {exc}"))
            continue
        sop = next(i.sop_instance_uid for i in holder.instances if i.path == path)
        for region in masks:
            if not region.mask.any():
                problems.append(
                    FileProblem(
                        name, "invalid_value", f"{name}: region {region.name!r} is empty; skipped"
                    )
                )
                continue
            mask_path = work / f"mask-{m}.npy"
            m += 1
            np.save(mask_path, region.mask)
            features = lesion_features(volume, region)
            regions.append(
                UploadRegion(
                    name=region.name,
                    source=region.source,
                    source_sop_instance_uid=sop,
                    series_instance_uid=volume.series_instance_uid,
                    mask_path=str(mask_path),
                    features=features,
                    warnings=(*region.warnings, note) if note else region.warnings,
                )
            )
            study_uid = study_of[volume.series_instance_uid].study_instance_uid
            lesions_by_study.setdefault(study_uid, []).append(features)
    return regions, lesions_by_study


def process_upload(
    paths: Sequence[str | os.PathLike[str]],
    names: Sequence[str],
    work_dir: str | os.PathLike[str],
    options: DeidOptions | None,
    limits: SandboxLimits | None = DEFAULT_LIMITS,
    *,
    expected_patient_id: str = "",
) -> UploadResult:
    """Index, de-identify, load and measure one upload of untrusted files (see the module doc).

    Args:
        paths: the uploaded files (from :func:`inference.imaging.archive.list_extracted_files`).
        names: per path, the name to use in messages (its path inside the upload).
        work_dir: a private folder for the de-identified files, volumes and masks.
        options: de-identification choices with the patient's secret; ``None`` only for files
            this pipeline already de-identified (quarantined files released after review).
        limits: sandbox limits for the whole upload; ``None`` runs in this process.
        expected_patient_id: when given, files whose Patient ID (0010,0020) differs refuse the
            whole upload (a PACS import passes the case's MRN); "" accepts any one patient.

    Returns:
        The result; ``refused`` is set (and nothing written) for files of several patients, or
        of a patient other than ``expected_patient_id``.

    Raises:
        SandboxError: the child failed as a whole (timeout, memory, crash).
    """
    args = ([str(p) for p in paths], list(names), str(work_dir), options, expected_patient_id)
    if limits is None:
        return process_upload_in_process(*args)
    result = run_sandboxed("inference.imaging.ingest:process_upload_in_process", args, limits)
    assert isinstance(result, UploadResult)
    return result
