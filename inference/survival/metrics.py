"""Survival evaluation metrics: Harrell's C, Antolini's time-dependent C and the IPCW Brier score.

Conventions (the same as lifelines' ``concordance_index``):

- a pair (i, j) is comparable when i had the event and ``T_i < T_j``, or ``T_i == T_j`` and j was
  censored (a subject censored at an event time is taken to have outlived it);
- a tie in the prediction counts one half.

Pairs are counted in row blocks so memory stays ``O(block * n)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from inference.survival.kaplan_meier import kaplan_meier

FloatArray = NDArray[np.float64]

_BLOCK = 1024


def _validated(durations: ArrayLike, events: ArrayLike) -> tuple[FloatArray, NDArray[np.bool_]]:
    durations_arr = np.asarray(durations, dtype=np.float64)
    events_arr = np.asarray(events).astype(bool)
    if durations_arr.ndim != 1 or durations_arr.shape != events_arr.shape:
        raise ValueError("durations and events must be 1-D arrays of the same length")
    return durations_arr, events_arr


def _comparable(
    durations: FloatArray, events: NDArray[np.bool_], rows: slice
) -> NDArray[np.bool_]:
    """``[rows, n]`` mask of comparable pairs (i in rows had the event first)."""
    t_i = durations[rows, None]
    t_j = durations[None, :]
    earlier = t_i < t_j
    tied_vs_censored = (t_i == t_j) & ~events[None, :]
    return events[rows, None] & (earlier | tied_vs_censored)


def harrell_c(durations: ArrayLike, events: ArrayLike, risk: ArrayLike) -> float:
    """Harrell's concordance index.

    Args:
        durations: observed times, shape ``[n]``.
        events: 1 = event, 0 = censored.
        risk: higher means earlier expected event (a hazard, not a survival time).

    Returns:
        Fraction of comparable pairs ordered correctly, in [0, 1].
    """
    durations_arr, events_arr = _validated(durations, events)
    risk_arr = np.asarray(risk, dtype=np.float64)
    if risk_arr.shape != durations_arr.shape:
        raise ValueError("risk must have one value per subject")
    concordant = 0.0
    comparable = 0
    for start in range(0, durations_arr.size, _BLOCK):
        rows = slice(start, start + _BLOCK)
        pairs = _comparable(durations_arr, events_arr, rows)
        r_i = risk_arr[rows, None]
        r_j = risk_arr[None, :]
        concordant += float(np.sum(pairs & (r_i > r_j)) + 0.5 * np.sum(pairs & (r_i == r_j)))
        comparable += int(pairs.sum())
    if comparable == 0:
        raise ValueError("no comparable pairs: need at least one event before another time")
    return concordant / comparable


def antolini_c_td(
    durations: ArrayLike, events: ArrayLike, survival: ArrayLike, times: ArrayLike
) -> float:
    """Antolini's time-dependent concordance for predicted survival curves.

    A comparable pair is concordant when ``S_i(T_i) < S_j(T_i)``: at the moment i had the event,
    the model gave i the lower survival.

    Args:
        durations: observed times, shape ``[n]``.
        events: 1 = event, 0 = censored.
        survival: predicted curves on ``times``, shape ``[n, m]`` (step function between points).
        times: increasing grid, shape ``[m]``.
    """
    durations_arr, events_arr = _validated(durations, events)
    survival_arr = np.asarray(survival, dtype=np.float64)
    grid = np.asarray(times, dtype=np.float64)
    if survival_arr.shape != (durations_arr.size, grid.size):
        raise ValueError("survival must have shape [n_subjects, n_times]")
    # Column of the grid in force at each subject's own time (1.0 before the grid starts).
    padded = np.concatenate([np.ones((durations_arr.size, 1)), survival_arr], axis=1)
    column = np.searchsorted(grid, durations_arr, side="right")
    concordant = 0.0
    comparable = 0
    for start in range(0, durations_arr.size, _BLOCK):
        rows = slice(start, start + _BLOCK)
        pairs = _comparable(durations_arr, events_arr, rows)
        cols = column[rows]
        s_own = padded[np.arange(durations_arr.size)[rows], cols][:, None]  # S_i(T_i)  [b, 1]
        s_other = padded[:, cols].T  # S_j(T_i)  [b, n]
        concordant += float(
            np.sum(pairs & (s_own < s_other)) + 0.5 * np.sum(pairs & (s_own == s_other))
        )
        comparable += int(pairs.sum())
    if comparable == 0:
        raise ValueError("no comparable pairs: need at least one event before another time")
    return concordant / comparable


@dataclass(frozen=True)
class BrierResult:
    """Brier score at each grid time and its time-average over the grid."""

    times: FloatArray
    scores: FloatArray
    integrated: float


def brier_scores(
    durations: ArrayLike,
    events: ArrayLike,
    survival: ArrayLike,
    times: ArrayLike,
    *,
    censoring_durations: ArrayLike | None = None,
    censoring_events: ArrayLike | None = None,
) -> BrierResult:
    """Inverse-probability-of-censoring weighted Brier score (Graf et al. 1999) and its integral.

    Args:
        durations, events: the evaluation subjects.
        survival: predicted S_i(t) at ``times``, shape ``[n, m]``.
        times: evaluation grid, shape ``[m]``, inside the follow-up of the evaluation set.
        censoring_durations, censoring_events: data for the censoring distribution G(t)
            (Kaplan-Meier with events and censorings swapped); defaults to the evaluation set.
            Pass the training set to match scikit-survival.

    Returns:
        Scores per grid time and the integrated score (trapezoid rule divided by the span).
    """
    durations_arr, events_arr = _validated(durations, events)
    survival_arr = np.asarray(survival, dtype=np.float64)
    grid = np.asarray(times, dtype=np.float64)
    if survival_arr.shape != (durations_arr.size, grid.size):
        raise ValueError("survival must have shape [n_subjects, n_times]")
    if censoring_durations is None or censoring_events is None:
        cens_t, cens_e = durations_arr, events_arr
    else:
        cens_t, cens_e = _validated(censoring_durations, censoring_events)
    censoring = kaplan_meier(cens_t, (~cens_e).astype(np.float64))

    g_at_own = censoring(durations_arr)  # G(T_i)  [n]
    g_at_grid = censoring(grid)  # G(t)  [m]
    if np.any(g_at_grid <= 0.0):
        raise ValueError("grid reaches past the last censoring time; shorten it")
    safe_own = np.where(g_at_own > 0.0, g_at_own, np.inf)

    had_event_by_t = (durations_arr[:, None] <= grid[None, :]) & events_arr[:, None]  # [n, m]
    alive_after_t = durations_arr[:, None] > grid[None, :]  # [n, m]
    scores = np.mean(
        had_event_by_t * survival_arr**2 / safe_own[:, None]
        + alive_after_t * (1.0 - survival_arr) ** 2 / g_at_grid[None, :],
        axis=0,
    )
    if grid.size == 1:
        integrated = float(scores[0])
    else:
        integrated = float(np.trapezoid(scores, grid) / (grid[-1] - grid[0]))
    return BrierResult(times=grid, scores=scores, integrated=integrated)


def evaluation_grid(durations: ArrayLike, *, n_points: int = 100) -> FloatArray:
    """A grid between the 10th and 90th percentile of observed times (Brier scores are unstable
    in the tails, where few subjects remain)."""
    durations_arr = np.asarray(durations, dtype=np.float64)
    low, high = np.quantile(durations_arr, [0.1, 0.9])
    return np.linspace(low, high, n_points)
