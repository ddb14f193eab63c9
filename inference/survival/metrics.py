"""Evaluation metrics: Harrell's C, Antolini's time-dependent C, IPCW Brier score, calibration.

Comparable pairs follow lifelines and scikit-survival: (i, j) is comparable when i had the event and
``T_i < T_j``, or ``T_i == T_j`` and j is censored; tied predictions count one half.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from inference.survival.curves import survival_at_grid_times, survival_at_own_times
from inference.survival.kaplan_meier import censoring_distribution, kaplan_meier

FloatArray = npt.NDArray[np.float64]


def _comparable(times: FloatArray, events: FloatArray) -> npt.NDArray[np.bool_]:
    t_i, t_j = times[:, None], times[None, :]
    e_i, e_j = events[:, None] > 0, events[None, :] > 0
    return e_i & ((t_i < t_j) | ((t_i == t_j) & ~e_j))  # (N, N), row i = shorter survivor


def harrell_c(times: FloatArray, events: FloatArray, risk: FloatArray) -> float:
    """Harrell's concordance index.

    Args:
        times: (N,) follow-up.
        events: (N,) 1 = event.
        risk: (N,) higher = earlier event expected.

    Returns:
        C in [0, 1]; NaN without comparable pairs.
    """
    times, events, risk = (np.asarray(a, dtype=np.float64) for a in (times, events, risk))
    comparable = _comparable(times, events)
    r_i, r_j = risk[:, None], risk[None, :]
    score = (r_i > r_j) + 0.5 * (r_i == r_j)  # (N, N)
    total = comparable.sum()
    return float((score * comparable).sum() / total) if total else float("nan")


def antolini_c(
    times: FloatArray, events: FloatArray, grid: FloatArray, survival: FloatArray
) -> float:
    """Antolini's time-dependent concordance.

    A comparable pair is concordant when S_i(T_i) < S_j(T_i): the curves are compared at the
    shorter survivor's event time, so crossing curves are judged where it matters.

    Args:
        times: (N,) follow-up.
        events: (N,) 1 = event.
        grid: (G,) grid times of the curves.
        survival: (N, G) predicted curves.

    Returns:
        C^td in [0, 1].
    """
    times, events = np.asarray(times, dtype=np.float64), np.asarray(events, dtype=np.float64)
    comparable = _comparable(times, events)
    at_own = survival_at_own_times(grid, survival, times)  # (N,) S_i(T_i)
    others = survival_at_grid_times(grid, survival, times).T  # (N, N): [i, j] = S_j(T_i)
    s_i = at_own[:, None]
    score = (s_i < others) + 0.5 * (s_i == others)
    total = comparable.sum()
    return float((score * comparable).sum() / total) if total else float("nan")


def brier_scores(
    train_times: FloatArray,
    train_events: FloatArray,
    times: FloatArray,
    events: FloatArray,
    predicted: FloatArray,
    eval_times: FloatArray,
) -> FloatArray:
    """IPCW Brier score at each evaluation time (Graf et al. 1999).

    The censoring distribution G is the Kaplan-Meier of censoring on the training split, evaluated
    at T_i for cases with the event before t and at t for cases still at risk, as in
    scikit-survival.

    Args:
        train_times, train_events: training split (for G).
        times, events: evaluation split.
        predicted: (N, K) S_i(eval_times[k]).
        eval_times: (K,) times.

    Returns:
        (K,) Brier scores.
    """
    censoring = censoring_distribution(train_times, train_events)
    g_at_t = np.clip(censoring(times), 1e-12, None)  # (N,)
    scores = []
    for k, t in enumerate(eval_times):
        had_event = (times <= t) & (events > 0)
        still_at_risk = times > t
        g_t = max(float(censoring(np.array([t]))[0]), 1e-12)
        term = np.where(had_event, predicted[:, k] ** 2 / g_at_t, 0.0)
        term = term + np.where(still_at_risk, (1.0 - predicted[:, k]) ** 2 / g_t, 0.0)
        scores.append(term.mean())
    return np.asarray(scores)


def integrated_brier(
    train_times: FloatArray,
    train_events: FloatArray,
    times: FloatArray,
    events: FloatArray,
    predicted: FloatArray,
    eval_times: FloatArray,
) -> float:
    """Integrated Brier score: trapezoid over ``eval_times`` divided by the time span.

    Args:
        train_times, train_events: training split (for the censoring distribution).
        times, events: evaluation split.
        predicted: (N, K) S_i at ``eval_times``.
        eval_times: (K,) increasing times, K >= 2.

    Returns:
        The IBS.
    """
    scores = brier_scores(train_times, train_events, times, events, predicted, eval_times)
    area = float(np.sum((scores[1:] + scores[:-1]) / 2.0 * np.diff(eval_times)))
    return area / float(eval_times[-1] - eval_times[0])


@dataclass(frozen=True)
class Calibration:
    """Calibration of predicted survival at one time against Kaplan-Meier in risk groups.

    Attributes:
        time: the landmark time.
        predicted: (groups,) mean predicted S(time) per group.
        observed: (groups,) Kaplan-Meier S(time) per group.
        sizes: (groups,) group sizes.
        slope: weighted least-squares slope of observed on predicted (1 is ideal).
        intercept: its intercept (0 is ideal).
        mean_abs_error: size-weighted mean |observed - predicted|.
    """

    time: float
    predicted: tuple[float, ...]
    observed: tuple[float, ...]
    sizes: tuple[int, ...]
    slope: float
    intercept: float
    mean_abs_error: float


def calibration_at(
    times: FloatArray, events: FloatArray, predicted: FloatArray, time: float, groups: int = 10
) -> Calibration:
    """Grouped calibration at a landmark time.

    Cases are split into equal-size groups by predicted S(time); each group's observed survival
    is its Kaplan-Meier estimate at ``time`` (so censoring is handled), and slope/intercept come
    from a size-weighted straight-line fit of observed on predicted.

    Args:
        times, events: evaluation split.
        predicted: (N,) predicted S(time).
        time: landmark time.
        groups: number of risk groups.

    Returns:
        The calibration summary.
    """
    order = np.argsort(predicted)
    chunks = [c for c in np.array_split(order, groups) if len(c)]
    mean_pred, observed, sizes = [], [], []
    for chunk in chunks:
        curve = kaplan_meier(times[chunk], events[chunk])
        mean_pred.append(float(predicted[chunk].mean()))
        observed.append(float(curve(np.array([time]))[0]))
        sizes.append(len(chunk))
    x, y, w = np.array(mean_pred), np.array(observed), np.array(sizes, dtype=np.float64)
    x_bar, y_bar = np.average(x, weights=w), np.average(y, weights=w)
    variance = np.average((x - x_bar) ** 2, weights=w)
    slope = (
        float(np.average((x - x_bar) * (y - y_bar), weights=w) / variance)
        if variance > 0
        else (float("nan"))
    )
    intercept = float(y_bar - slope * x_bar) if np.isfinite(slope) else float("nan")
    return Calibration(
        time=float(time),
        predicted=tuple(mean_pred),
        observed=tuple(observed),
        sizes=tuple(sizes),
        slope=slope,
        intercept=intercept,
        mean_abs_error=float(np.average(np.abs(y - x), weights=w)),
    )
