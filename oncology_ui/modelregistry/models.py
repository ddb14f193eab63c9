"""The model registry: every checkpoint the site may use, its state, and who changed it.

Routing reads the ``active`` rows (see :mod:`oncology_ui.modelregistry.selectors`); a state change
is requested by one administrator and approved by a second person with password re-entry
(:mod:`oncology_ui.modelregistry.services`). Shadow rows predict beside the active one and their
output is kept apart, in ``ShadowPrediction``, so no clinician page ever reads it.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import models
from django.utils import timezone

from oncology_ui.core.querysets import CaseScopedQuerySet
from oncology_ui.patients.models import Case


class RegisteredModel(models.Model):
    """One checkpoint at one version, with where it came from and what it may serve."""

    class State(models.TextChoices):
        CANDIDATE = "candidate", "Candidate"
        SHADOW = "shadow", "Shadow"
        ACTIVE = "active", "Active"
        RETIRED = "retired", "Retired"

    name = models.CharField(max_length=100)
    version = models.CharField(max_length=40)
    family = models.CharField(
        max_length=40,
        help_text="portrait, portrait-commercial, pancancer, support, metabric, recalibrated",
    )
    checkpoint = models.CharField(
        max_length=300, help_text="Path of the weights relative to inference/weights"
    )
    sha256 = models.CharField(max_length=64)
    training_data = models.TextField(blank=True)
    licence = models.TextField(blank=True)
    commercial_use = models.BooleanField(default=False)
    validation_summary = models.JSONField(default=dict, blank=True)
    cancer_types = models.JSONField(
        default=list,
        blank=True,
        help_text="OncoTree codes served; empty = any type the checkpoint itself covers",
    )
    inputs = models.JSONField(default=list, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.CANDIDATE)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        help_text="The base model a recalibrated model applies its parameters to",
    )
    recalibration = models.JSONField(null=True, blank=True)
    site_report = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["name", "-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["name", "version"], name="registered_model_name_version"
            )
        ]
        permissions = [
            ("request_state_change", "Can request a state change of a registered model"),
            ("approve_state_change", "Can approve a state change of a registered model"),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.version} ({self.state})"

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}"

    @property
    def base(self) -> RegisteredModel:
        """The row whose network this one runs: itself, or the root of its parents."""
        row, seen = self, {self.pk}
        while row.parent is not None and row.parent.pk not in seen:
            seen.add(row.parent.pk)
            row = row.parent
        return row

    @property
    def kind(self) -> str:
        """How its checkpoint is loaded: ``portrait``, ``fusion``, or '' for an unknown family."""
        from oncology_ui.modelregistry.shipped import FUSION_FAMILIES, PORTRAIT_FAMILIES

        family = self.base.family
        if family in PORTRAIT_FAMILIES:
            return "portrait"
        return "fusion" if family in FUSION_FAMILIES else ""

    @property
    def checkpoint_path(self) -> Path:
        """The weights file, which must lie inside ``inference/weights``.

        Raises:
            ValueError: a path that leaves the weights folder.
        """
        from inference.weights import WEIGHTS_DIR

        path = (WEIGHTS_DIR / self.checkpoint).resolve()
        if not path.is_relative_to(WEIGHTS_DIR):
            raise ValueError(f"checkpoint {self.checkpoint!r} is outside inference/weights")
        return path

    def serves(self, cancer_type: str | None) -> bool:
        """Whether it may serve a case of this OncoTree code (no list: any type it covers)."""
        code = (cancer_type or "").strip().upper()
        return not self.cancer_types or code in self.cancer_types


class ModelStateChange(models.Model):
    """A request to move one model to another state; applied only when a second person approves.

    ``transitions`` lists every row the change moved when it was applied (the model itself and
    any active row it displaced), as ``{"model": id, "from": state, "to": state}``, so a rollback
    can restore all of them. A rollback is itself a change, with ``reverses`` set.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending approval"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        CANCELLED = "cancelled", "Cancelled"

    model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE, related_name="changes")
    from_state = models.CharField(max_length=10, choices=RegisteredModel.State.choices)
    to_state = models.CharField(max_length=10, choices=RegisteredModel.State.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    reason = models.TextField()
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    reverses = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="rollbacks",
        help_text="The applied change this one rolls back",
    )
    transitions = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]

    def __str__(self) -> str:
        return f"{self.model} {self.from_state} → {self.to_state} ({self.status})"

    @property
    def is_rollback(self) -> bool:
        return self.reverses_id is not None


class ShadowPrediction(models.Model):
    """What a shadow model predicted beside the active one; never shown to clinicians."""

    class Status(models.TextChoices):
        OK = "ok", "Prediction"
        ABSTAINED = "abstained", "Abstained"
        FAILED = "failed", "Failed"

    registered_model = models.ForeignKey(
        RegisteredModel, on_delete=models.CASCADE, related_name="shadow_predictions"
    )
    run = models.ForeignKey(
        "analysis.AnalysisRun", on_delete=models.CASCADE, related_name="shadow_predictions"
    )
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="shadow_predictions")
    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=Status.choices)
    abstention_reasons = models.JSONField(default=list, blank=True)
    survival_at = models.JSONField(default=list, blank=True)
    risk_score = models.FloatField(null=True, blank=True)
    curve = models.JSONField(null=True, blank=True)
    median_months = models.FloatField(null=True, blank=True)
    inputs_used = models.JSONField(default=list, blank=True)
    inputs_missing = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)

    objects = CaseScopedQuerySet["ShadowPrediction"].as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["registered_model", "run"], name="shadow_prediction_model_run"
            )
        ]

    def __str__(self) -> str:
        return f"Shadow prediction of {self.registered_model} for run {self.run_id}"
