"""Requesting an analysis of a case and running it as a background job."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from inference.schema import SurvivalPrediction
from oncology_ui.analysis.adapters import (
    ADAPTER_VERSION,
    case_snapshot,
    prediction_fields,
    snapshot_hash,
)
from oncology_ui.analysis.models import AnalysisRun, Prediction
from oncology_ui.analysis.serving import (
    NO_PORTRAIT,
    NotServable,
    registered_model_predict,
    shadow_predictions_run,
)
from oncology_ui.core.jobs import JobError, ProgressCallback, job_enqueue
from oncology_ui.core.models import Job
from oncology_ui.modelregistry.models import RegisteredModel
from oncology_ui.modelregistry.selectors import registered_models_serving
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


@dataclass(frozen=True)
class ServedPrediction:
    """A prognosis and the registry row that produced it."""

    prediction: SurvivalPrediction
    registered_model: RegisteredModel


#: How the pan-cancer model's inputs read beside the portrait's (kept as the page has said it).
_PANCANCER_READS = (
    "the pan-cancer model, which reads age, sex, cancer type, omics and images, not stage, "
    "grade, nodes, performance status or labs"
)


def _not_portrait_reason(cancer_type: str | None, tried: list[RegisteredModel]) -> str:
    """Why no portrait row served: the registry's portrait rows and the code, in words."""
    from inference.portrait.routing import PORTRAIT_TYPE_OF, route

    portraits = [
        row
        for row in RegisteredModel.objects.filter(state=RegisteredModel.State.ACTIVE)
        if row.kind == "portrait"
    ]
    if any(row in tried for row in portraits):
        return NO_PORTRAIT
    if not portraits:
        return "no portrait model is active in the model registry"
    covered = {
        PORTRAIT_TYPE_OF[c] for row in portraits for c in row.cancer_types if c in PORTRAIT_TYPE_OF
    }
    reason = route(cancer_type, covered).reason
    return reason or f"the model committee chose another model for OncoTree {cancer_type}"


def prognosis_serve(snapshot: dict[str, Any], progress: ProgressCallback) -> ServedPrediction:
    """Route the case to the active registry row that serves its cancer type, and predict.

    1. The active rows serving the case's OncoTree code, most specific first (rows that list
       the code, then rows for any type: see ``registered_models_serving``).
    2. The first row that can read the snapshot predicts (a portrait row passes over a run
       stored before portraits existed).
    3. A row other than a portrait model says why the portrait model was not used.

    Raises:
        JobError: no active row serves the type, or its weights cannot be verified and loaded.
    """
    cancer_type = (snapshot.get("clinical") or {}).get("cancer_type")
    rows = registered_models_serving(cancer_type)
    tried: list[RegisteredModel] = []
    for row in rows:
        try:
            result = registered_model_predict(row, snapshot, progress)
        except NotServable:
            tried.append(row)
            continue
        if row.kind != "portrait":
            reads = (
                _PANCANCER_READS
                if row.base.family == "pancancer"
                else f"{row.label}, which reads {', '.join(row.inputs) or 'its own inputs'}"
            )
            facts = dict(result.validation or {})
            facts["portrait_not_used"] = (
                f"Portrait prognosis not available: {_not_portrait_reason(cancer_type, tried)}. "
                f"Shown instead: {reads}."
            )
            result = replace(result, validation=facts)
        return ServedPrediction(result, row)
    code = f"OncoTree {cancer_type}" if cancer_type else "a case without a cancer type"
    raise JobError(
        f"No active model in the model registry serves {code}; no prognosis was made. "
        "The model committee can activate one."
    )


def prognosis_predict(snapshot: dict[str, Any], progress: ProgressCallback) -> SurvivalPrediction:
    """The prognosis of :func:`prognosis_serve`, without its registry row."""
    return prognosis_serve(snapshot, progress).prediction


def analysis_run(job: Job, progress: ProgressCallback) -> dict[str, object]:
    """Run the active model on the run's snapshot and store one ``Prediction``; then the shadow
    models, apart. A rerun adds no second prediction and only the shadow rows still missing."""
    run = AnalysisRun.objects.select_related("case").get(pk=job.target_id)
    prediction = Prediction.objects.filter(run=run).first()
    if prediction is None:
        served = prognosis_serve(run.inputs_snapshot, progress)
        progress(90, "Saving the prediction")
        prediction = Prediction.objects.create(
            run=run,
            case=run.case,
            registered_model=served.registered_model,
            **prediction_fields(served.prediction),
        )
    shadow_predictions_run(run)
    return {"prediction": prediction.pk}


def prediction_latest(case: Case) -> Prediction | None:
    return Prediction.objects.filter(case=case).order_by("-created_at", "-id").first()
