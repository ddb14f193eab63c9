"""The log-rank test of two survival curves (Mantel-Haenszel form, one degree of freedom)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class LogRankResult:
    """The comparison of group A with group B.

    Attributes:
        chi_square: the test statistic, chi-square with one degree of freedom under H0.
        p_value: two-sided p of equal hazards.
        observed: (A, B) events seen.
        expected: (A, B) events expected if both groups had the pooled hazard.
    """

    chi_square: float
    p_value: float
    observed: tuple[float, float]
    expected: tuple[float, float]
    degrees_of_freedom: int = 1


def logrank_test(
    times_a: FloatArray, events_a: FloatArray, times_b: FloatArray, events_b: FloatArray
) -> LogRankResult:
    """Compare two right-censored samples.

    At every distinct event time t of the pooled sample, with n at risk (n_a of A) and d events,
    A expects ``d * n_a / n`` events with hypergeometric variance
    ``d (n_a / n) (1 - n_a / n) (n - d) / (n - 1)``. The statistic is
    ``(O_a - E_a)^2 / sum(variance)``; with one degree of freedom its p is
    ``erfc(sqrt(chi2 / 2))``.

    Args:
        times_a, events_a: (N_a,) follow-up and 1 = event of group A.
        times_b, events_b: (N_b,) the same for group B.

    Returns:
        The statistic, p, and observed and expected events per group. Without any event the
        statistic is 0 and p is 1.
    """
    times = np.concatenate([np.asarray(times_a, float), np.asarray(times_b, float)])
    events = np.concatenate([np.asarray(events_a, float), np.asarray(events_b, float)]) > 0
    in_a = np.concatenate([np.ones(len(times_a), bool), np.zeros(len(times_b), bool)])
    event_times = np.unique(times[events])  # (K,)
    at_risk = times[None, :] >= event_times[:, None]  # (K, N)
    happened = events[None, :] & (times[None, :] == event_times[:, None])  # (K, N)
    n = at_risk.sum(axis=1).astype(np.float64)
    n_a = (at_risk & in_a).sum(axis=1).astype(np.float64)
    d = happened.sum(axis=1).astype(np.float64)
    d_a = (happened & in_a).sum(axis=1).astype(np.float64)
    share = n_a / n
    expected_a = float((d * share).sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        variance = float(np.where(n > 1, d * share * (1 - share) * (n - d) / (n - 1), 0.0).sum())
    observed_a, total = float(d_a.sum()), float(d.sum())
    chi_square = (observed_a - expected_a) ** 2 / variance if variance > 0 else 0.0
    return LogRankResult(
        chi_square=chi_square,
        p_value=math.erfc(math.sqrt(chi_square / 2.0)),
        observed=(observed_a, total - observed_a),
        expected=(expected_a, total - expected_a),
    )
