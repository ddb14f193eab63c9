"""Imaging uploads: receive, ingest in the background, review held files, record RECIST.

Ingest (:func:`upload_run`, the ``imaging_ingest`` job), in order:

1. a zip is checked whole by ``safe_extract`` (paths, links, duplicates, nesting, entry count,
   compression ratio) before anything is written; a refused archive refuses the upload;
2. one sandboxed child (:func:`inference.imaging.ingest.process_upload`) indexes the headers,
   de-identifies with the patient's secret, sets aside files for pixel review, loads the volumes
   (PET in SUVbw) and measures the regions;
3. files of more than one patient refuse the whole upload (documented choice: a mixed upload is
   a mistake at the source, and storing half of it under one patient is worse than nothing), and
   so do a PACS import's files whose Patient ID is not the case's MRN (:mod:`.pacs`);
   any other bad file is listed by name and the rest is stored;
4. the de-identified files, volumes and masks move under opaque names in
   ``MEDIA_ROOT/imaging/series/<key>/``, then every row is written in one transaction. On any
   failure the moved folders are removed again: no partial rows or files.

The raw upload (the only plain files that may identify the patient) lives in
``MEDIA_ROOT/imaging/incoming/<key>/`` until the job ends and is deleted whatever the outcome.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction

from inference.imaging.archive import ArchiveError, list_extracted_files, safe_extract
from inference.imaging.deid import date_offset_days
from inference.imaging.ingest import process_upload
from inference.imaging.schema import (
    DeidOptions,
    FileProblem,
    UploadResult,
    UploadSeries,
)
from inference.imaging.store import volume_geometry
from inference.sandbox import SandboxError
from oncology_ui.core.jobs import PermanentJobError, ProgressCallback
from oncology_ui.core.models import Job
from oncology_ui.imaging.conf import imaging_settings
from oncology_ui.imaging.models import (
    ImagingRegion,
    ImagingSeries,
    ImagingStudy,
    ImagingUpload,
    QuarantinedInstance,
)
from oncology_ui.imaging.storage import (
    imaging_key_secret,
    imaging_root,
    private_dir,
)
from oncology_ui.patients.models import Case, TimelineEvent
from oncology_ui.patients.services import timeline_event_create

logger = logging.getLogger(__name__)

INGEST_JOB = "imaging_ingest"
_ZIP_MAGIC = b"PK\x03\x04"
_MAX_PROBLEMS_STORED = 200


# --- receiving an upload -----------------------------------------------------------------------


def upload_receive(*, case: Case, user: User | None, files: Sequence[File[bytes]]) -> ImagingUpload:
    """Check sizes and counts, store the raw files under an opaque folder and queue the ingest.

    A single file starting with the ZIP signature is an archive; otherwise every file is taken as
    one DICOM file (a zip among several files is refused: send it alone).

    Raises:
        ValidationError: no files, too many, too large, or a zip mixed with other files.
    """
    conf = imaging_settings()
    if not files:
        raise ValidationError("Choose a zip archive or one or more DICOM files.")
    if len(files) > conf.max_files:
        raise ValidationError(
            f"{len(files)} files were sent; the limit is {conf.max_files}. Send a zip instead."
        )
    total = sum(f.size or 0 for f in files)
    if total > conf.max_upload_bytes:
        raise ValidationError(
            f"The upload is {total / 1_048_576:.0f} MB; the limit is "
            f"{conf.max_upload_bytes / 1_048_576:.0f} MB."
        )
    if total == 0:
        raise ValidationError("The upload is empty.")
    heads = []
    for f in files:
        f.seek(0)
        heads.append(f.read(4))
        f.seek(0)
    is_archive = heads[0] == _ZIP_MAGIC and len(files) == 1
    zips = [f.name for f, head in zip(files, heads, strict=True) if head == _ZIP_MAGIC]
    if zips and not is_archive:
        raise ValidationError(
            f"{zips[0]} is a zip archive sent together with other files; upload a zip on its own."
        )
    key = uuid.uuid4().hex
    incoming = private_dir(imaging_root() / "incoming" / key)
    names: list[str] = []
    try:
        for n, f in enumerate(files):
            target = incoming / ("upload.zip" if is_archive else f"{n:06d}.dcm")
            with target.open("wb") as out:
                for chunk in f.chunks():
                    out.write(chunk)
            names.append(Path(f.name or f"file {n + 1}").name[:200])
        label = names[0] if len(names) == 1 else f"{len(names)} files"
        with transaction.atomic():
            upload = ImagingUpload.objects.create(
                case=case,
                label=label,
                incoming_key=key,
                is_archive=is_archive,
                file_count=len(files),
                size=total,
                counts={"names": [] if is_archive else names},
                created_by=user,
            )
            upload.enqueue_job(kind=INGEST_JOB, user=user, message="Waiting to be processed")
    except BaseException:
        shutil.rmtree(incoming, ignore_errors=True)
        raise
    return upload


# --- the ingest job ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Moved:
    """Folders and files created under MEDIA_ROOT by one ingest (removed again on failure)."""

    paths: list[Path]


def upload_run(job: Job, progress: ProgressCallback) -> dict[str, object]:
    """Job entry point: ingest the upload named by the job (safe to run twice)."""
    upload = ImagingUpload.objects.select_related("case__patient").filter(pk=job.target_id).first()
    if upload is None:
        raise PermanentJobError("The upload no longer exists.")
    if upload.is_finished:
        return {"status": upload.status}
    incoming = imaging_root() / "incoming" / upload.incoming_key
    if not upload.incoming_key or not incoming.is_dir():
        _finish(
            upload, ImagingUpload.Status.FAILED, error="The uploaded files are gone; upload again."
        )
        raise PermanentJobError("The uploaded files are no longer there; upload them again.")
    work = Path(tempfile.mkdtemp(prefix="ingest-", dir=private_dir(imaging_root() / "work")))
    try:
        return _ingest(upload, incoming, work, progress)
    except (PermanentJobError, ValidationError) as exc:
        message = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        _finish(upload, ImagingUpload.Status.FAILED, error=message)
        raise PermanentJobError(message) from exc
    except Exception:
        _finish(
            upload,
            ImagingUpload.Status.FAILED,
            error="The upload could not be processed (internal error); nothing was stored.",
        )
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(incoming, ignore_errors=True)


def _finish(
    upload: ImagingUpload,
    status: str,
    *,
    error: str = "",
    problems: Sequence[FileProblem] = (),
    counts: dict[str, Any] | None = None,
) -> None:
    upload.finish(
        status,
        error=error[:1000],
        problems=[
            {"file": p.path, "kind": p.kind, "message": p.message}
            for p in problems[:_MAX_PROBLEMS_STORED]
        ],
        counts={**(counts or {}), "problems": len(problems)},
    )


def _ingest(
    upload: ImagingUpload, incoming: Path, work: Path, progress: ProgressCallback
) -> dict[str, object]:
    conf = imaging_settings()
    if upload.is_archive:
        progress(5, "Checking the archive")
        try:
            extracted = safe_extract(incoming / "upload.zip", work / "raw", conf.extract)
        except ArchiveError as exc:
            problem = FileProblem(exc.entry or upload.label, "archive", f"{upload.label}: {exc}")
            _finish(
                upload,
                ImagingUpload.Status.REFUSED,
                error=f"The archive was refused before anything was extracted: {exc}",
                problems=[problem],
            )
            return {"status": "refused"}
        files = list_extracted_files(extracted.root)
        names = [p.relative_to(extracted.root).as_posix() for p in files]
    else:
        files = sorted(incoming.iterdir())
        given = list(upload.counts.get("names", []))
        names = [given[i] if i < len(given) else p.name for i, p in enumerate(files)]
    if not files:
        raise PermanentJobError("The upload holds no files.")
    progress(15, f"De-identifying and indexing {len(files)} file(s)")
    options = None
    if not upload.released_from:
        options = DeidOptions(
            patient_secret=imaging_key_secret(upload.case.patient), dates=conf.dates
        )
    try:
        result = process_upload(
            files,
            names,
            work / "out",
            options,
            conf.sandbox,
            # A PACS answers for the MRN it was asked about, a push was matched to the case by it:
            # another patient's files are refused.
            expected_patient_id=upload.case.patient.mrn
            if upload.source != ImagingUpload.Source.UPLOAD
            else "",
        )
    except SandboxError as exc:
        raise PermanentJobError(
            f"Reading the files stopped ({exc}); nothing was stored. A very large or damaged "
            "upload can cause this: try the series one at a time."
        ) from exc
    if result.refused:
        _finish(
            upload, ImagingUpload.Status.REFUSED, error=result.refused, problems=result.problems
        )
        return {"status": "refused"}
    if not result.studies and not result.quarantined:
        first = result.problems[0].message if result.problems else "no DICOM images were found"
        _finish(
            upload,
            ImagingUpload.Status.FAILED,
            error=f"Nothing could be stored: {first}",
            problems=result.problems,
        )
        return {"status": "failed"}
    progress(80, "Storing the de-identified series")
    # Released files were de-identified by an earlier run with the same key and options.
    used = options or DeidOptions(
        patient_secret=imaging_key_secret(upload.case.patient), dates=conf.dates
    )
    offset = date_offset_days(used.patient_secret, used.max_shift_days)
    if used.dates == "keep":
        offset = 0
    moved = _Moved(paths=[])
    try:
        counts, skipped = _store(upload, result, offset, moved)
    except BaseException:
        for path in moved.paths:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        raise
    _finish(
        upload,
        ImagingUpload.Status.STORED,
        problems=[*result.problems, *skipped, *_series_problems(result.series)],
        counts=counts,
    )
    return {"status": "stored", **counts}


def _auto_window(path: Path) -> list[float]:
    """Centre and width from the 1st-99th percentile of a sample of slices (MR, unscaled PET).

    Computed once here so the viewer does not recompute it for every slice it draws.
    """
    voxels = np.load(path, mmap_mode="r", allow_pickle=False)
    sample = np.asarray(voxels[:: max(1, voxels.shape[0] // 8)], dtype=np.float32)
    finite = sample[np.isfinite(sample)]
    if not finite.size:
        return [0.5, 1.0]
    low, high = (float(x) for x in np.percentile(finite, [1, 99]))
    width = max(high - low, 1e-3)
    return [low + width / 2, width]


def _series_problems(series: Sequence[UploadSeries]) -> list[FileProblem]:
    return [p for s in series for p in s.problems]


def _real_date(text: str, offset: int) -> dt.date | None:
    """A DICOM DA value shifted back by de-identification, returned to its real date."""
    try:
        day = dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except (ValueError, IndexError):
        return None
    return day + dt.timedelta(days=offset)


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


@transaction.atomic
def _store(
    upload: ImagingUpload, result: UploadResult, offset: int, moved: _Moved
) -> tuple[dict[str, int], list[FileProblem]]:
    case = upload.case
    # Two uploads of the same study stored at once (several workers) must not both add it.
    list(Case.objects.select_for_update().filter(pk=case.pk).values_list("pk", flat=True))
    root = imaging_root()
    existing = set(
        ImagingSeries.objects.filter(study__case=case).values_list("series_uid", flat=True)
    )
    by_uid = {s.index.series_instance_uid: s for s in result.series}
    regions_by_series: dict[str, list[Any]] = {}
    for region in result.regions:
        regions_by_series.setdefault(region.series_instance_uid, []).append(region)
    features = {f.study_instance_uid: f for f in result.features}
    skipped: list[FileProblem] = []
    counts = {"studies": 0, "series": 0, "instances": 0, "regions": 0, "quarantined": 0}
    new_studies: list[ImagingStudy] = []
    for study_index in result.studies:
        study = ImagingStudy.objects.filter(
            case=case, study_uid=study_index.study_instance_uid
        ).first()
        study_features = features.get(study_index.study_instance_uid)
        feature_json = (
            {
                "feature_version": study_features.feature_version,
                "measurements": [_measurement_json(m) for m in study_features.study],
            }
            if study_features
            else {}
        )
        if study is None:
            study = ImagingStudy.objects.create(
                case=case,
                upload=upload,
                study_uid=study_index.study_instance_uid,
                study_date=_real_date(study_index.study_date, offset),
                description=study_index.description[:200],
                features=feature_json,
            )
            counts["studies"] += 1
            new_studies.append(study)
        elif feature_json:
            study.features = feature_json
            study.save(update_fields=["features"])
        for series_index in study_index.series:
            uid = series_index.series_instance_uid
            if uid in existing:
                skipped.append(
                    FileProblem(
                        "",
                        "duplicate",
                        f"{series_index.modality} series {series_index.series_number or ''} is "
                        "already stored for this case; skipped",
                    )
                )
                continue
            item = by_uid[uid]
            key = uuid.uuid4().hex
            folder = private_dir(root / "series" / key)
            moved.paths.append(folder)
            files: list[list[str]] = []
            for n, instance in enumerate(series_index.instances):
                name = f"{n:05d}.dcm"
                shutil.move(instance.path, folder / name)
                files.append([name, instance.sop_instance_uid])
            volume = item.volume
            geometry: dict[str, Any] = {}
            if volume is not None and item.voxels_path:
                shutil.move(item.voxels_path, folder / "volume.npy")
                # The child sent the geometry only; the shape is that of the stored voxels.
                shape = np.load(folder / "volume.npy", mmap_mode="r", allow_pickle=False).shape
                geometry = {
                    **volume_geometry(volume),
                    "shape": [int(n) for n in shape],
                    "auto_window": _auto_window(folder / "volume.npy"),
                }
            suv = item.suv
            suv_kind = ""
            if series_index.modality == "PT":
                suv_kind = suv.source if suv is not None else ImagingSeries.SuvKind.UNKNOWN
            spacing = series_index.pixel_spacing
            series = ImagingSeries.objects.create(
                study=study,
                series_uid=uid,
                modality=series_index.modality[:16],
                description=series_index.description[:200],
                body_part=series_index.body_part[:64],
                series_number=series_index.series_number,
                series_date=_real_date(series_index.series_date, offset),
                slice_count=series_index.slice_count,
                pixel_spacing=list(spacing) if spacing else None,
                slice_spacing=series_index.slice_spacing,
                orientation=list(series_index.orientation) if series_index.orientation else None,
                frame_of_reference_uid=series_index.frame_of_reference_uid[:64],
                units=(volume.units if volume else "")[:16],
                suv_kind=suv_kind,
                suv=asdict(suv) if suv is not None else {},
                warnings=[
                    # The SUV note is shown as the series' SUV kind, not as a warning.
                    *(w for w in (volume.warnings if volume else ()) if not w.startswith("SUVbw ")),
                    *(p.message for p in item.problems),
                ],
                geometry=geometry,
                storage_key=key,
                files=files,
                has_volume=bool(geometry),
            )
            counts["series"] += 1
            counts["instances"] += len(files)
            for m, region in enumerate(regions_by_series.get(uid, [])):
                mask_name = f"mask-{m}.npy"
                shutil.move(region.mask_path, folder / mask_name)
                mask = np.load(folder / mask_name)
                lesion = region.features
                unit = next(
                    (x.unit for x in lesion.measurements if x.name == "mean"),
                    volume.units if volume else "",
                )
                ImagingRegion.objects.create(
                    series=series,
                    name=region.name[:200],
                    source=region.source,
                    source_sop_uid=region.source_sop_instance_uid,
                    mask_name=mask_name,
                    volume_ml=_finite(lesion.get("volume")),
                    longest_diameter_mm=_finite(lesion.get("longest_axial_diameter")),
                    perpendicular_mm=_finite(lesion.get("perpendicular_axial_diameter")),
                    intensity_unit=unit[:16],
                    mean=_finite(lesion.get("mean")),
                    maximum=_finite(lesion.get("maximum")),
                    peak=_finite(lesion.get("peak")),
                    key_slice=int(np.argmax(mask.sum(axis=(1, 2)))),
                    measurements=[_measurement_json(x) for x in lesion.measurements],
                    feature_version=features[study_index.study_instance_uid].feature_version
                    if study_index.study_instance_uid in features
                    else "",
                    warnings=list(region.warnings),
                )
                counts["regions"] += 1
    quarantine = private_dir(root / "quarantine")
    for held in result.quarantined:
        name = f"{uuid.uuid4().hex}.dcm"
        shutil.move(held.path, quarantine / name)
        moved.paths.append(quarantine / name)
        QuarantinedInstance.objects.create(
            case=case,
            upload=upload,
            storage_name=name,
            sop_uid=held.sop_instance_uid,
            modality=held.modality[:16],
            reason=held.reason[:200],
        )
        counts["quarantined"] += 1
    for study in new_studies:
        _imaging_event(study, upload.created_by)
    return counts, skipped


def _imaging_event(study: ImagingStudy, user: User | None) -> None:
    """Put a newly stored study on the case timeline (skipped when its date is unknown)."""
    if study.study_date is None or user is None:
        return
    modalities = sorted(set(study.series.values_list("modality", flat=True)))
    try:
        timeline_event_create(
            case=study.case,
            created_by=user,
            kind=TimelineEvent.Kind.IMAGING,
            date=study.study_date,
            title=f"Imaging study: {', '.join(modalities)}"[:200],
            detail="De-identified DICOM study imported from the PACS."
            if study.upload.source != ImagingUpload.Source.UPLOAD
            else "De-identified DICOM study uploaded to OncoBoard.",
        )
    except ValidationError as exc:
        logger.info("imaging study %s not put on the timeline: %s", study.pk, exc.messages)


def _measurement_json(m: Any) -> dict[str, Any]:
    return {"name": m.name, "value": _finite(m.value), "unit": m.unit, "provenance": m.provenance}
