"""Whole-slide images of a case and the resumable uploads that bring them in.

File paths are stored relative to ``MEDIA_ROOT`` and built only from server-generated names
(the slide's ``uid``); the uploaded file name is kept for display and never touches the disk.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from oncology_ui.core.ingest import IngestRecord
from oncology_ui.core.querysets import CaseScopedQuerySet
from oncology_ui.patients.models import Case


def _uid() -> str:
    return uuid.uuid4().hex


class SlideQuerySet(CaseScopedQuerySet["Slide"]):
    def shown(self) -> SlideQuerySet:
        """Slides that are not retired (the case page and the model see these)."""
        return self.exclude(status=Slide.Status.RETIRED)


class Slide(IngestRecord):
    """One whole-slide image: the de-identified derivative and what processing learned from it.

    The slide is its own ingest record: received, processed in the background, then ready or
    failed (``error`` says why); a retired slide is finished too.
    """

    class Status(models.TextChoices):
        RECEIVED = IngestRecord.RECEIVED, "Waiting to be processed"
        PROCESSING = "processing", "Processing"
        READY = "ready", "Ready"
        FAILED = "failed", "Could not be read"
        RETIRED = "retired", "Removed"

    class Stain(models.TextChoices):
        HE = "he", "H&E"
        IHC = "ihc", "IHC (DAB)"
        UNKNOWN = "unknown", "Not determined"

    PENDING_STATUSES = frozenset({Status.RECEIVED, Status.PROCESSING})
    status_url_name = "pathology-viewer"
    html_id_prefix = "slide"

    uid = models.CharField(max_length=32, unique=True, default=_uid, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="slides")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RECEIVED)
    original_name = models.CharField(max_length=200, help_text="As uploaded; shown, never used")
    original_size = models.BigIntegerField(default=0)
    original_sha256 = models.CharField(max_length=64, blank=True)
    # Relative to MEDIA_ROOT; emptied when the file is deleted.
    original_path = models.CharField(max_length=200, blank=True)
    original_delete_after = models.DateTimeField(null=True, blank=True)
    file_kind = models.CharField(max_length=12, blank=True, help_text="By content: tiff, png...")
    # A slide imported from a DICOMweb store: the series the job retrieves (empty for uploads).
    pacs_study_uid = models.CharField(max_length=64, blank=True)
    pacs_series_uid = models.CharField(max_length=64, blank=True)
    format = models.CharField(max_length=20, blank=True)
    vendor = models.CharField(max_length=40, blank=True)
    compression = models.CharField(max_length=20, blank=True)
    objective_power = models.FloatField(null=True, blank=True)
    mpp = models.FloatField(null=True, blank=True, help_text="Microns per pixel at level 0")
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    level_count = models.PositiveSmallIntegerField(null=True, blank=True)
    removed_images = models.JSONField(default=list, blank=True, help_text="Label, macro...")
    stain_guess = models.CharField(max_length=8, choices=Stain.choices, default=Stain.UNKNOWN)
    qc_state = models.CharField(max_length=4, blank=True)
    qc_flags = models.JSONField(default=list, blank=True)
    qc_messages = models.JSONField(default=list, blank=True)
    qc_metrics = models.JSONField(default=dict, blank=True)
    tissue_area_mm2 = models.FloatField(null=True, blank=True)
    tile_count = models.PositiveIntegerField(null=True, blank=True)
    target_mpp = models.FloatField(null=True, blank=True)
    feature_summary = models.JSONField(default=list, blank=True)
    encoder_name = models.CharField(max_length=60, blank=True)
    encoder_version = models.CharField(max_length=40, blank=True)
    derivative_path = models.CharField(max_length=200, blank=True)
    derivative_sha256 = models.CharField(max_length=64, blank=True)
    thumbnail_path = models.CharField(max_length=200, blank=True)
    tissue_path = models.CharField(max_length=200, blank=True)
    features_path = models.CharField(max_length=200, blank=True)
    features_sha256 = models.CharField(max_length=64, blank=True)
    error = models.CharField(max_length=500, blank=True)
    # A slide that cannot be read has one message, in ``error``; there is no problem list.
    problems = None
    created_at = models.DateTimeField(default=timezone.now)
    retired_at = models.DateTimeField(null=True, blank=True)
    retired_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = SlideQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Slide {self.pk} ({self.status})"

    @property
    def is_ready(self) -> bool:
        return self.status == self.Status.READY

    @property
    def is_pending(self) -> bool:
        return not self.is_finished

    @property
    def kind_label(self) -> str:
        return "Slide"

    @property
    def failure_message(self) -> str:
        return self.error if self.status == self.Status.FAILED else ""

    @property
    def mpp_missing(self) -> bool:
        return self.is_ready and self.mpp is None

    @property
    def magnification_label(self) -> str:
        if self.objective_power:
            return f"{self.objective_power:g}x"
        if self.mpp:
            return f"~{10.0 / self.mpp:.0f}x (from µm/px)"
        return "not recorded"


class SlideUpload(models.Model):
    """A chunked upload in progress: bytes are appended to ``part_path`` at ``received``."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+")
    original_name = models.CharField(max_length=200, help_text="As uploaded; shown, never used")
    size = models.BigIntegerField(help_text="Declared total size in bytes")
    received = models.BigIntegerField(default=0)
    file_kind = models.CharField(max_length=12, blank=True)
    part_path = models.CharField(max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = CaseScopedQuerySet["SlideUpload"].as_manager()

    class Meta:
        ordering = ["-updated_at", "-id"]

    def __str__(self) -> str:
        return f"Upload {self.pk} ({self.received}/{self.size})"

    @property
    def percent(self) -> int:
        return int(100 * self.received / self.size) if self.size else 0
