"""Clinical documents (notes, pathology and radiology reports, letters) and the facts proposed
from their text, which a clinician accepts, edits or rejects.

A proposed fact is never used by anything until it is accepted: only then does it become the
ordinary row (a biomarker, a lab result, a case's staging, a timeline line of therapy) that the
structured importers also create, with "from <document>, accepted by <user>" as its source.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models

from oncology_ui.core.ingest import IngestRecord
from oncology_ui.core.querysets import TeamScopedQuerySet
from oncology_ui.patients.models import Case


class ClinicalDocumentQuerySet(TeamScopedQuerySet["ClinicalDocument"]):
    members_lookup = "case__patient__teams__members"


class ClinicalDocument(IngestRecord):
    """One document's text with who wrote it, when and what it is; its status is the reading's."""

    class Kind(models.TextChoices):
        CLINICAL_NOTE = "clinical_note", "Clinical note"
        PATHOLOGY = "pathology", "Pathology report"
        RADIOLOGY = "radiology", "Radiology report"
        LETTER = "letter", "Letter"

    class Source(models.TextChoices):
        PASTED = "pasted", "Pasted text"
        TEXT_FILE = "text_file", "Text file"
        PDF = "pdf", "PDF (text layer)"
        FHIR = "fhir", "FHIR DocumentReference or DiagnosticReport"

    class Status(models.TextChoices):
        RECEIVED = IngestRecord.RECEIVED, "Received"
        READ = "read", "Read"
        FAILED = "failed", "Failed"

    status_url_name = "notes-document"
    html_id_prefix = "document"
    display_field = "title"
    status_link_text = "document"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    title = models.CharField(max_length=200)
    author = models.CharField(max_length=200, help_text="Who wrote the document")
    document_date = models.DateField("Date of the document")
    source = models.CharField(max_length=10, choices=Source.choices)
    original_name = models.CharField(max_length=200, blank=True, help_text="As uploaded; shown")
    sha256 = models.CharField(max_length=64)
    text = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)

    objects = ClinicalDocumentQuerySet.as_manager()

    class Meta(IngestRecord.Meta):
        ordering = ["-document_date", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.title} ({self.document_date:%Y-%m-%d})"

    @property
    def kind_label(self) -> str:
        return self.get_kind_display()

    @property
    def citation(self) -> str:
        """How an accepted fact names this document: type, title and date."""
        return f"{self.get_kind_display()} “{self.title}” of {self.document_date:%Y-%m-%d}"

    @property
    def outcome_summary(self) -> str:
        if self.status != self.Status.READ:
            return ""
        count = self.proposals.count()
        return f"{count} fact{'' if count == 1 else 's'} proposed for review"

    @property
    def failure_message(self) -> str:
        if self.status != self.Status.FAILED:
            return ""
        first = self.problems[0] if self.problems else None
        return f"The document could not be read: {first['message']}" if first else "Not read."


class ProposedFactQuerySet(TeamScopedQuerySet["ProposedFact"]):
    members_lookup = "case__patient__teams__members"

    def waiting(self) -> ProposedFactQuerySet:
        return self.filter(status=ProposedFact.Status.PROPOSED)


class ProposedFact(models.Model):
    """A fact read from a document: its kind, values, where in the text, and its ConText flags."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", "Waiting for review"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"

    class Kind(models.TextChoices):
        BIOMARKER = "biomarker", "Biomarker"
        TNM = "tnm", "TNM"
        STAGE_GROUP = "stage_group", "Stage group"
        ECOG = "ecog", "ECOG"
        KARNOFSKY = "karnofsky", "Karnofsky"
        LAB = "lab", "Lab value"
        PRIOR_THERAPY = "prior_therapy", "Therapy"
        METASTATIC_SITE = "metastatic_site", "Metastatic site"
        MENOPAUSAL_STATUS = "menopausal_status", "Menopausal status"
        PREGNANCY = "pregnancy", "Pregnancy"
        COMORBIDITY = "comorbidity", "Comorbidity"
        VARIANT = "variant", "Variant"
        DIAGNOSIS = "diagnosis", "Diagnosis"

    FLAG_NAMES: ClassVar[tuple[str, ...]] = ("negated", "historical", "hypothetical", "family")

    document = models.ForeignKey(
        ClinicalDocument, on_delete=models.CASCADE, related_name="proposals"
    )
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    label = models.CharField(max_length=200)
    value = models.JSONField(default=dict)
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    section = models.CharField(max_length=20, blank=True)
    negated = models.BooleanField(default=False)
    historical = models.BooleanField(default=False)
    hypothetical = models.BooleanField(default=False)
    family = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PROPOSED)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    edited = models.BooleanField(default=False, help_text="The reviewer changed the values")
    result_ref = models.CharField(
        max_length=100, blank=True, help_text="The row the accepted fact became, e.g. biomarker:12"
    )

    objects = ProposedFactQuerySet.as_manager()

    class Meta:
        ordering = ["document", "start", "id"]
        indexes = [models.Index(fields=["case", "status"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.label} ({self.status})"

    @property
    def evidence(self) -> str:
        """The words of the document the fact was read from."""
        return self.document.text[self.start : self.end]

    @property
    def context_before(self) -> str:
        return self.document.text[max(0, self.start - 60) : self.start]

    @property
    def context_after(self) -> str:
        return self.document.text[self.end : self.end + 60]

    @property
    def flag_names(self) -> list[str]:
        return [name for name in self.FLAG_NAMES if getattr(self, name)]

    @property
    def is_about_the_patient_now(self) -> bool:
        """Not negated, hypothetical or a family member's: what accepting can record as is."""
        return not (self.negated or self.hypothetical or self.family)
