"""Requesting an analysis of a case and running it as a background job."""

from __future__ import annotations

import logging

from django.contrib.auth.models import User
from django.db import transaction

from oncology_ui.analysis.adapters import (
    ADAPTER_VERSION,
    case_inputs_from_snapshot,
    case_snapshot,
    prediction_fields,
    snapshot_hash,
)
from oncology_ui.analysis.models import AnalysisRun, Prediction
from oncology_ui.core.jobs import JobError, ProgressCallback, job_enqueue
from oncology_ui.core.models import Job
from oncology_ui.patients.models import Case

logger = logging.getLogger(__name__)

ANALYSIS_JOB = "case_analysis"


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


def analysis_run(job: Job, progress: ProgressCallback) -> dict[str, object]:
    """Run the model on the run's snapshot and store one ``Prediction``; a rerun adds nothing."""
    import inference

    run = AnalysisRun.objects.select_related("case").get(pk=job.target_id)
    existing = Prediction.objects.filter(run=run).first()
    if existing is not None:
        return {"prediction": existing.pk}
    progress(10, "Loading the model")
    try:
        model = inference.load_model()
    except Exception as exc:
        # A missing or tampered checkpoint: the rest of OncoBoard keeps working.
        logger.error("model unavailable: %s: %s", type(exc).__name__, exc)
        raise JobError(
            "The prognosis model is unavailable (its weights could not be verified or loaded). "
            "Other features are unaffected; tell your administrator."
        ) from exc
    progress(40, "Running the model")
    result = inference.predict(case_inputs_from_snapshot(run.inputs_snapshot), model=model)
    progress(90, "Saving the prediction")
    prediction = Prediction.objects.create(run=run, case=run.case, **prediction_fields(result))
    return {"prediction": prediction.pk}


def prediction_latest(case: Case) -> Prediction | None:
    return Prediction.objects.filter(case=case).order_by("-created_at", "-id").first()
