"""Split-conformal intervals for the time to event under right censoring.

Each case gets a model interval [q_lo, q_hi] from its own curve (the times where S falls to
1 - alpha/2 and alpha/2). The conformity score is how far the observed event time falls outside
that interval, s = max(q_lo - T, T - q_hi). Only events reveal T, so calibration cases with an
event are weighted by 1 / G(T) (inverse probability of remaining uncensored), which removes the
bias towards short times under independent censoring. The interval is widened by the weighted
(1 - alpha) quantile of the scores. Coverage on held-out cases is measured with the same weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from inference.survival.curves import quantile_time
from inference.survival.kaplan_meier import KaplanMeier, censoring_distribution

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ConformalCalibration:
    """The calibrated widening.

    Attributes:
        alpha: miscoverage; nominal coverage is 1 - alpha.
        correction: months added on both sides of the model interval (may be negative).
        n_events: calibration events used.
    """

    alpha: float
    correction: float
    n_events: int

    @property
    def nominal(self) -> float:
        """Nominal coverage."""
        return 1.0 - self.alpha


def model_intervals(grid: FloatArray, survival: FloatArray, alpha: float) -> FloatArray:
    """Per-case [q_lo, q_hi] read off the curves; q_hi = inf if S stays above alpha/2.

    Args:
        grid: (G,) grid.
        survival: (N, G) curves.
        alpha: miscoverage.

    Returns:
        (N, 2) intervals.
    """
    intervals = np.empty((survival.shape[0], 2))
    for i, row in enumerate(survival):
        low = quantile_time(grid, row, 1.0 - alpha / 2.0)
        high = quantile_time(grid, row, alpha / 2.0)
        intervals[i, 0] = low if low is not None else grid[-1]
        intervals[i, 1] = high if high is not None else np.inf
    return intervals


def _weights(censoring: KaplanMeier, times: FloatArray) -> FloatArray:
    # G just before T: an event at T is "observed" if censoring happened after T.
    return 1.0 / np.clip(censoring(times - 1e-9), 0.05, None)


def ipcw_weights(
    train_times: FloatArray, train_events: FloatArray, event_times: FloatArray
) -> FloatArray:
    """Inverse-probability-of-censoring weights of events at ``event_times``.

    Args:
        train_times, train_events: data for the censoring distribution.
        event_times: (E,) times of observed events.

    Returns:
        (E,) weights 1 / G(T-), with G floored at 0.05.
    """
    return _weights(censoring_distribution(train_times, train_events), event_times)


def conformity_scores(times: FloatArray, intervals: FloatArray) -> FloatArray:
    """How far each time falls outside its interval, max(q_lo - T, T - q_hi) (<= 0 inside).

    A case is inside its widened interval exactly when its score is <= the correction.
    """
    return np.maximum(intervals[:, 0] - times, times - intervals[:, 1])


def weighted_quantile(values: FloatArray, weights: FloatArray, level: float) -> float:
    """The smallest value whose weighted cumulative share reaches ``level``."""
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order]) / weights.sum()
    index = int(np.searchsorted(cumulative, level, side="left"))
    return float(values[order][min(index, len(values) - 1)])


def split_conformal_level(alpha: float, n_events: int) -> float:
    """Quantile level with the finite-sample correction of split conformal (may exceed 1)."""
    return (1.0 - alpha) * (n_events + 1) / max(n_events, 1)


def calibrate(
    train_times: FloatArray,
    train_events: FloatArray,
    times: FloatArray,
    events: FloatArray,
    intervals: FloatArray,
    alpha: float,
) -> ConformalCalibration:
    """Fit the widening on a calibration split.

    Args:
        train_times, train_events: data for the censoring distribution.
        times, events: calibration split.
        intervals: (N, 2) model intervals of the calibration cases.
        alpha: miscoverage.

    Returns:
        The calibration.
    """
    observed = events > 0
    t = times[observed]
    scores = conformity_scores(t, intervals[observed])
    weights = ipcw_weights(train_times, train_events, t)
    n = len(t)
    # Finite-sample correction of split conformal, applied to the weighted quantile level.
    level = min(1.0, split_conformal_level(alpha, n))
    correction = weighted_quantile(scores, weights, level) if n else 0.0
    return ConformalCalibration(alpha=alpha, correction=correction, n_events=n)


def apply(intervals: FloatArray, calibration: ConformalCalibration) -> FloatArray:
    """Widen model intervals; the lower bound never goes below 0.

    Args:
        intervals: (N, 2).
        calibration: from :func:`calibrate`.

    Returns:
        (N, 2) calibrated intervals (upper may be inf).
    """
    out = intervals.copy()
    out[:, 0] = np.maximum(out[:, 0] - calibration.correction, 0.0)
    out[:, 1] = out[:, 1] + calibration.correction
    return out


def measured_coverage(
    train_times: FloatArray,
    train_events: FloatArray,
    times: FloatArray,
    events: FloatArray,
    intervals: FloatArray,
) -> float:
    """IPCW-weighted share of held-out events whose time falls inside their interval.

    Args:
        train_times, train_events: data for the censoring distribution.
        times, events: held-out split.
        intervals: (N, 2) calibrated intervals.

    Returns:
        Estimated coverage in [0, 1]; NaN without events.
    """
    censoring = censoring_distribution(train_times, train_events)
    observed = events > 0
    if not observed.any():
        return float("nan")
    t = times[observed]
    inside = (t >= intervals[observed, 0]) & (t <= intervals[observed, 1])
    weights = _weights(censoring, t)
    return float((inside * weights).sum() / weights.sum())
