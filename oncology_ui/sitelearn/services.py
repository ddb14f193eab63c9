"""Recalibrating an active model on the site's outcomes, as a background job.

1. :func:`recalibration_request` (a committee member) queues the job on the active registry row.
2. :func:`recalibration_run` scores every site case with a recorded outcome through the
   registry's own serving path (``registered_model_predict``, as a clinician's analysis would),
   splits the cases by diagnosis date, fits the site baseline and slope on the older part
   (:mod:`inference.training.recalibrate`), and reports the active model and the recalibrated one
   side by side on the newer part: C, calibration-in-the-large and slope, observed vs predicted at
   the horizons, interval coverage, per subgroup.
3. The result is a *candidate* registry row (parent = the active row, its parameters and site
   report stored on it). It serves nobody until the committee moves it through shadow to active
   with the registry's two-person approval.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import timedelta
from typing import Any

import numpy as np
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from oncology_ui.analysis.adapters import case_snapshot
from oncology_ui.analysis.serving import registered_model_predict
from oncology_ui.core.audit import audit_record
from oncology_ui.core.jobs import JobError, PermanentJobError, ProgressCallback, job_enqueue
from oncology_ui.core.models import AccessLog, Job
from oncology_ui.modelregistry.models import RegisteredModel
from oncology_ui.modelregistry.services import registered_model_create_candidate
from oncology_ui.patients.models import Case
from oncology_ui.sitelearn.export import DAYS_PER_MONTH, SiteCase, site_outcome_cases

logger = logging.getLogger(__name__)

RECALIBRATION_JOB = "model_recalibration"
PERMISSION = "modelregistry.request_state_change"
DEFAULT_HORIZON_MONTHS = 36.0


def _quiet(percent: int, message: str) -> None:
    """Progress of one case's prediction: the job reports its own progress per batch."""


@transaction.atomic
def recalibration_request(
    *, model: RegisteredModel, user: User, request: HttpRequest | None = None
) -> Job:
    """Queue the recalibration of an active registry row on the site's outcomes.

    Raises:
        PermissionDenied: the user may not request model changes.
        ValidationError: the row is not active, or is itself a recalibration.
    """
    if not user.has_perm(PERMISSION):
        raise PermissionDenied("Only the model committee can start a recalibration.")
    if model.state != RegisteredModel.State.ACTIVE:
        raise ValidationError(
            f"{model.label} is {model.state}: only an active model is recalibrated."
        )
    if model.parent_id is not None:
        raise ValidationError(
            f"{model.label} is already a recalibration; recalibrate the model it is based on."
        )
    job = job_enqueue(
        kind=RECALIBRATION_JOB, target=model, user=user, message="Recalibration queued"
    )
    audit_record(
        request=request, action=AccessLog.Action.CREATE, category="model-recalibration",
        object_ref=f"job:{job.pk}",
    )  # fmt: skip
    return job


def _site_cases(model: RegisteredModel) -> list[SiteCase]:
    cases = Case.objects.filter(patient__is_demo=False)
    if model.cancer_types:
        cases = cases.filter(oncotree_code__in=model.cancer_types)
    return site_outcome_cases(cases)


def _groups(site: list[SiteCase]) -> dict[str, np.ndarray]:
    def band(age: int) -> str:
        return "90+" if age >= 90 else f"{(age // 10) * 10}-{(age // 10) * 10 + 9}"

    teams = {s.case.pk: sorted(t.name for t in s.case.patient.teams.all()) for s in site}
    return {
        "cancer type": np.array([s.case.oncotree_code.upper() for s in site]),
        "stage group": np.array([s.case.stage_group or "unstaged" for s in site]),
        "age band": np.array([band(s.case.age_at_diagnosis) for s in site]),
        "sex": np.array([s.case.patient.sex or "unknown" for s in site]),
        "care team": np.array([", ".join(teams[s.case.pk]) or "none" for s in site]),
    }


def site_predictions(
    model: RegisteredModel, site: list[SiteCase], progress: ProgressCallback
) -> list[Any]:
    """The row's prediction for every site case, through the registry's serving path."""
    predictions = []
    for i, item in enumerate(site):
        if i % 50 == 0:
            progress(
                5 + int(70 * i / max(len(site), 1)), f"Scoring site case {i + 1} of {len(site)}"
            )
        predictions.append(registered_model_predict(model, case_snapshot(item.case), _quiet))
    return predictions


def _horizon(predictions: list[Any]) -> float:
    horizons = Counter(
        float(p.validation["horizon_months"])
        for p in predictions
        if p.status == "ok" and p.validation and p.validation.get("horizon_months")
    )
    return horizons.most_common(1)[0][0] if horizons else DEFAULT_HORIZON_MONTHS


def recalibration_fit(
    model: RegisteredModel, site: list[SiteCase], progress: ProgressCallback
) -> dict[str, Any]:
    """Score, split by date, fit and report (no database writes).

    Raises:
        PermanentJobError: too few site cases or events, or a model that does not rank them.
    """
    from inference.survival.recalibration import recalibrate_prediction
    from inference.training.recalibrate import recalibration_from_predictions

    predictions = site_predictions(model, site, progress)
    progress(80, "Fitting the site baseline and slope on the older cases")
    horizon = _horizon(predictions)
    first = min(s.case.diagnosis_date for s in site)
    try:
        result = recalibration_from_predictions(
            predictions,
            np.array([s.days / DAYS_PER_MONTH for s in site]),
            np.array([1.0 if s.died else 0.0 for s in site]),
            np.array([(s.case.diagnosis_date - first).days for s in site], dtype=np.float64),
            horizon=horizon,
            recalibrate=recalibrate_prediction,
            groups=_groups(site),
        )
    except ValueError as exc:
        raise PermanentJobError(f"No recalibration: {exc}.") from None
    result["split"]["cut_date"] = str(first + timedelta(days=int(result["split"]["cut_day"])))
    return result


def recalibration_run(job: Job, progress: ProgressCallback) -> dict[str, object]:
    """Fit on the site's outcomes and register the candidate (a rerun registers nothing new)."""
    if isinstance(job.result, dict) and job.result.get("candidate"):
        return dict(job.result)
    model = RegisteredModel.objects.select_related("parent").get(pk=job.target_id)
    site = _site_cases(model)
    if len(site) < 20:
        raise PermanentJobError(
            f"Only {len(site)} site cases of this model's types have a recorded outcome; "
            "a recalibration needs at least 20."
        )
    result = recalibration_fit(model, site, progress)
    progress(95, "Registering the candidate")
    report = dict(result["report"])
    report["split"] = result["split"]
    stamp = timezone.now()
    try:
        candidate = registered_model_create_candidate(
            name=f"{model.name}-site",
            version=f"{stamp:%Y%m%d}-{job.pk}",
            family="recalibrated",
            checkpoint=model.checkpoint,
            sha256=model.sha256,
            created_by=job.created_by,
            training_data=(
                f"{model.training_data}; recalibrated on {result['split']['older']} site cases "
                f"diagnosed before {result['split']['cut_date']}"
            ),
            licence=model.licence,
            commercial_use=model.commercial_use,
            validation_summary=model.validation_summary,
            cancer_types=model.cancer_types,
            inputs=model.inputs,
            parent=model,
            recalibration=result["parameters"],
            site_report=report,
            notes=(
                "Site recalibration (baseline hazard and slope) of "
                f"{model.label}; evaluated on {result['split']['newer']} newer site cases."
            ),
        )
    except ValidationError as exc:
        raise JobError("; ".join(exc.messages)) from None
    return {"candidate": candidate.pk, "split": result["split"]}
