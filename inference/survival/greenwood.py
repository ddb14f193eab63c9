"""Kaplan-Meier with Greenwood's variance: the pointwise band and the numbers at risk.

The product-limit estimate itself is :func:`inference.survival.kaplan_meier.kaplan_meier`; this
module adds what a published survival figure carries beside it (the confidence band on the
log(-log) scale, as lifelines and R's ``survfit(conf.type = "log-log")`` draw it, and the at-risk
table under the axis).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from inference.survival.kaplan_meier import kaplan_meier

FloatArray = npt.NDArray[np.float64]

#: Two-sided 95 % normal quantile.
Z_95 = 1.959963984540054


@dataclass(frozen=True)
class KaplanMeierBand:
    """S(t) with its pointwise confidence band, right-continuous steps at ``times``.

    Attributes:
        times: (K,) distinct observed times.
        survival: (K,) S just after each time.
        lower: (K,) lower bound of the band.
        upper: (K,) upper bound of the band.
        at_risk: (K,) number still followed just before each time.
        events: (K,) events at each time.
    """

    times: FloatArray
    survival: FloatArray
    lower: FloatArray
    upper: FloatArray
    at_risk: FloatArray
    events: FloatArray

    def at(self, when: float) -> tuple[float, float, float]:
        """(S, lower, upper) at one time; (1, 1, 1) before the first observed time."""
        index = int(np.searchsorted(self.times, when, side="right")) - 1
        if index < 0:
            return 1.0, 1.0, 1.0
        return float(self.survival[index]), float(self.lower[index]), float(self.upper[index])


def kaplan_meier_band(times: FloatArray, events: FloatArray, *, z: float = Z_95) -> KaplanMeierBand:
    """Kaplan-Meier with a Greenwood log(-log) band.

    ``Var(log S) = sum d / (n (n - d))`` over event times up to t (Greenwood); on the log(-log)
    scale the band is ``S ** exp(+-z * sqrt(Var(log S)) / log S)``, which stays in (0, 1). Where
    S is 1 (no event yet) the band is the point; where S reaches 0 the band is [0, 0].

    Args:
        times: (N,) follow-up times.
        events: (N,) 1 = event, 0 = censored.
        z: normal quantile of the band (1.96 for 95 %).

    Returns:
        The curve, its band, and the numbers at risk and events at each distinct time.
    """
    times = np.asarray(times, dtype=np.float64)
    events = np.asarray(events, dtype=np.float64)
    curve = kaplan_meier(times, events)
    _, inverse = np.unique(times, return_inverse=True)
    deaths = np.bincount(inverse, weights=events, minlength=len(curve.times))
    leaving = np.bincount(inverse, minlength=len(curve.times)).astype(np.float64)
    at_risk = len(times) - np.concatenate([[0.0], np.cumsum(leaving)[:-1]])
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(
            (at_risk > deaths) & (deaths > 0), deaths / (at_risk * (at_risk - deaths)), 0.0
        )
        variance = np.cumsum(terms)  # Var(log S)
        log_s = np.log(curve.survival)
        half = z * np.sqrt(variance) / log_s  # negative where S < 1
        lower = np.where(curve.survival < 1.0, curve.survival ** np.exp(-half), 1.0)
        upper = np.where(curve.survival < 1.0, curve.survival ** np.exp(half), 1.0)
    reached_zero = curve.survival <= 0.0
    lower = np.where(reached_zero, 0.0, lower)
    upper = np.where(reached_zero, 0.0, upper)
    return KaplanMeierBand(
        times=curve.times,
        survival=curve.survival,
        lower=np.asarray(lower, dtype=np.float64),
        upper=np.asarray(upper, dtype=np.float64),
        at_risk=at_risk,
        events=np.asarray(deaths, dtype=np.float64),
    )


def number_at_risk(times: FloatArray, at: FloatArray) -> npt.NDArray[np.int64]:
    """How many are still followed at each time of ``at`` (follow-up >= that time).

    Args:
        times: (N,) follow-up times.
        at: (M,) the times of the at-risk table.

    Returns:
        (M,) counts.
    """
    ordered = np.sort(np.asarray(times, dtype=np.float64))
    return (len(ordered) - np.searchsorted(ordered, np.asarray(at), side="left")).astype(np.int64)
