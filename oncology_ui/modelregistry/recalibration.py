"""The one place a recalibrated registry row's parameters meet its parent's prediction.

A recalibrated row (``parent`` set, ``recalibration`` JSON) runs its parent's network and then
maps the parent's curve with the site's parameters. The mapping is
``inference.survival.recalibration`` (``Recalibration.from_json`` and ``recalibrate_prediction``);
where that module or the row's method is missing, the row cannot be served, and both the approval
of its activation and a prediction with it stop with a message that says so.
"""

from __future__ import annotations

import importlib
from dataclasses import replace
from typing import Any

from inference.schema import SurvivalPrediction
from oncology_ui.modelregistry.models import RegisteredModel

RECALIBRATION_MODULE = "inference.survival.recalibration"


class RecalibrationUnavailable(Exception):
    """The row carries recalibration parameters this installation cannot apply."""


def _recalibration_parameters(row: RegisteredModel) -> Any:
    """The row's parameters as the recalibration module reads them (checked, not applied)."""
    try:
        module = importlib.import_module(RECALIBRATION_MODULE)
        reader = module.Recalibration.from_json
        module.recalibrate_prediction  # noqa: B018  (its absence is the error below)
    except (ImportError, AttributeError) as exc:
        raise RecalibrationUnavailable(
            f"{row.label} is a recalibration of {row.parent.label if row.parent else 'a model'}, "
            "and this installation has no recalibration code to apply it with."
        ) from exc
    try:
        return reader(row.recalibration or {})
    except (KeyError, TypeError, ValueError) as exc:
        raise RecalibrationUnavailable(
            f"The recalibration parameters of {row.label} cannot be read: {exc}"
        ) from exc


def recalibration_check(row: RegisteredModel) -> None:
    """Raise :class:`RecalibrationUnavailable` when a row's recalibration cannot be applied."""
    if row.recalibration is not None:
        _recalibration_parameters(row)


def recalibration_apply(row: RegisteredModel, prediction: SurvivalPrediction) -> SurvivalPrediction:
    """The parent's ``prediction`` recalibrated with ``row``'s parameters, named as ``row``.

    A row without recalibration parameters returns the prediction unchanged.
    """
    if row.recalibration is None:
        return prediction
    # ---- RECALIBRATION IS APPLIED HERE (parameters: row.recalibration) ----
    parameters = _recalibration_parameters(row)
    module = importlib.import_module(RECALIBRATION_MODULE)
    recalibrated: SurvivalPrediction = module.recalibrate_prediction(
        prediction, parameters, label=row.label
    )
    # The network (and its weights digest) is the parent's; the name and version are the row's.
    model = replace(recalibrated.model, name=row.name, version=row.version)
    return replace(recalibrated, model=model)
