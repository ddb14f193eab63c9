"""Generative profiles of a case and the in-silico experiments run on them.

Like a ``Prediction``, a profile is never recomputed silently: each request snapshots what the
record held (the observation given to the model) and stores its own row, with the model version,
the weights' sha256, the seed and the number of samples, so the page and the PDF show exactly
what was computed. A request for a cancer type the model was not trained on is kept too, as a
refusal with the model's reason.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from oncology_ui.core.models import Job
from oncology_ui.core.querysets import CaseScopedQuerySet
from oncology_ui.patients.models import Case


class Status(models.TextChoices):
    PENDING = "pending", "Pending"
    OK = "ok", "Computed"
    REFUSED = "refused", "Refused"


class _GenerativeRun(models.Model):
    """Who asked and when, and what the model answered with: its version, weights, seed, samples."""

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    refusal = models.CharField(max_length=500, blank=True)
    model_version = models.CharField(max_length=80, blank=True)
    weights_sha256 = models.CharField(max_length=64, blank=True)
    seed = models.IntegerField(default=0)
    n_samples = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]


class GenerativeProfile(_GenerativeRun):
    """What the generative model made of one case: measured vs imputed, with intervals."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="generative_profiles")
    job = models.OneToOneField(
        Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="generative_profile"
    )
    observation = models.JSONField(help_text="What the record held, as given to the model")
    measured = models.JSONField(default=list, blank=True)
    imputed = models.JSONField(default=list, blank=True)
    #: modality -> {"measured": n features given, "imputed": n features filled in}
    feature_counts = models.JSONField(default=dict, blank=True)
    #: The imputed hallmark profile (inference.hallmarks.profile.HallmarkProfile as JSON).
    hallmarks = models.JSONField(null=True, blank=True)
    next_tests = models.JSONField(null=True, blank=True)
    prognosis = models.JSONField(null=True, blank=True)
    validation = models.JSONField(default=dict, blank=True)

    objects = CaseScopedQuerySet["GenerativeProfile"].as_manager()

    def __str__(self) -> str:
        return f"Generative profile {self.pk} of case {self.case_id} ({self.status})"


class InSilicoExperiment(_GenerativeRun):
    """One "what if" question put to the generative model, and its hypothesis."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="insilico_experiments")
    job = models.OneToOneField(
        Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="insilico_experiment"
    )
    observation = models.JSONField()
    change = models.JSONField(help_text="modality, feature, value, description")
    result = models.JSONField(null=True, blank=True)

    objects = CaseScopedQuerySet["InSilicoExperiment"].as_manager()

    def __str__(self) -> str:
        return f"In-silico experiment {self.pk} of case {self.case_id} ({self.status})"
