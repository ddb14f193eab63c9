"""Writes of the pathology app: chunked uploads, slide ingest, retirement, retention.

Every path is built from server-generated names under ``MEDIA_ROOT/pathology``; the name a user
uploaded is stored for display only. An ingest either completes (all files written, one update of
the slide row) or leaves nothing behind but the failed slide row with its message.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from inference.slides.errors import SlideUnreadable
from inference.slides.schema import SlideLimits
from inference.slides.sniff import FileKind, describe_unknown, sniff_bytes
from oncology_ui.core.jobs import PermanentJobError
from oncology_ui.pathology.conf import pathology_settings
from oncology_ui.pathology.models import Slide, SlideUpload
from oncology_ui.patients.models import Case

logger = logging.getLogger(__name__)

INGEST_JOB = "slide_ingest"
_SNIFF_BYTES = 132
_COPY_BLOCK = 1024 * 1024
_ROOT = "pathology"


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class UploadOffsetMismatch(Exception):
    """The client sent a chunk for another offset than the server has; it must resume there."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        super().__init__(f"the upload continues at byte {expected}")


def media_path(relative: str) -> Path:
    """Absolute path of a stored file; refuses anything that would leave the pathology folder."""
    root = (Path(settings.MEDIA_ROOT) / _ROOT).resolve()
    path = (Path(settings.MEDIA_ROOT) / relative).resolve()
    if not relative or not path.is_relative_to(root):
        raise ValueError("stored path outside the pathology media folder")
    return path


def _relative(path: Path) -> str:
    return str(path.resolve().relative_to(Path(settings.MEDIA_ROOT).resolve()))


def _dir(*parts: str) -> Path:
    path = Path(settings.MEDIA_ROOT) / _ROOT / Path(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _display_name(name: str) -> str:
    """The uploaded name, shortened and stripped of any folder part (shown, never a path)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return "".join(ch for ch in base if ch.isprintable())[:200] or "slide"


def _accepted_kind(head: bytes) -> FileKind:
    """The file kind from its first bytes, or ValidationError with a clear reason."""
    kind = sniff_bytes(head)
    if kind == "unknown":
        raise ValidationError(f"This file is not a slide: {describe_unknown(head)}.")
    # "dicom" and "zip": a DICOM whole-slide image; the sandboxed inspection checks that the
    # instances are one slide's, complete, and of this patient.
    return kind


def _check_size(size: int) -> None:
    limit = pathology_settings().max_upload_bytes
    if size <= 0:
        raise ValidationError("The file is empty.")
    if size > limit:
        raise ValidationError(
            f"The file is {size / 2**20:,.0f} MiB; the largest slide accepted is "
            f"{limit / 2**20:,.0f} MiB."
        )


# ------------------------------------------------------------------------------------------
# Chunked, resumable upload


def upload_start(*, case: Case, user: User, name: str, size: int) -> SlideUpload:
    """Open a resumable upload of ``size`` bytes for a case.

    Raises:
        ValidationError: the declared size is zero or above the limit.
    """
    _check_size(size)
    part = _dir("uploads") / f"{secrets.token_hex(16)}.part"
    part.touch(mode=0o600)
    upload = SlideUpload(
        case=case,
        original_name=_display_name(name),
        size=size,
        part_path=_relative(part),
        created_by=user,
    )
    upload.full_clean()
    upload.save()
    return upload


def upload_discard(*, upload: SlideUpload) -> None:
    """Remove an unfinished upload and its partial file."""
    media_path(upload.part_path).unlink(missing_ok=True)
    upload.delete()


def upload_append(
    *, upload: SlideUpload, offset: int, stream: Readable, length: int
) -> SlideUpload:
    """Append one chunk read from ``stream`` at ``offset``.

    1. Lock the upload row; the offset must equal the bytes received so far (else
       :class:`UploadOffsetMismatch` names where to resume).
    2. The chunk must be non-empty, at most the configured chunk size, and not run past the
       declared size.
    3. Copy it to the partial file in blocks (never whole in memory); a short body is cut off
       again so the file always ends at ``received``.
    4. On the first chunk, decide the type by content; a non-slide ends the upload.

    Raises:
        UploadOffsetMismatch: wrong offset.
        ValidationError: bad chunk, or content that is not a slide (the upload is discarded).
    """
    conf = pathology_settings()
    with transaction.atomic():
        locked = SlideUpload.objects.select_for_update().get(pk=upload.pk)
        if offset != locked.received:
            raise UploadOffsetMismatch(locked.received)
        if length <= 0:
            raise ValidationError("The chunk is empty.")
        if length > conf.chunk_bytes:
            raise ValidationError(f"A chunk may be at most {conf.chunk_bytes} bytes.")
        if offset + length > locked.size:
            raise ValidationError("The chunk runs past the declared end of the file.")
        path = media_path(locked.part_path)
        written = 0
        with open(path, "r+b") as fh:
            fh.seek(offset)
            while written < length:
                block = stream.read(min(_COPY_BLOCK, length - written))
                if not block:
                    break
                fh.write(block)
                written += len(block)
            fh.truncate(offset + written)
        if written != length:
            raise ValidationError("The chunk arrived incomplete; send it again.")
        refused: ValidationError | None = None
        if offset == 0:
            with open(path, "rb") as fh:
                head = fh.read(_SNIFF_BYTES)
            try:
                locked.file_kind = _accepted_kind(head)
            except ValidationError as exc:
                refused = exc
        if refused is None:
            locked.received = offset + length
            locked.updated_at = timezone.now()
            locked.save(update_fields=["received", "file_kind", "updated_at"])
        else:
            # Deleted inside the transaction, raised after it commits: not a slide, nothing kept.
            path.unlink(missing_ok=True)
            locked.delete()
    if refused is not None:
        raise refused
    return locked


def upload_complete(*, upload: SlideUpload, user: User) -> Slide:
    """Turn a fully received upload into a slide and start its ingest job.

    Raises:
        ValidationError: bytes are still missing.
    """
    with transaction.atomic():
        locked = SlideUpload.objects.select_for_update().get(pk=upload.pk)
        if locked.received != locked.size:
            raise ValidationError(
                f"The upload is incomplete: {locked.received} of {locked.size} bytes received."
            )
        part = media_path(locked.part_path)
        slide = _slide_from_file(
            case=locked.case, user=user, source=part, name=locked.original_name
        )
        locked.delete()
    return slide


# ------------------------------------------------------------------------------------------
# Plain form upload (no JavaScript): Django has streamed the body to a temporary file.


def slide_receive_file(*, case: Case, user: User, upload: Any, name: str) -> Slide:
    """Store a file from the plain upload form and start its ingest job.

    Args:
        case: the case.
        user: who uploaded it.
        upload: Django ``UploadedFile`` (on disk for large files).
        name: the name as uploaded (display only).

    Raises:
        ValidationError: empty, too large or not a slide by content.
    """
    _check_size(int(upload.size or 0))
    upload.seek(0)
    _accepted_kind(upload.read(_SNIFF_BYTES))
    upload.seek(0)
    tmp = _dir("uploads") / f"{secrets.token_hex(16)}.part"
    try:
        with open(tmp, "wb") as out:
            for chunk in upload.chunks(_COPY_BLOCK):
                out.write(chunk)
        with transaction.atomic():
            return _slide_from_file(case=case, user=user, source=tmp, name=name)
    finally:
        tmp.unlink(missing_ok=True)


def slide_receive_dicom_files(*, case: Case, user: User, uploads: list[Any]) -> Slide:
    """Store the instances of one DICOM whole-slide image, sent as several files, as one slide.

    The files are packed, in the order sent, into one ZIP archive (stored, not compressed) that
    is the slide's original, as a ZIP upload or a PACS retrieval would be.

    Raises:
        ValidationError: no file, a file that is not DICOM, or more than the size limit in all.
    """
    from inference.slides.dicom_wsi import MAX_INSTANCES

    if not uploads:
        raise ValidationError("Choose the DICOM files of the slide.")
    if len(uploads) > MAX_INSTANCES:
        raise ValidationError(f"A slide may have at most {MAX_INSTANCES} DICOM files.")
    _check_size(sum(int(u.size or 0) for u in uploads))
    for upload in uploads:
        upload.seek(0)
        if sniff_bytes(upload.read(_SNIFF_BYTES)) != "dicom":
            raise ValidationError(
                f"{_display_name(upload.name or 'a file')} is not a DICOM file; send only the "
                "DICOM files of one slide, or the slide as one ZIP archive."
            )
    tmp = _dir("uploads") / f"{secrets.token_hex(16)}.part"
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as archive:
            for n, upload in enumerate(uploads):
                upload.seek(0)
                with archive.open(f"{n:06d}.dcm", "w", force_zip64=True) as member:
                    for chunk in upload.chunks(_COPY_BLOCK):
                        member.write(chunk)
        name = f"DICOM slide ({len(uploads)} files)"
        with transaction.atomic():
            return _slide_from_file(case=case, user=user, source=tmp, name=name)
    finally:
        tmp.unlink(missing_ok=True)


def _sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _slide_from_file(*, case: Case, user: User, source: Path, name: str) -> Slide:
    """Create the slide row, move the file to its original's place, enqueue the ingest."""
    with open(source, "rb") as fh:
        kind = _accepted_kind(fh.read(_SNIFF_BYTES))
    slide = Slide(
        case=case,
        original_name=_display_name(name),
        original_size=source.stat().st_size,
        original_sha256=_sha256(source),
        file_kind=kind,
        created_by=user,
    )
    original = _dir("originals") / f"{slide.uid}.upload"
    slide.original_path = _relative(original)
    slide.full_clean()
    slide.save()
    os.replace(source, original)
    try:
        slide.enqueue_job(kind=INGEST_JOB, user=user, message="Waiting to start")
    except BaseException:
        # The rows roll back with the transaction; the file must not outlive them.
        original.unlink(missing_ok=True)
        raise
    return slide


def slide_attach_original(*, slide: Slide, source: Path, name: str) -> Slide:
    """Make a retrieved file (a PACS import's ZIP archive) the slide's original, by one rename.

    Raises:
        ValidationError: the file is empty or larger than the upload limit.
    """
    _check_size(source.stat().st_size)
    original = _dir("originals") / f"{slide.uid}.upload"
    slide.original_name = _display_name(name)
    slide.original_size = source.stat().st_size
    slide.original_sha256 = _sha256(source)
    slide.original_path = _relative(original)
    os.replace(source, original)
    slide.save(update_fields=["original_name", "original_size", "original_sha256", "original_path"])
    return slide


# ------------------------------------------------------------------------------------------
# Ingest (the job's work)

Progress = Callable[[int, str], None]


def _slide_dir(slide: Slide) -> Path:
    return Path(settings.MEDIA_ROOT) / _ROOT / "slides" / slide.uid


def _remove_outputs(slide: Slide) -> None:
    shutil.rmtree(_slide_dir(slide), ignore_errors=True)


def _remove_original(slide: Slide) -> None:
    if slide.original_path:
        media_path(slide.original_path).unlink(missing_ok=True)


def _limits() -> SlideLimits:
    return SlideLimits(max_file_bytes=pathology_settings().max_upload_bytes)


def slide_ingest(*, slide: Slide, progress: Progress) -> dict[str, object]:
    """Inspect, de-identify and analyse an uploaded slide; the row changes once, at the end.

    1. Inspect the upload in the sandbox (header, pyramid, one decoded tile).
    2. Write the de-identified pyramidal TIFF (sandboxed; label, macro and text dropped).
    3. On the derivative: tissue mask, tile grid, QC, per-tile features (``.npz``).
    4. Thumbnail, tissue outline and stain guess.
    5. One update of the row; the original is deleted unless the retention setting keeps it.

    A file that cannot be read fails with :class:`SlideUnreadable` (its message is for the
    user); every file written so far, and the original upload, are removed first.

    Returns:
        A small JSON result for the job row.
    """
    from inference.slides.deid import DEID_LIMITS, deidentify_slide
    from inference.slides.inspect import inspect_slide
    from inference.slides.pipeline import process_slide, slide_overview

    if slide.status in {Slide.Status.READY, Slide.Status.RETIRED}:
        return {"slide": slide.pk, "skipped": slide.status}
    Slide.objects.filter(pk=slide.pk).update(status=Slide.Status.PROCESSING, error="")
    _remove_outputs(slide)  # a rerun after an interrupted attempt starts clean
    out = _slide_dir(slide)
    out.mkdir(parents=True, exist_ok=True)
    original = media_path(slide.original_path) if slide.original_path else None
    try:
        if original is None or not original.exists():
            raise SlideUnreadable("not-a-slide", "the uploaded file is no longer stored")
        progress(2, "Checking the file")
        limits = _limits()
        info = inspect_slide(original, limits)
        _check_patient(slide, info.patient_id)
        progress(5, "Removing label, macro image and identifying text")

        def deid_progress(done: int, total: int) -> None:
            progress(5 + int(40 * done / max(total, 1)), f"De-identifying: {done} of {total} tiles")

        deid = deidentify_slide(
            original,
            out / "slide.tif",
            limits=replace(DEID_LIMITS, max_file_bytes=limits.max_file_bytes),
            progress=deid_progress,
        )

        def feature_progress(done: int, total: int) -> None:
            progress(45 + int(50 * done / max(total, 1)), f"Tile features: {done} of {total}")

        progress(45, "Finding tissue and tiles")
        summary = process_slide(deid.path, out / "features.npz", progress=feature_progress)
        progress(96, "Thumbnail and tissue outline")
        overview = slide_overview(deid.path)
        (out / "thumbnail.png").write_bytes(overview.thumbnail_png)
        (out / "tissue.png").write_bytes(overview.tissue_outline_png)
    except SlideUnreadable as exc:
        _fail(slide, str(exc))
        raise PermanentJobError(f"{str(exc)[:1].upper()}{str(exc)[1:]}.") from None
    except Exception:
        _fail(slide, "this file could not be processed because of an internal error")
        raise
    qc = summary.qc
    keep_days = pathology_settings().original_retention_days
    fields: dict[str, Any] = {
        "status": Slide.Status.READY,
        "error": "",
        "format": info.format,
        "vendor": info.vendor or "",
        "compression": info.compression,
        "objective_power": deid.objective_power,
        "mpp": deid.mpp,
        "width": deid.width,
        "height": deid.height,
        "level_count": deid.levels,
        "removed_images": list(deid.removed_associated_images),
        "stain_guess": overview.stain,
        "qc_state": qc.state,
        "qc_flags": list(qc.flags),
        "qc_messages": list(qc.messages),
        "qc_metrics": {
            "out_of_focus_fraction": qc.out_of_focus_fraction,
            "pen_mark_fraction": qc.pen_mark_fraction,
            "tissue_fraction": qc.tissue_fraction,
            "tiles_sampled": qc.tiles_sampled,
        },
        "tissue_area_mm2": summary.tissue_area_mm2,
        "tile_count": summary.tile_count,
        "target_mpp": summary.target_mpp,
        "feature_summary": [
            {"name": s.name, "mean": s.mean, "std": s.std, "p10": s.p10, "p90": s.p90}
            for s in summary.feature_stats
        ],
        "encoder_name": summary.encoder_name,
        "encoder_version": summary.encoder_version,
        "derivative_path": _relative(Path(deid.path)),
        "derivative_sha256": deid.sha256,
        "thumbnail_path": _relative(out / "thumbnail.png"),
        "tissue_path": _relative(out / "tissue.png"),
        "features_path": _relative(Path(summary.features_path)),
        "features_sha256": _sha256(Path(summary.features_path)),
        "finished_at": timezone.now(),
        "original_delete_after": timezone.now() + timedelta(days=keep_days) if keep_days else None,
    }
    if not keep_days:
        _remove_original(slide)
        fields["original_path"] = ""
    Slide.objects.filter(pk=slide.pk).update(**fields)
    logger.info("slide %s ingested: %d tiles, QC %s", slide.pk, summary.tile_count, qc.state)
    return {"slide": slide.pk, "tiles": summary.tile_count, "qc": qc.state}


def _check_patient(slide: Slide, patient_id: str | None) -> None:
    """A DICOM slide that names a Patient ID must name this patient's MRN.

    Raises:
        SlideUnreadable: it names another patient (whose ID is not repeated in the message).
    """
    mrn = slide.case.patient.mrn.strip()
    if patient_id and patient_id.strip() != mrn:
        raise SlideUnreadable(
            "wrong-patient",
            "the DICOM slide belongs to another patient (its Patient ID is not this patient's "
            "MRN); nothing was stored",
        )


def slide_fail(*, slide: Slide, message: str) -> None:
    """Fail a slide whose original could not be obtained (a PACS retrieve): see :func:`_fail`."""
    _fail(slide, message)


def _fail(slide: Slide, message: str) -> None:
    """Remove every file of the slide, the upload included, and record the message."""
    _remove_outputs(slide)
    _remove_original(slide)
    Slide.objects.filter(pk=slide.pk).update(
        status=Slide.Status.FAILED, error=message[:500], original_path=""
    )


# ------------------------------------------------------------------------------------------
# Retirement and retention


def slide_retire(*, slide: Slide, user: User) -> Slide:
    """Take a slide off the case page and out of future model inputs.

    The de-identified derivative and features stay (earlier analysis runs reference them by
    hash); the original upload, if still kept, is deleted now.
    """
    if slide.status == Slide.Status.RETIRED:
        return slide
    if slide.is_pending:
        raise ValidationError("The slide is still being processed; remove it when it has finished.")
    _remove_original(slide)
    slide.status = Slide.Status.RETIRED
    slide.retired_at = timezone.now()
    slide.retired_by = user
    slide.original_path = ""
    slide.save(update_fields=["status", "retired_at", "retired_by", "original_path"])
    return slide


def pathology_purge(*, now: Any = None) -> dict[str, int]:
    """Delete originals past their retention date, uploads abandoned past the expiry, and DICOM
    archives a killed reader left unpacked in the temporary folder over a day ago."""
    from inference.slides.dicom_wsi import remove_stale_unpacked

    now = now or timezone.now()
    counts = {"originals": 0, "uploads": 0}
    counts["unpacked"] = remove_stale_unpacked(86_400, now=now.timestamp())
    for slide in Slide.objects.filter(original_delete_after__lte=now).exclude(original_path=""):
        _remove_original(slide)
        Slide.objects.filter(pk=slide.pk).update(original_path="", original_delete_after=None)
        counts["originals"] += 1
    cutoff = now - timedelta(hours=pathology_settings().upload_expiry_hours)
    for upload in SlideUpload.objects.filter(updated_at__lt=cutoff):
        upload_discard(upload=upload)
        counts["uploads"] += 1
    return counts
