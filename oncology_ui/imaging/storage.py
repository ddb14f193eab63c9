"""Where imaging files live: opaque folders under ``MEDIA_ROOT/imaging/`` and the patient's key.

``incoming/<key>/`` holds a raw upload until its ingest ends, ``series/<key>/`` a series'
de-identified files, volume and masks, ``quarantine/<name>`` a file held for pixel review. Rows
that name these files delete them when the row is deleted (after the commit).
"""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from oncology_ui.imaging.models import ImagingSeries, PatientImagingKey, QuarantinedInstance
from oncology_ui.patients.models import Patient


def imaging_root() -> Path:
    return Path(settings.MEDIA_ROOT) / "imaging"


def series_dir(series: ImagingSeries) -> Path:
    return imaging_root() / "series" / series.storage_key


def quarantine_path(instance: QuarantinedInstance) -> Path:
    return imaging_root() / "quarantine" / instance.storage_name


def private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def imaging_key_secret(patient: Patient) -> bytes:
    """The patient's de-identification secret, created (32 random bytes) on first use."""
    key, _ = PatientImagingKey.objects.get_or_create(
        patient=patient, defaults={"secret": secrets.token_bytes(32)}
    )
    return bytes(key.secret)


@receiver(post_delete, sender=ImagingSeries)
def _series_files_delete(
    sender: type[ImagingSeries], instance: ImagingSeries, **kwargs: Any
) -> None:
    """A deleted series (or its case) takes its files with it, once the deletion commits."""
    if instance.storage_key:  # never an empty key: that would be the whole series folder
        folder = series_dir(instance)
        transaction.on_commit(lambda: shutil.rmtree(folder, ignore_errors=True))


@receiver(post_delete, sender=QuarantinedInstance)
def _held_file_delete(
    sender: type[QuarantinedInstance], instance: QuarantinedInstance, **kwargs: Any
) -> None:
    if instance.storage_name:
        path = quarantine_path(instance)
        transaction.on_commit(lambda: path.unlink(missing_ok=True))
