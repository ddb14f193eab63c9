"""Analysis runs of the multimodal model and the predictions they stored.

A prediction is never recomputed silently: each run snapshots the inputs (and their hash) and
stores its own ``Prediction`` row, so the screen and the PDF show exactly what was computed,
and two runs can be compared.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from oncology_ui.core.models import Job
from oncology_ui.core.querysets import CaseScopedQuerySet
from oncology_ui.patients.models import Case


class AnalysisRun(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="analysis_runs")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    inputs_snapshot = models.JSONField()
    inputs_hash = models.CharField(max_length=64)
    adapter_version = models.CharField(max_length=20)
    job = models.OneToOneField(
        Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="analysis_run"
    )

    objects = CaseScopedQuerySet["AnalysisRun"].as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Analysis {self.pk} of case {self.case_id}"


class Prediction(models.Model):
    """Everything the prognosis section and the PDF need, as the model returned it."""

    class Status(models.TextChoices):
        OK = "ok", "Prediction"
        ABSTAINED = "abstained", "Abstained"

    run = models.OneToOneField(AnalysisRun, on_delete=models.CASCADE, related_name="prediction")
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="predictions")
    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=Status.choices)
    abstention_reasons = models.JSONField(default=list)
    model_name = models.CharField(max_length=100)
    model_version = models.CharField(max_length=40)
    weights_sha256 = models.CharField(max_length=64)
    model_card = models.CharField(max_length=200)
    trained_modalities = models.JSONField(default=list)
    untrained_modalities = models.JSONField(default=list)
    curve = models.JSONField(help_text="times_months, survival, lower, upper")
    median_months = models.FloatField(null=True, blank=True)
    survival_at = models.JSONField(default=list, help_text="1/3/5-year survival with band")
    risk_score = models.FloatField()
    time_interval = models.JSONField(null=True, blank=True)
    inputs_used = models.JSONField(default=list)
    inputs_missing = models.JSONField(default=list)
    inputs_ignored = models.JSONField(default=list)
    explanation = models.JSONField(null=True, blank=True)
    # Portrait models: the clinical fields used, those the type's cohorts had but the case lacks,
    # the curve's time zero and the test-split validation of the case's cancer type.
    covariates_used = models.JSONField(default=list, blank=True)
    covariates_missing = models.JSONField(default=list, blank=True)
    time_zero = models.CharField(max_length=20, blank=True)
    validation = models.JSONField(null=True, blank=True)
    # The registry row that served the case (null for predictions from before the registry).
    registered_model = models.ForeignKey(
        "modelregistry.RegisteredModel",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="predictions",
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Prediction {self.pk} ({self.model_name} {self.model_version})"

    @property
    def image_derived(self) -> bool:
        """Slide or imaging inputs shaped this prediction: research use only."""
        return bool({"slide", "imaging"} & set(self.inputs_used))
