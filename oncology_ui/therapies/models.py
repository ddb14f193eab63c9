"""The therapy knowledge base (versioned tables) and the rankings and decisions of a case.

A ranking is stored whole, as the JSON that was shown, with the knowledge-base and model
versions, so the board record and the printed report show exactly what the clinician saw.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from oncology_ui.core.querysets import CaseScopedQuerySet
from oncology_ui.patients.models import Case


class KnowledgeBase(models.Model):
    """One loaded version of the shipped files; exactly one is active at a time."""

    version = models.CharField(max_length=40, unique=True, help_text="date + content hash")
    content_sha256 = models.CharField(max_length=64)
    file_versions = models.JSONField(default=dict, help_text="file -> its version or sha256")
    counts = models.JSONField(default=dict)
    is_active = models.BooleanField(default=False)
    loaded_at = models.DateTimeField(default=timezone.now)
    max_lab_age_days = models.PositiveSmallIntegerField(default=30)

    class Meta:
        ordering = ["-loaded_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"], condition=Q(is_active=True), name="one_active_therapy_kb"
            )
        ]

    def __str__(self) -> str:
        return f"Therapy knowledge base {self.version}{' (active)' if self.is_active else ''}"


class KbEntry(models.Model):
    """One row of the knowledge base: a drug, disease mapping, evidence item or rule.

    ``payload`` holds the entry's fields as the engine's dataclass has them; the indexed
    columns are what lookups and the admin need.
    """

    class Kind(models.TextChoices):
        DRUG = "drug", "Drug"
        REGIMEN = "regimen", "Regimen"
        DISEASE = "disease", "Disease mapping"
        EVIDENCE = "evidence", "Evidence item"
        STANDARD = "standard", "Standard-of-care rule"
        RESISTANCE = "resistance", "Resistance rule"
        SAFETY = "safety", "Safety rule"

    kb = models.ForeignKey(KnowledgeBase, on_delete=models.CASCADE, related_name="entries")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    key = models.CharField(max_length=200, help_text="name, evidence id or rule id")
    gene = models.CharField(max_length=40, blank=True, db_index=True)
    source_file = models.CharField(max_length=60)
    source_line = models.PositiveIntegerField(default=0)
    payload = models.JSONField()

    class Meta:
        ordering = ["kb", "kind", "id"]
        indexes = [models.Index(fields=["kb", "kind"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"


class TherapyRanking(models.Model):
    """The ranked options computed for a case at one moment, exactly as shown."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="therapy_rankings")
    kb = models.ForeignKey(KnowledgeBase, on_delete=models.PROTECT, related_name="rankings")
    kb_version = models.CharField(max_length=40)
    model_version = models.CharField(max_length=120, blank=True)
    prediction = models.ForeignKey(
        "analysis.Prediction",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="therapy_rankings",
    )
    result = models.JSONField(help_text="the ranking as shown: options, evidence, safety, benefit")
    inputs_hash = models.CharField(max_length=64)
    elapsed_ms = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = CaseScopedQuerySet["TherapyRanking"].as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Therapy ranking {self.pk} of case {self.case_id}"

    @property
    def option_labels(self) -> list[str]:
        return [item["option"]["label"] for item in self.result.get("options", [])]


class TherapyDecision(models.Model):
    """A clinician's accept or reject of one ranked option, with the reason, for the record."""

    class Verdict(models.TextChoices):
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"

    ranking = models.ForeignKey(TherapyRanking, on_delete=models.CASCADE, related_name="decisions")
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="therapy_decisions")
    option_key = models.CharField(max_length=300)
    option_label = models.CharField(max_length=300)
    option_rank = models.PositiveSmallIntegerField()
    verdict = models.CharField(max_length=10, choices=Verdict.choices)
    reason = models.TextField(max_length=2000)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(default=timezone.now)

    objects = CaseScopedQuerySet["TherapyDecision"].as_manager()

    class Meta:
        ordering = ["-decided_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_verdict_display()} {self.option_label} (ranking {self.ranking_id})"
