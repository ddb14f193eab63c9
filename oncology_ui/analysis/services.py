"""Requesting an analysis of a case and running it as a background job."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction

from inference.schema import SurvivalPrediction
from oncology_ui.analysis.adapters import (
    ADAPTER_VERSION,
    case_inputs_from_snapshot,
    case_snapshot,
    portrait_from_snapshot,
    prediction_fields,
    snapshot_hash,
)
from oncology_ui.analysis.models import AnalysisRun, Prediction
from oncology_ui.core.jobs import JobError, ProgressCallback, job_enqueue
from oncology_ui.core.models import Job
from oncology_ui.patients.models import Case

logger = logging.getLogger(__name__)

ANALYSIS_JOB = "case_analysis"
T = TypeVar("T")


@transaction.atomic
def analysis_request(*, case: Case, user: User) -> AnalysisRun:
    """Snapshot the case's inputs and queue the model run.

    1. Build the JSON snapshot of what the model may use and hash it.
    2. Store the run and its job; the job is dispatched after the commit.
    """
    snapshot = case_snapshot(case)
    run = AnalysisRun.objects.create(
        case=case,
        requested_by=user,
        inputs_snapshot=snapshot,
        inputs_hash=snapshot_hash(snapshot),
        adapter_version=ADAPTER_VERSION,
    )
    run.job = job_enqueue(kind=ANALYSIS_JOB, target=run, user=user, message="Analysis queued")
    run.save(update_fields=["job"])
    return run


def _portrait_checkpoint_commercial() -> bool:
    return bool(settings.PROGNOSIS_PORTRAIT_CHECKPOINT == "commercial")


def _load(loader: Callable[[], T]) -> T:
    try:
        return loader()
    except Exception as exc:
        # A missing or tampered checkpoint: the rest of OncoBoard keeps working.
        logger.error("model unavailable: %s", type(exc).__name__)
        raise JobError(
            "The prognosis model is unavailable (its weights could not be verified or loaded). "
            "Other features are unaffected; tell your administrator."
        ) from exc


def prognosis_predict(snapshot: dict[str, Any], progress: ProgressCallback) -> SurvivalPrediction:
    """Route the case to the model validated for its cancer type and predict.

    1. The portrait model, when it has a validated model for the case's OncoTree type: it reads
       stage, grade, nodes, ECOG, receptors and labs.
    2. Otherwise the pan-cancer model (age, sex, cancer type, omics and images), which abstains
       on its own for types outside its cohorts; the portrait model's reason is kept with it.
    """
    import inference
    from inference.portrait.predictor import load_portrait_predictor
    from inference.portrait.routing import route

    case_id = str(snapshot["case_id"])
    portrait = portrait_from_snapshot(snapshot)
    reason = "the record was analysed before clinical portraits existed; re-run the analysis"
    if portrait is not None:
        progress(10, "Loading the prognosis model")
        commercial = _portrait_checkpoint_commercial()
        predictor = _load(lambda: load_portrait_predictor(commercial_only=commercial))
        where = route(portrait.cancer_type, predictor.covered)
        if where.cancer_type is not None:
            progress(40, "Running the prognosis model")
            return predictor.predict(case_id, portrait)
        reason = where.reason
    progress(20, "Loading the pan-cancer model")
    model = _load(inference.load_model)
    progress(40, "Running the pan-cancer model")
    inputs = case_inputs_from_snapshot(snapshot)
    result = inference.predict(inputs, model=model)
    # The pan-cancer model's own test-split figures for this cancer type, where it has them.
    facts: dict[str, Any] = dict(model.validation_for(inputs) or {})
    facts["portrait_not_used"] = (
        f"Portrait prognosis not available: {reason}. Shown instead: the pan-cancer model, which "
        "reads age, sex, cancer type, omics and images, not stage, grade, nodes, performance "
        "status or labs."
    )
    return replace(result, validation=facts)


def analysis_run(job: Job, progress: ProgressCallback) -> dict[str, object]:
    """Run the model on the run's snapshot and store one ``Prediction``; a rerun adds nothing."""
    run = AnalysisRun.objects.select_related("case").get(pk=job.target_id)
    existing = Prediction.objects.filter(run=run).first()
    if existing is not None:
        return {"prediction": existing.pk}
    result = prognosis_predict(run.inputs_snapshot, progress)
    progress(90, "Saving the prediction")
    prediction = Prediction.objects.create(run=run, case=run.case, **prediction_fields(result))
    return {"prediction": prediction.pk}


def prediction_latest(case: Case) -> Prediction | None:
    return Prediction.objects.filter(case=case).order_by("-created_at", "-id").first()
