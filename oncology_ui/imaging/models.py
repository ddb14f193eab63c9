"""Radiology studies of a case: uploads, the de-identified studies and series they produced,
files held for pixel review, region measurements and RECIST time points.

Pixel data and masks never live in the database: each series has an opaque folder under
``MEDIA_ROOT/imaging/series/`` with its de-identified DICOM files, a ``volume.npy`` the viewer
reads, and one ``.npy`` mask per region. The link from those files to the patient exists only in
these rows (and the patient's de-identification key below).
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models

from oncology_ui.core.ingest import IngestRecord
from oncology_ui.core.querysets import CaseScopedQuerySet, TeamScopedQuerySet
from oncology_ui.patients.models import Case, Patient, TimelineEvent

RESEARCH_USE = (
    "Research use only: image-derived measurements are not a diagnostic report and are not "
    "validated for clinical decisions."
)


class PatientImagingKey(models.Model):
    """The per-patient secret from which de-identified UIDs and the date offset derive.

    Kept here, never in the files: with it the same patient's uploads get consistent UIDs (so a
    later RTSTRUCT still finds its images), without it the files cannot be linked back.
    """

    patient = models.OneToOneField(Patient, on_delete=models.CASCADE, related_name="imaging_key")
    secret = models.BinaryField(max_length=32, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"imaging key of patient {self.patient_id}"


class ImagingUpload(IngestRecord):
    """One upload (a zip or many files) and what the ingest job made of it."""

    class Status(models.TextChoices):
        RECEIVED = IngestRecord.RECEIVED, "Received"
        STORED = "stored", "Stored"
        REFUSED = "refused", "Refused"
        FAILED = "failed", "Failed"

    class Source(models.TextChoices):
        UPLOAD = "upload", "Upload"
        PACS = "pacs", "PACS import"
        SCP = "scp", "DICOM push"

    status_url_name = "imaging-upload-detail"
    display_field = "label"
    html_id_prefix = "imaging-upload"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="imaging_uploads")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.UPLOAD)
    pacs_study_uid = models.CharField(
        "Study Instance UID in the PACS",
        max_length=64,
        blank=True,
        help_text="What a PACS import retrieves (the stored study gets a de-identified UID)",
    )
    pacs_connection = models.CharField(
        "PACS connection",
        max_length=12,
        blank=True,
        help_text="The connection a PACS import retrieves over: 'settings' or a connection's id",
    )
    pacs_instances = models.JSONField(
        default=list,
        blank=True,
        help_text="[[series, SOP instance, SOP class UID], ...] as the PACS knows them: what "
        "results sent back to the PACS reference",
    )
    label = models.CharField(max_length=200, help_text="What was uploaded, as shown to people")
    incoming_key = models.CharField(max_length=32, help_text="Opaque folder of the raw upload")
    is_archive = models.BooleanField(default=False)
    released_from = models.BooleanField(
        default=False, help_text="Files released from pixel review (already de-identified)"
    )
    file_count = models.PositiveIntegerField(default=0)
    size = models.BigIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True)
    error = models.CharField(max_length=1000, blank=True)

    objects = CaseScopedQuerySet["ImagingUpload"].as_manager()

    def __str__(self) -> str:
        return f"imaging upload {self.pk} ({self.status})"

    @property
    def kind_label(self) -> str:
        if self.source == self.Source.UPLOAD:
            return "DICOM upload"
        return str(self.get_source_display())  # "PACS import", "DICOM push"

    @property
    def outcome_summary(self) -> str:
        """What was stored, e.g. ``2 series, 40 images, 1 regions, 3 held for review``."""
        if self.status != self.Status.STORED:
            return ""
        counts = self.counts
        text = (
            f"{counts.get('series') or 0} series, {counts.get('instances') or 0} images, "
            f"{counts.get('regions') or 0} regions"
        )
        if counts.get("quarantined"):
            text += f", {counts['quarantined']} held for review"
        if problems := counts.get("problems"):
            text += f"; {problems} file problem{'' if problems == 1 else 's'}"
        return text

    @property
    def failure_message(self) -> str:
        return self.error


class ImagingStudy(models.Model):
    """A de-identified DICOM study of a case."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="imaging_studies")
    upload = models.ForeignKey(ImagingUpload, on_delete=models.CASCADE, related_name="studies")
    study_uid = models.CharField("Study Instance UID (de-identified)", max_length=64)
    study_date = models.DateField(
        null=True, blank=True, help_text="The real date (the files carry a shifted one)"
    )
    description = models.CharField(max_length=200, blank=True)
    features = models.JSONField(default=dict, blank=True, help_text="Per-study measurements")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CaseScopedQuerySet["ImagingStudy"].as_manager()

    class Meta:
        ordering = ["-study_date", "-id"]
        verbose_name_plural = "imaging studies"

    def __str__(self) -> str:
        return f"study {self.pk} of case {self.case_id}"


class ImagingSeriesQuerySet(TeamScopedQuerySet["ImagingSeries"]):
    members_lookup = "study__case__patient__teams__members"


class ImagingSeries(models.Model):
    """One series: what the header index says, the volume's geometry and where its files are."""

    class SuvKind(models.TextChoices):
        NONE = "", "Not PET"
        STORED = "already_suv", "SUVbw as stored by the scanner"
        COMPUTED = "computed_from_activity", "SUVbw computed here from activity"
        UNKNOWN = "unknown", "SUV could not be worked out"

    study = models.ForeignKey(ImagingStudy, on_delete=models.CASCADE, related_name="series")
    series_uid = models.CharField("Series Instance UID (de-identified)", max_length=64)
    modality = models.CharField(max_length=16)
    description = models.CharField(max_length=200, blank=True)
    body_part = models.CharField(max_length=64, blank=True)
    series_number = models.IntegerField(null=True, blank=True)
    series_date = models.DateField(null=True, blank=True, help_text="Real date")
    slice_count = models.PositiveIntegerField(default=0)
    pixel_spacing = models.JSONField(null=True, blank=True, help_text="row, column (mm)")
    slice_spacing = models.FloatField(null=True, blank=True, help_text="mm")
    orientation = models.JSONField(null=True, blank=True)
    frame_of_reference_uid = models.CharField(max_length=64, blank=True)
    units = models.CharField(max_length=16, blank=True, help_text="HU, SUVbw, BQML, ...")
    suv_kind = models.CharField(max_length=24, choices=SuvKind.choices, blank=True)
    suv = models.JSONField(default=dict, blank=True, help_text="SUV conversion inputs")
    warnings = models.JSONField(default=list, blank=True, help_text="Spacing and loading problems")
    geometry = models.JSONField(default=dict, blank=True, help_text="Volume grid (for the viewer)")
    storage_key = models.CharField(max_length=32, help_text="Opaque folder under imaging/series/")
    files = models.JSONField(default=list, blank=True, help_text="[[file name, SOP UID], ...]")
    has_volume = models.BooleanField(default=False)

    objects = ImagingSeriesQuerySet.as_manager()

    class Meta:
        ordering = ["study", "series_number", "id"]
        verbose_name_plural = "imaging series"

    def __str__(self) -> str:
        return f"{self.modality} series {self.pk}"

    @property
    def label(self) -> str:
        text = self.description or self.body_part or "series"
        return f"{self.modality} {text}".strip()

    @property
    def shape(self) -> tuple[int, int, int] | None:
        shape = self.geometry.get("shape")
        return (int(shape[0]), int(shape[1]), int(shape[2])) if shape else None


class QuarantinedInstance(models.Model):
    """A de-identified file whose pixels may show burned-in identifiers, held for review."""

    class Status(models.TextChoices):
        PENDING = "pending", "Awaiting review"
        RELEASED = "released", "Released"
        DISCARDED = "discarded", "Discarded"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+")
    upload = models.ForeignKey(ImagingUpload, on_delete=models.CASCADE, related_name="quarantined")
    storage_name = models.CharField(
        max_length=64, help_text="Opaque name under imaging/quarantine/"
    )
    sop_uid = models.CharField(max_length=64)
    modality = models.CharField(max_length=16, blank=True)
    reason = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)

    objects = CaseScopedQuerySet["QuarantinedInstance"].as_manager()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"quarantined {self.modality} file {self.pk} ({self.status})"


class ImagingRegionQuerySet(TeamScopedQuerySet["ImagingRegion"]):
    members_lookup = "series__study__case__patient__teams__members"


class ImagingRegion(models.Model):
    """One RTSTRUCT ROI or SEG segment on a series, with its measurements."""

    series = models.ForeignKey(ImagingSeries, on_delete=models.CASCADE, related_name="regions")
    name = models.CharField(max_length=200, help_text="ROI name or segment label in the file")
    source = models.CharField(max_length=10)
    source_sop_uid = models.CharField(max_length=64, blank=True)
    mask_name = models.CharField(max_length=64)
    volume_ml = models.FloatField(null=True, blank=True)
    longest_diameter_mm = models.FloatField(null=True, blank=True)
    perpendicular_mm = models.FloatField(null=True, blank=True)
    intensity_unit = models.CharField(max_length=16, blank=True)
    mean = models.FloatField(null=True, blank=True)
    maximum = models.FloatField(null=True, blank=True)
    peak = models.FloatField(null=True, blank=True)
    key_slice = models.PositiveIntegerField(default=0, help_text="Axial slice with most area")
    measurements = models.JSONField(default=list, help_text="[{name, value, unit, provenance}]")
    feature_version = models.CharField(max_length=40)
    warnings = models.JSONField(default=list, blank=True)

    objects = ImagingRegionQuerySet.as_manager()

    class Meta:
        ordering = ["series", "id"]

    def __str__(self) -> str:
        return f"{self.name} on series {self.series_id}"


class RecistAssessment(models.Model):
    """One RECIST 1.1 time point of a case: its lesions and, for a follow-up, the response.

    ``lesions`` holds ``{lesion_id, kind, diameter_mm, is_lymph_node, status, organ, region_id}``
    per lesion; the earliest time point of the case is the baseline.
    """

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="recist_assessments")
    date = models.DateField()
    lesions = models.JSONField(default=list)
    sum_of_diameters_mm = models.FloatField(default=0.0)
    baseline_sum_mm = models.FloatField(null=True, blank=True)
    nadir_sum_mm = models.FloatField(null=True, blank=True)
    change_from_baseline_pct = models.FloatField(null=True, blank=True)
    change_from_nadir_pct = models.FloatField(null=True, blank=True)
    target_response = models.CharField(max_length=2, blank=True)
    non_target_response = models.CharField(max_length=16, blank=True)
    overall = models.CharField(max_length=2, blank=True, help_text="Empty for the baseline")
    reasons = models.JSONField(default=list, blank=True)
    timeline_event = models.ForeignKey(
        TimelineEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CaseScopedQuerySet["RecistAssessment"].as_manager()

    class Meta:
        ordering = ["date", "id"]
        constraints = [
            models.UniqueConstraint(fields=["case", "date"], name="recist_one_per_case_date")
        ]

    def __str__(self) -> str:
        return f"RECIST {self.date:%Y-%m-%d} {self.overall or 'baseline'}"

    @property
    def is_baseline(self) -> bool:
        return not self.overall


class PacsConnection(models.Model):
    """A PACS OncoBoard queries and retrieves from, configured by an administrator.

    The password is never stored: only the name of the environment variable that holds it.
    The connection in settings (``PACS_DICOMWEB_URL``) works beside these.
    """

    class Transport(models.TextChoices):
        DICOMWEB = "dicomweb", "DICOMweb (QIDO-RS, WADO-RS, STOW-RS)"
        DIMSE = "dimse", "DIMSE (C-FIND, C-GET or C-MOVE)"

    name = models.CharField(max_length=80, unique=True, help_text="As people choose it")
    transport = models.CharField(max_length=8, choices=Transport.choices)
    url = models.URLField(
        "DICOMweb URL", blank=True, help_text="DICOMweb root, e.g. https://pacs/dicom-web"
    )
    host = models.CharField("DIMSE host", max_length=255, blank=True)
    port = models.PositiveIntegerField(
        "DIMSE port",
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(65535)],
    )
    calling_ae_title = models.CharField(
        "calling AE title", max_length=16, default="ONCOBOARD", help_text="OncoBoard's (DIMSE)"
    )
    called_ae_title = models.CharField(
        "called AE title", max_length=16, blank=True, help_text="The PACS's (DIMSE)"
    )
    move_port = models.PositiveIntegerField(
        "C-MOVE port",
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(65535)],
        help_text="Retrieve with C-MOVE to a temporary SCP of OncoBoard on this port "
        "(DICOM_SCP_HOST, the calling AE title; register it with the PACS); empty: C-GET",
    )
    username = models.CharField(max_length=150, blank=True, help_text="DICOMweb basic auth")
    password_env = models.CharField(
        "password environment variable",
        max_length=64,
        blank=True,
        validators=[
            RegexValidator(
                r"^[A-Z_][A-Z0-9_]*$",
                "The NAME of an environment variable (capitals, digits, _), not a password.",
            )
        ],
        help_text="The name of the environment variable holding the password; the password "
        "itself is never stored here",
    )
    tls = models.BooleanField("DIMSE over TLS", default=False)
    tls_verify = models.BooleanField("verify the TLS certificate", default=True)
    tls_ca_bundle = models.CharField(
        "CA bundle", max_length=255, blank=True, help_text="PEM file of the hospital's CA"
    )
    timeout_seconds = models.PositiveIntegerField(
        default=30, validators=[MinValueValidator(1), MaxValueValidator(600)]
    )
    max_study_mb = models.PositiveIntegerField(default=2048, validators=[MinValueValidator(1)])
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.transport == self.Transport.DICOMWEB and not self.url:
            errors["url"] = "A DICOMweb connection needs its URL."
        if self.transport == self.Transport.DIMSE:
            if not self.host:
                errors["host"] = "A DIMSE connection needs the PACS's host."
            if not self.port:
                errors["port"] = "A DIMSE connection needs the PACS's port."
            if not self.called_ae_title.strip():
                errors["called_ae_title"] = "A DIMSE connection needs the PACS's AE title."
        if bool(self.username) != bool(self.password_env):
            errors["password_env"] = "Set the username and the password variable together."
        if self.tls_ca_bundle and not Path(self.tls_ca_bundle).is_file():
            errors["tls_ca_bundle"] = "No such file on this server."
        if errors:
            raise ValidationError(errors)
