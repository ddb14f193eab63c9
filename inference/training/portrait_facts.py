"""The per-cancer-type facts stored in a portrait checkpoint for the page (issue #16).

Every figure comes from the test parts as benchmark Q8 computes it (:func:`portrait_eval.per_type`),
except the conformal correction, which is calibrated on the validation parts. Time zero and
endpoint are those of the type's reference cohort, whose baseline the page's curve uses.

Conformal scores are computed per case on its own cohort's curve (cohorts of one type differ in
endpoint and follow-up) and weighted by the inverse probability of remaining uncensored, from the
censoring distribution of the case's own cohort (training rows), as ``inference.survival.conformal``
does for one cohort.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from inference.portrait.model import PortraitModel
from inference.portrait.uncertainty import NOMINAL, TypeConformal, calibrate_type
from inference.survival import conformal
from inference.training.portrait_cohorts import COHORTS
from inference.training.portrait_eval import ours, per_type

logger = logging.getLogger(__name__)
FloatArray = npt.NDArray[np.float64]


def event_scores(
    model: PortraitModel, rows: pd.DataFrame, train: pd.DataFrame, nominal: float
) -> tuple[FloatArray, FloatArray]:
    """Conformity scores and IPCW weights of the events among ``rows`` (one cancer type).

    Args:
        model: the portrait model.
        rows: validation or test rows of one type.
        train: that type's training rows (censoring distribution per cohort).
        nominal: coverage the model interval is read at.

    Returns:
        (scores, weights), each (E,) over the events of ``rows``.
    """
    _, curves = ours(model, rows)  # (N, G), each row on its own cohort's baseline
    grid = np.asarray(model.bundle.grid_months)
    intervals = conformal.model_intervals(grid, curves, 1.0 - nominal)  # (N, 2)
    times, events = rows["time_months"].to_numpy(), rows["event"].to_numpy()
    scores, weights = [], []
    for cohort, idx in rows.groupby("cohort").groups.items():
        part = rows.index.get_indexer(idx)
        part = part[events[part] > 0]
        fit = train[train["cohort"] == cohort]
        scores.append(conformal.conformity_scores(times[part], intervals[part]))
        weights.append(
            conformal.ipcw_weights(
                fit["time_months"].to_numpy(), fit["event"].to_numpy(), times[part]
            )
        )
    return np.concatenate(scores), np.concatenate(weights)


def conformal_per_type(
    model: PortraitModel, frame: pd.DataFrame, nominal: float = NOMINAL
) -> dict[str, TypeConformal]:
    """Calibrate each type on its validation events and check it on its test events."""
    out = {}
    for cancer_type in sorted(frame["cancer_type"].unique()):
        of_type = frame[frame["cancer_type"] == cancer_type]
        train = of_type[of_type["split"] == "train"]
        val = of_type[of_type["split"] == "val"].reset_index(drop=True)
        test = of_type[of_type["split"] == "test"].reset_index(drop=True)
        result = calibrate_type(
            *event_scores(model, val, train, nominal),
            *event_scores(model, test, train, nominal),
            nominal=nominal,
        )
        out[str(cancer_type)] = result
        logger.info("conformal %s: %s", cancer_type, result)
    return out


def _finite(value: float) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def validation_facts(model: PortraitModel, frame: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """JSON-able facts per covered type: test figures, time zero, endpoint, conformal status.

    Args:
        model: the trained model (with its reference cohorts).
        frame: all rows with their ``split``.

    Returns:
        cancer type -> facts (the keys are listed on ``PortraitBundle.validation``).
    """
    rows = per_type(model, frame, with_rsf=False)
    intervals = conformal_per_type(model, frame)
    facts: dict[str, dict[str, Any]] = {}
    for cancer_type, row in rows.items():
        reference = model.bundle.reference_cohort[cancer_type]
        outcome = COHORTS[reference].spec.outcome
        cohorts = sorted(set(frame.loc[frame["cancer_type"] == cancer_type, "cohort"]))
        harrell_c = float(row["ours"]["c_index"])
        facts[cancer_type] = {
            "cohorts": cohorts,
            "reference_cohort": reference,
            "test_n": int(row["n_test"]),
            "test_events": int(row["events_test"]),
            "horizon_months": float(row["horizon_months"]),
            "harrell_c": harrell_c,
            "coxph_c": float(row["coxph"]["c_index"]),
            "calibration_slope": _finite(row["ours"]["calibration_slope"]),
            "time_zero": outcome.time_zero,
            "time_zero_label": outcome.time_zero_label,
            "endpoint": outcome.endpoint,
            "conformal": intervals[cancer_type].facts(),
            "non_commercial": any(COHORTS[c].spec.non_commercial for c in cohorts),
            # Names of format 1, kept for callers written against it.
            "test_c": harrell_c,
            "main_horizon_months": float(row["horizon_months"]),
        }
    return facts
