"""Uncertainty of the portrait model: the bootstrap survival band and the per-type conformal rule.

The band is the spread of survival curves refitted on bootstrap resamples of the training parts
(same hyper-parameters, each with its own Breslow baselines): it shows how much the curve depends on
which patients happened to be in the training data. It is not a prediction interval for one
patient's time to event; that is the conformal interval, calibrated per cancer type.

The conformal rule (issue #16): calibrate the widening on a type's validation events, measure the
coverage on its test events, and when the test coverage falls short of nominal by more than
:data:`TOLERANCE`, widen once (a higher quantile of the validation scores, raised by the shortfall)
or, if that still falls short, abstain from intervals for that type.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from inference.survival.conformal import split_conformal_level, weighted_quantile

FloatArray = npt.NDArray[np.float64]

#: A type whose test coverage is below nominal by more than this is widened or abstains.
TOLERANCE = 0.03
NOMINAL = 0.9

Status = Literal["ok", "widened", "abstained"]


def band(main: FloatArray, replicates: FloatArray, level: float) -> tuple[FloatArray, FloatArray]:
    """Pointwise percentile band of replicate curves, always containing the main curve.

    Args:
        main: (N, G) curves of the main model.
        replicates: (B, N, G) curves of the bootstrap refits.
        level: central share of the replicates inside the band, for example 0.9.

    Returns:
        (lower, upper), each (N, G), with lower <= main <= upper.
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"band level must be in (0, 1), got {level}")
    tail = (1.0 - level) / 2.0
    lower = np.quantile(replicates, tail, axis=0)  # (N, G)
    upper = np.quantile(replicates, 1.0 - tail, axis=0)  # (N, G)
    # Percentiles of a few replicates can sit on one side of the main fit: keep it inside.
    return np.minimum(lower, main), np.maximum(upper, main)


@dataclass(frozen=True)
class TypeConformal:
    """The conformal interval of one cancer type and how it did on the test part.

    Attributes:
        nominal: target coverage (0.9).
        status: "ok" (test coverage within TOLERANCE of nominal), "widened" (the correction was
            raised, see ``quantile_level``) or "abstained" (no interval is shown for the type).
        measured_test: IPCW coverage of the test events with the correction in use (for
            "abstained", with the widest correction tried); NaN without test events.
        measured_test_at_nominal: the same with the correction calibrated at nominal.
        quantile_level: level of the weighted quantile of validation scores in use.
        correction_months: months added on both sides of the model interval.
        calibration_events: validation events the correction was calibrated on.
        test_events: test events the coverage was measured on.
    """

    nominal: float
    status: Status
    measured_test: float
    measured_test_at_nominal: float
    quantile_level: float
    correction_months: float
    calibration_events: int
    test_events: int

    def facts(self) -> dict[str, Any]:
        """JSON-able facts for the checkpoint (NaN becomes None)."""
        out: dict[str, Any] = {}
        for key, value in asdict(self).items():
            if isinstance(value, float):
                value = None if math.isnan(value) else round(value, 4)
            out[key] = value
        return out


def coverage(scores: FloatArray, weights: FloatArray, correction: float) -> float:
    """Weighted share of events inside their widened interval (score <= correction)."""
    if len(scores) == 0:
        return float("nan")
    return float(((scores <= correction) * weights).sum() / weights.sum())


def calibrate_type(
    val_scores: FloatArray,
    val_weights: FloatArray,
    test_scores: FloatArray,
    test_weights: FloatArray,
    *,
    nominal: float = NOMINAL,
    tolerance: float = TOLERANCE,
) -> TypeConformal:
    """Calibrate on validation events, check on test events, widen once or abstain.

    Args:
        val_scores, val_weights: (E_v,) conformity scores and IPCW weights of validation events.
        test_scores, test_weights: (E_t,) the same for test events.
        nominal: target coverage.
        tolerance: allowed shortfall of the test coverage.

    Returns:
        The type's calibration and its status.
    """
    n = len(val_scores)
    level = split_conformal_level(1.0 - nominal, n)
    if n == 0 or level > 1.0:
        # Too few validation events for a split-conformal quantile at this level.
        return TypeConformal(
            nominal, "abstained", math.nan, math.nan, level, math.nan, n, len(test_scores)
        )
    correction = weighted_quantile(val_scores, val_weights, level)
    at_nominal = coverage(test_scores, test_weights, correction)
    if math.isnan(at_nominal):
        return TypeConformal(
            nominal, "abstained", at_nominal, at_nominal, level, correction, n, 0
        )  # fmt: skip
    if at_nominal >= nominal - tolerance:
        return TypeConformal(
            nominal, "ok", at_nominal, at_nominal, level, correction, n, len(test_scores)
        )
    # Ask the validation scores to cover the shortfall as well (capped at their maximum).
    raised = min(1.0, level + (nominal - at_nominal))
    widened = weighted_quantile(val_scores, val_weights, raised)
    measured = coverage(test_scores, test_weights, widened)
    status: Status = "widened" if measured >= nominal - tolerance else "abstained"
    return TypeConformal(
        nominal, status, measured, at_nominal, raised, widened, n, len(test_scores)
    )  # fmt: skip
