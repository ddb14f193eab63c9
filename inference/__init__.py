"""OncoBoard's model side: plain Python and torch, never Django.

Public functions take and return the frozen dataclasses of :mod:`inference.schema`::

    import inference
    model = inference.load_model()               # the default shipped checkpoint
    prediction = inference.predict(case_inputs)  # -> inference.schema.SurvivalPrediction
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from inference.schema import CaseInputs, SurvivalPrediction, TreatmentPlan, TreatmentScenario

if TYPE_CHECKING:
    from inference.predictor import SurvivalPredictor

__all__ = ["load_model", "predict", "predict_treatments"]

_LOCK = threading.Lock()
_CACHE: dict[tuple[str, str], SurvivalPredictor] = {}


def load_model(
    name: str | None = None,
    *,
    checkpoint_path: Path | None = None,
    expected_sha256: str | None = None,
) -> SurvivalPredictor:
    """Load a predictor, cached per process.

    Args:
        name: a shipped checkpoint name (see ``inference.weights.SHIPPED``); default
            ``inference.weights.DEFAULT_MODEL``.
        checkpoint_path: a site-trained checkpoint instead of a shipped one.
        expected_sha256: its digest (recommended; the shipped ones are always pinned).

    Returns:
        The predictor.
    """
    from inference.predictor import SurvivalPredictor
    from inference.weights import DEFAULT_MODEL, SHIPPED

    if checkpoint_path is not None:
        key = (str(checkpoint_path), expected_sha256 or "")
        with _LOCK:
            if key not in _CACHE:
                _CACHE[key] = SurvivalPredictor.from_checkpoint(
                    checkpoint_path, expected_sha256=expected_sha256
                )
            return _CACHE[key]
    chosen = name or DEFAULT_MODEL
    if chosen not in SHIPPED:
        raise KeyError(f"unknown model {chosen!r}; shipped: {', '.join(sorted(SHIPPED))}")
    shipped = SHIPPED[chosen]
    key = (chosen, shipped.sha256)
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = SurvivalPredictor.from_checkpoint(
                shipped.path,
                expected_sha256=shipped.sha256,
                model_card=f"inference/weights/{shipped.card}",
                per_type_path=shipped.per_type_path,
                per_type_sha256=shipped.per_type_sha256 or None,
            )
        return _CACHE[key]


def predict(
    inputs: CaseInputs, *, model: SurvivalPredictor | None = None, explain: bool = True
) -> SurvivalPrediction:
    """Individual survival prediction with uncertainty, abstention and explanations.

    Args:
        inputs: the case.
        model: a predictor from :func:`load_model`; default model when ``None``.
        explain: include the explanation (Shapley, gradients, hallmarks, similar patients).

    Returns:
        The prediction.
    """
    return (model or load_model()).predict(inputs, explain=explain)


def predict_treatments(
    inputs: CaseInputs, plans: list[TreatmentPlan], *, model: SurvivalPredictor | None = None
) -> tuple[TreatmentScenario, ...]:
    """What-if survival curves per treatment plan (for the therapy ranking).

    Args:
        inputs: the case.
        plans: treatment plans to compare.
        model: a predictor with treatment inputs (for example ``load_model("oncoboard-metabric")``).

    Returns:
        One scenario per plan.
    """
    return (model or load_model()).predict_treatments(inputs, plans)
