"""Kaplan-Meier estimator (also used reversed, for the censoring distribution in IPCW metrics)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class KaplanMeier:
    """A right-continuous step function S(t).

    Attributes:
        times: (K,) distinct times at which S drops (or all distinct observed times).
        survival: (K,) S just after each time.
    """

    times: FloatArray
    survival: FloatArray

    def __call__(self, at: FloatArray) -> FloatArray:
        """S(t) at the given times (1 before the first time)."""
        index = np.searchsorted(self.times, at, side="right") - 1
        values = np.where(index >= 0, self.survival[np.clip(index, 0, None)], 1.0)
        return np.asarray(values, dtype=np.float64)


def kaplan_meier(times: FloatArray, events: FloatArray) -> KaplanMeier:
    """Product-limit estimate.

    Args:
        times: (N,) follow-up times.
        events: (N,) 1 = event, 0 = censored.

    Returns:
        S(t) at every distinct observed time.
    """
    times = np.asarray(times, dtype=np.float64)
    events = np.asarray(events, dtype=np.float64)
    distinct, inverse = np.unique(times, return_inverse=True)
    deaths = np.bincount(inverse, weights=events, minlength=len(distinct))
    leaving = np.bincount(inverse, minlength=len(distinct)).astype(np.float64)
    at_risk = len(times) - np.concatenate([[0.0], np.cumsum(leaving)[:-1]])
    factors = np.where(at_risk > 0, 1.0 - deaths / np.maximum(at_risk, 1.0), 1.0)
    return KaplanMeier(times=distinct, survival=np.cumprod(factors).astype(np.float64))


def kaplan_meier_at(times: FloatArray, events: FloatArray, horizon: float) -> float:
    """Kaplan-Meier survival at one time, for the validation checks' observed side.

    Args:
        times: (N,) follow-up times.
        events: (N,) > 0 = event, else censored.
        horizon: the time S is read at (1.0 when no event falls at or before it).

    Returns:
        S(horizon).
    """
    survival = 1.0
    for t in np.unique(times[(events > 0) & (times <= horizon)]):
        at_risk = float((times >= t).sum())
        survival *= 1.0 - float(((times == t) & (events > 0)).sum()) / at_risk
    return survival


def censoring_distribution(times: FloatArray, events: FloatArray) -> KaplanMeier:
    """G(t) = P(censoring time > t), the Kaplan-Meier of the censoring indicator.

    Args:
        times: (N,) follow-up times.
        events: (N,) 1 = event, 0 = censored.

    Returns:
        G as a step function.
    """
    return kaplan_meier(times, 1.0 - np.asarray(events, dtype=np.float64))
