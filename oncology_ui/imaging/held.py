"""Images held at ingest because their pixels may show burned-in identifiers.

A radiologist looks at each one (:func:`held_preview`, rendered in the sandbox) and releases it
(ingested as a new upload, without a second de-identification) or discards it (the file is
deleted, the row stays as the record of the decision).
"""

from __future__ import annotations

import shutil
import uuid

import numpy as np
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from inference.imaging.dicom_format import DicomFileError
from inference.imaging.render import render_slice
from inference.imaging.schema import Window
from inference.imaging.volume import VolumeError, load_series
from inference.sandbox import SandboxError
from oncology_ui.imaging.conf import imaging_settings
from oncology_ui.imaging.models import ImagingUpload, QuarantinedInstance
from oncology_ui.imaging.services import INGEST_JOB
from oncology_ui.imaging.storage import imaging_root, private_dir, quarantine_path


def held_release(*, instance: QuarantinedInstance, user: User) -> ImagingUpload:
    """A radiologist saw no burned-in identifiers: ingest the held file as a new upload."""
    if instance.status != QuarantinedInstance.Status.PENDING:
        raise ValidationError("This file has already been reviewed.")
    source = quarantine_path(instance)
    if not source.is_file():
        raise ValidationError("The held file is no longer stored; upload the study again.")
    key = uuid.uuid4().hex
    incoming = private_dir(imaging_root() / "incoming" / key)
    shutil.copyfile(source, incoming / "000000.dcm")
    try:
        with transaction.atomic():
            upload = ImagingUpload.objects.create(
                case=instance.case,
                label=f"{instance.modality} image released after review",
                incoming_key=key,
                released_from=True,
                file_count=1,
                size=source.stat().st_size,
                counts={"names": [f"held {instance.modality} image {instance.pk}"]},
                created_by=user,
            )
            upload.enqueue_job(kind=INGEST_JOB, user=user)
            instance.status = QuarantinedInstance.Status.RELEASED
            instance.reviewed_by = user
            instance.reviewed_at = timezone.now()
            instance.save(update_fields=["status", "reviewed_by", "reviewed_at"])
            transaction.on_commit(lambda: source.unlink(missing_ok=True))
    except BaseException:
        shutil.rmtree(incoming, ignore_errors=True)
        raise
    return upload


def held_preview(*, instance: QuarantinedInstance) -> bytes:
    """The held image as a PNG (first frame, window from its own values), parsed in the sandbox.

    Raises:
        ValidationError: the file is gone or cannot be drawn.
    """
    path = quarantine_path(instance)
    if instance.status != QuarantinedInstance.Status.PENDING or not path.is_file():
        raise ValidationError("The held file is no longer stored.")
    try:
        volume = load_series([path], imaging_settings().sandbox)
    except (SandboxError, VolumeError, DicomFileError) as exc:
        raise ValidationError(f"The held image cannot be drawn ({exc}).") from exc
    plane = np.asarray(volume.voxels[0], dtype=np.float32)
    finite = plane[np.isfinite(plane)]
    low, high = (float(np.min(finite)), float(np.max(finite))) if finite.size else (0.0, 1.0)
    width = max(high - low, 1e-3)
    window = Window("auto", low + width / 2, width)
    return render_slice(volume, "axial", 0, window).png


def held_discard(*, instance: QuarantinedInstance, user: User) -> None:
    """The pixels show identifiers (or the file is not wanted): delete it, keep the record."""
    if instance.status != QuarantinedInstance.Status.PENDING:
        raise ValidationError("This file has already been reviewed.")
    instance.status = QuarantinedInstance.Status.DISCARDED
    instance.reviewed_by = user
    instance.reviewed_at = timezone.now()
    instance.save(update_fields=["status", "reviewed_by", "reviewed_at"])
    quarantine_path(instance).unlink(missing_ok=True)
