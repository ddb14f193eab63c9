"""The trial corpus, its imports, stored match rankings and the coordinator's work list.

Trials are public registry records, not patient data: anyone with ``trials.view_trial`` sees
all of them. Everything that names a case (match results, referrals, work-list entries) is
team-scoped through the case's patient, like every other patient-related row.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from oncology_ui.core.ingest import IngestRecord
from oncology_ui.core.models import Job
from oncology_ui.core.querysets import CaseScopedQuerySet
from oncology_ui.patients.models import Case


class TrialCorpusImport(IngestRecord):
    """One import of trial records (command, shipped subset or upload) and what became of it."""

    class Source(models.TextChoices):
        SHIPPED = "shipped", "Shipped oncology subset"
        COMMAND = "command", "Management command"
        UPLOAD = "upload", "Administrator upload"

    class Status(models.TextChoices):
        RECEIVED = IngestRecord.RECEIVED, "Received"
        IMPORTED = "imported", "Imported"
        FAILED = "failed", "Refused (corpus unchanged)"

    status_url_name = "trials-import-detail"
    html_id_prefix = "trial-import"

    source = models.CharField(max_length=10, choices=Source.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    original_name = models.CharField(max_length=200, help_text="As given; shown, never used")
    stored_name = models.CharField(max_length=200, blank=True, help_text="Under MEDIA_ROOT")
    sha256 = models.CharField(max_length=64, blank=True)
    records_read = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    # One {"ref": ..., "reason": ...} per record that could not be read (first 500 kept).
    errors = models.JSONField(default=list, blank=True)
    message = models.CharField(max_length=500, blank=True)
    embeddings = models.CharField(
        max_length=200, blank=True, help_text="How the imported trials got their vectors"
    )
    # Its problems are the records it could not read, in ``errors``.
    problems = None
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Trial import {self.pk} ({self.original_name}, {self.status})"


class Trial(models.Model):
    """One registered trial, updated in place by NCT id when a newer record is imported."""

    nct_id = models.CharField("NCT id", max_length=11, unique=True)
    title = models.CharField(max_length=1000, blank=True)
    summary = models.TextField(blank=True)
    conditions = models.JSONField(default=list, blank=True)
    interventions = models.JSONField(default=list, blank=True)
    intervention_types = models.JSONField(default=list, blank=True)
    keywords = models.JSONField(default=list, blank=True)
    phase = models.CharField(max_length=40, blank=True, db_index=True)
    status = models.CharField(max_length=40, blank=True, db_index=True)
    min_age_years = models.FloatField(null=True, blank=True)
    max_age_years = models.FloatField(null=True, blank=True)
    sex = models.CharField(max_length=10, default="all")
    locations = models.JSONField(default=list, blank=True)
    eligibility_text = models.TextField(blank=True)
    # Parsed atomic criteria (oncology_ui.trials.serialize.criterion_to_json), parsed at import.
    criteria = models.JSONField(default=list, blank=True)
    criteria_total = models.PositiveIntegerField(default=0)
    criteria_unparsed = models.PositiveIntegerField(default=0)
    # Criteria tagger spans by criterion-text digest, filled when a page first needs them
    # (oncology_ui.trials.criterion_tags); display only, never read by the eligibility engine.
    criteria_tags = models.JSONField(default=dict, blank=True, editable=False)
    biomarker_driven = models.BooleanField(default=False, db_index=True)
    biomarkers = models.JSONField(default=list, blank=True)
    source = models.CharField(max_length=40, blank=True)
    content_sha256 = models.CharField(max_length=64)
    engine_version = models.CharField(max_length=20)
    # float16 MiniLM vector (384 x 2 bytes) of the trial's embedding text; empty = BM25 only.
    embedding = models.BinaryField(null=True, blank=True, editable=False)
    corpus_import = models.ForeignKey(
        TrialCorpusImport, null=True, on_delete=models.SET_NULL, related_name="trials"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["nct_id"]
        permissions = [
            ("match_patients", "Can rank the team's patients for a trial"),
        ]

    def __str__(self) -> str:
        return f"{self.nct_id} {self.title[:60]}"


class TrialMatchResult(models.Model):
    """The ranked trials of one case as one job computed them; never recomputed on page load."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="trial_matches")
    job = models.OneToOneField(
        Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="trial_match"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    engine_version = models.CharField(max_length=20, blank=True)
    corpus_version = models.PositiveIntegerField(null=True, blank=True)
    corpus_size = models.PositiveIntegerField(default=0)
    retrieval_mode = models.CharField(max_length=20, blank=True)
    facts_as_of = models.DateField(null=True, blank=True)
    facts_used = models.JSONField(default=list, blank=True)
    facts_missing = models.JSONField(default=list, blank=True)
    # Ranked matches (oncology_ui.trials.serialize.match_to_json); None until the job finishes.
    matches = models.JSONField(null=True, blank=True)
    # NCT IDs of the open trials that were checked and are for other cancers (not matches).
    open_other_cancers = models.JSONField(default=list, blank=True)

    objects = CaseScopedQuerySet["TrialMatchResult"].as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Trial matching {self.pk} of case {self.case_id}"


class ReverseMatchRun(models.Model):
    """A coordinator's ranking of their teams' cases for one trial.

    Stored per requesting user; the page shows only entries whose case the viewer can still see.
    """

    trial = models.ForeignKey(Trial, on_delete=models.CASCADE, related_name="reverse_runs")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    job = models.OneToOneField(
        Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="reverse_match"
    )
    created_at = models.DateTimeField(default=timezone.now)
    engine_version = models.CharField(max_length=20, blank=True)
    cases_considered = models.PositiveIntegerField(default=0)
    matches = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Reverse matching {self.pk} for {self.trial_id}"


class Referral(models.Model):
    """An oncologist's "refer to coordinator" for one case and trial."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="trial_referrals")
    trial = models.ForeignKey(Trial, on_delete=models.PROTECT, related_name="referrals")
    note = models.TextField(blank=True, max_length=2000)
    from_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = CaseScopedQuerySet["Referral"].as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Referral of case {self.case_id} to {self.trial_id}"


class WorkListEntry(models.Model):
    """A case under consideration for a trial, moved through screening with a history."""

    class Status(models.TextChoices):
        FLAGGED = "flagged", "Flagged"
        CONTACTED = "contacted", "Contacted"
        SCREENING = "screening", "Screening"
        ENROLLED = "enrolled", "Enrolled"
        NOT_ELIGIBLE = "not_eligible", "Not eligible"

    # Allowed moves; "not eligible" is reachable from every open state and can be reopened.
    TRANSITIONS: dict[str, tuple[str, ...]] = {
        Status.FLAGGED: (Status.CONTACTED, Status.SCREENING, Status.NOT_ELIGIBLE),
        Status.CONTACTED: (Status.FLAGGED, Status.SCREENING, Status.NOT_ELIGIBLE),
        Status.SCREENING: (Status.CONTACTED, Status.ENROLLED, Status.NOT_ELIGIBLE),
        Status.ENROLLED: (Status.SCREENING,),
        Status.NOT_ELIGIBLE: (Status.FLAGGED,),
    }

    trial = models.ForeignKey(Trial, on_delete=models.PROTECT, related_name="worklist")
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="trial_worklist")
    status = models.CharField(max_length=15, choices=Status.choices, default=Status.FLAGGED)
    reason = models.CharField(max_length=500, blank=True)
    referral = models.ForeignKey(
        Referral, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = CaseScopedQuerySet["WorkListEntry"].as_manager()

    class Meta:
        ordering = ["-updated_at", "-id"]
        permissions = [("export_worklist", "Can export the trial work list")]
        constraints = [
            models.UniqueConstraint(fields=["trial", "case"], name="worklist_once_per_trial_case")
        ]

    def __str__(self) -> str:
        return f"{self.trial_id} / case {self.case_id}: {self.status}"

    def can_move_to(self, status: str) -> bool:
        return status in self.TRANSITIONS.get(self.status, ())

    @property
    def allowed_moves(self) -> list[tuple[str, str]]:
        return [(s, self.Status(s).label) for s in self.TRANSITIONS.get(self.status, ())]

    def clean(self) -> None:
        if self.status == self.Status.NOT_ELIGIBLE and not self.reason.strip():
            raise ValidationError({"reason": "Give the reason the patient is not eligible."})


class WorkListTransition(models.Model):
    """One status move of a work-list entry: who, when, from, to, why."""

    entry = models.ForeignKey(WorkListEntry, on_delete=models.CASCADE, related_name="history")
    from_status = models.CharField(max_length=15, blank=True)
    to_status = models.CharField(max_length=15)
    reason = models.CharField(max_length=500, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status or '-'} -> {self.to_status}"


class SavedSearch(models.Model):
    """A coordinator's named trial search (the query string of the search page)."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="trial_searches"
    )
    name = models.CharField(max_length=100)
    params = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="saved_search_name_per_owner")
        ]

    def __str__(self) -> str:
        return self.name
