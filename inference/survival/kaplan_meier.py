"""Kaplan-Meier estimator with Greenwood / log-log confidence intervals.

Used three ways: the censoring distribution G(t) for IPCW metrics (Brier score), the cohort curve the
case page draws next to a patient's predicted curve, and as the no-covariate baseline in tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class KaplanMeierCurve:
    """A right-continuous step function S(t), defined at the distinct observed times.

    ``survival[i]`` is S just after ``times[i]``; S(t) = 1 before ``times[0]``.
    """

    times: FloatArray
    survival: FloatArray
    lower: FloatArray
    upper: FloatArray
    at_risk: NDArray[np.int64]
    events: NDArray[np.int64]

    def __call__(self, t: ArrayLike) -> FloatArray:
        """Evaluate S at arbitrary times (step function, right-continuous)."""
        query = np.asarray(t, dtype=np.float64)
        index = np.searchsorted(self.times, query, side="right") - 1
        padded = np.concatenate([[1.0], self.survival])
        return padded[index + 1]


def kaplan_meier(
    durations: ArrayLike,
    events: ArrayLike,
    *,
    confidence: float = 0.95,
) -> KaplanMeierCurve:
    """Estimate S(t) from right-censored data.

    Args:
        durations: observed time per subject (event or censoring), shape ``[n]``.
        events: 1 where the event was observed, 0 where censored, shape ``[n]``.
        confidence: level of the pointwise log(-log) confidence band.

    Returns:
        The step curve at the distinct observed times, with its band and risk-set sizes.
    """
    durations_arr = np.asarray(durations, dtype=np.float64)
    events_arr = np.asarray(events, dtype=np.float64)
    if durations_arr.shape != events_arr.shape or durations_arr.ndim != 1:
        raise ValueError("durations and events must be 1-D arrays of the same length")
    if durations_arr.size == 0:
        raise ValueError("Kaplan-Meier needs at least one subject")

    times, inverse = np.unique(durations_arr, return_inverse=True)
    n_events = np.bincount(inverse, weights=events_arr, minlength=times.size)
    n_leaving = np.bincount(inverse, minlength=times.size).astype(np.float64)
    # Subjects still at risk just before each distinct time.
    at_risk = durations_arr.size - np.concatenate([[0.0], np.cumsum(n_leaving)[:-1]])

    step = 1.0 - n_events / at_risk
    survival = np.cumprod(step)

    # Greenwood variance on the log(-log) scale keeps the band inside [0, 1].
    with np.errstate(divide="ignore", invalid="ignore"):
        greenwood = np.cumsum(n_events / (at_risk * (at_risk - n_events)))
        log_survival = np.log(survival)
        se = np.sqrt(greenwood) / np.abs(log_survival)
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    lower = np.power(survival, np.exp(z * se))
    upper = np.power(survival, np.exp(-z * se))
    undefined = ~np.isfinite(se) | (survival <= 0.0)
    lower = np.where(undefined, survival, lower)
    upper = np.where(undefined, survival, upper)

    return KaplanMeierCurve(
        times=times,
        survival=survival,
        lower=np.clip(lower, 0.0, 1.0),
        upper=np.clip(upper, 0.0, 1.0),
        at_risk=at_risk.astype(np.int64),
        events=n_events.astype(np.int64),
    )
