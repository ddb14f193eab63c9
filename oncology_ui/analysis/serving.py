"""Serving a model registry row: load its checkpoint (hash-checked) and predict on a snapshot.

Routing (:func:`oncology_ui.analysis.services.prognosis_serve`) decides which row serves a case;
this module only knows how each kind of row is loaded and run, and stores what shadow rows
predicted beside the active one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

from django.db import transaction

from inference.schema import SurvivalPrediction
from oncology_ui.analysis.adapters import (
    case_inputs_from_snapshot,
    portrait_from_snapshot,
    prediction_fields,
)
from oncology_ui.core.jobs import JobError, ProgressCallback
from oncology_ui.modelregistry.models import RegisteredModel, ShadowPrediction
from oncology_ui.modelregistry.recalibration import RecalibrationUnavailable, recalibration_apply
from oncology_ui.modelregistry.selectors import registered_models_serving

if TYPE_CHECKING:
    from inference.portrait.predictor import PortraitPredictor
    from inference.predictor import SurvivalPredictor
    from oncology_ui.analysis.models import AnalysisRun

logger = logging.getLogger(__name__)

T = TypeVar("T")
_LOCK = threading.Lock()
_PORTRAITS: dict[tuple[str, str], PortraitPredictor] = {}
#: Why a portrait row passes over a run stored before the snapshot carried a portrait.
NO_PORTRAIT = "the record was analysed before clinical portraits existed; re-run the analysis"
SHADOW_ERROR_LENGTH = 500


class NotServable(Exception):
    """The row cannot serve this snapshot (the next row in routing order is tried)."""


def _load(row: RegisteredModel, loader: Callable[[], T]) -> T:
    try:
        return loader()
    except Exception as exc:
        # A missing or tampered checkpoint: the rest of OncoBoard keeps working.
        logger.error("model %s unavailable: %s", row.label, type(exc).__name__)
        raise JobError(
            "The prognosis model is unavailable (the weights of "
            f"{row.label} could not be verified or loaded). Other features are unaffected; tell "
            "your administrator."
        ) from exc


def _portrait_predictor(base: RegisteredModel) -> PortraitPredictor:
    """The shipped predictors come from their shared cache; others are loaded by path."""
    from inference.portrait.model import (
        COMMERCIAL_PATH,
        COMMERCIAL_SHA256,
        SHIPPED_PATH,
        SHIPPED_SHA256,
        model_from_checkpoint,
    )
    from inference.portrait.predictor import (
        PortraitPredictor,
        load_covariates,
        load_portrait_predictor,
    )

    path = base.checkpoint_path
    if (path, base.sha256) == (SHIPPED_PATH, SHIPPED_SHA256):
        return load_portrait_predictor(commercial_only=False)
    if (path, base.sha256) == (COMMERCIAL_PATH, COMMERCIAL_SHA256):
        return load_portrait_predictor(commercial_only=True)
    key = (str(path), base.sha256)
    with _LOCK:
        if key not in _PORTRAITS:
            _PORTRAITS[key] = PortraitPredictor(
                model_from_checkpoint(path, expected_sha256=base.sha256),
                name=base.name,
                weights_sha256=base.sha256,
                covariates=load_covariates(),
            )
        return _PORTRAITS[key]


def _fusion_predictor(base: RegisteredModel) -> SurvivalPredictor:
    """A shipped checkpoint by its name (with its card and per-type facts), others by path."""
    import inference
    from inference.weights import SHIPPED

    shipped = SHIPPED.get(base.name)
    if shipped is not None and (shipped.path, shipped.sha256) == (
        base.checkpoint_path,
        base.sha256,
    ):
        return inference.load_model(base.name)
    return inference.load_model(checkpoint_path=base.checkpoint_path, expected_sha256=base.sha256)


def registered_model_predict(
    row: RegisteredModel, snapshot: dict[str, Any], progress: ProgressCallback
) -> SurvivalPrediction:
    """Predict with one registry row on a run's snapshot.

    1. The network is the row's own, or for a recalibrated row its parent's (``row.base``),
       loaded from ``inference/weights`` with its registered sha256 checked first.
    2. Portrait rows read the snapshot's clinical portrait; fusion rows (pan-cancer, SUPPORT,
       METABRIC and site-trained ones) the modalities, with their per-type validation attached.
    3. A recalibrated row's parameters are applied to the parent's prediction
       (:func:`oncology_ui.modelregistry.recalibration.recalibration_apply`).

    Raises:
        NotServable: the row cannot read this snapshot (a run from before portraits existed).
        JobError: the weights are unavailable, or the recalibration cannot be applied.
    """
    import inference

    base = row.base
    case_id = str(snapshot["case_id"])
    if row.kind == "portrait":
        portrait = portrait_from_snapshot(snapshot)
        if portrait is None:
            raise NotServable(NO_PORTRAIT)
        progress(10, "Loading the prognosis model")
        predictor = _load(row, lambda: _portrait_predictor(base))
        progress(40, "Running the prognosis model")
        result = predictor.predict(case_id, portrait)
    elif row.kind == "fusion":
        progress(20, f"Loading the {base.family} model")
        model = _load(row, lambda: _fusion_predictor(base))
        progress(40, f"Running the {base.family} model")
        inputs = case_inputs_from_snapshot(snapshot)
        result = inference.predict(inputs, model=model)
        # The model's own test-split figures for this cancer type, where it has them.
        result = replace(result, validation=dict(model.validation_for(inputs) or {}))
    else:
        raise JobError(f"{row.label}: no loader for the model family {base.family!r}.")
    try:
        return recalibration_apply(row, result)
    except RecalibrationUnavailable as exc:
        raise JobError(str(exc)) from exc


def _quiet(percent: int, message: str) -> None:
    """Shadow models report no progress: the job's progress is what clinicians watch."""


def shadow_predictions_run(run: AnalysisRun) -> list[ShadowPrediction]:
    """Every shadow row serving the run's cancer type predicts on the same snapshot.

    Stored apart from the ``Prediction`` (never on a clinician's page); a failure is stored as a
    failed shadow prediction and never fails the analysis. Safe to run twice: a row that already
    predicted for this run is skipped.
    """
    snapshot = run.inputs_snapshot
    cancer_type = (snapshot.get("clinical") or {}).get("cancer_type")
    stored = []
    for row in registered_models_serving(cancer_type, state=RegisteredModel.State.SHADOW):
        if ShadowPrediction.objects.filter(registered_model=row, run=run).exists():
            continue
        fields: dict[str, Any]
        try:
            result = registered_model_predict(row, snapshot, _quiet)
        except NotServable as exc:
            fields = {"status": ShadowPrediction.Status.ABSTAINED, "abstention_reasons": [str(exc)]}
        except Exception as exc:  # a shadow model must never fail the clinician's analysis
            logger.warning("shadow model %s failed on run %s", row.label, run.pk, exc_info=True)
            fields = {
                "status": ShadowPrediction.Status.FAILED,
                "error": f"{type(exc).__name__}: {exc}"[:SHADOW_ERROR_LENGTH],
            }
        else:
            values = prediction_fields(result)
            fields = {
                key: values[key]
                for key in (
                    "status",
                    "abstention_reasons",
                    "survival_at",
                    "risk_score",
                    "curve",
                    "median_months",
                    "inputs_used",
                    "inputs_missing",
                )
            }
        try:
            with transaction.atomic():
                stored.append(
                    ShadowPrediction.objects.create(
                        registered_model=row, run=run, case_id=run.case_id, **fields
                    )
                )
        except Exception:
            logger.warning("shadow prediction of %s not stored", row.label, exc_info=True)
    return stored
