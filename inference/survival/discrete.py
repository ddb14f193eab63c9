"""Discrete-time survival: time bins, bin assignment and survival curves from per-bin hazards.

The model predicts one conditional hazard h_k = P(event in bin k | alive at its start) per bin.
Within a bin the hazard rate is taken as constant, so the fraction ``f`` of bin k lived through
contributes ``(1 - h_k) ** f``. The loss and the curve evaluation share this assumption.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]


def time_bin_edges(durations: ArrayLike, events: ArrayLike, *, n_bins: int) -> FloatArray:
    """Bin edges ``[0, t_1, ..., t_K]`` at quantiles of the observed event times.

    Args:
        durations: observed times, shape ``[n]``.
        events: 1 = event, 0 = censored, shape ``[n]``.
        n_bins: number of bins K (duplicate quantiles are merged, so fewer may come back).

    Returns:
        Strictly increasing edges, first 0, last the longest observed time (events or not).
    """
    durations_arr = np.asarray(durations, dtype=np.float64)
    events_arr = np.asarray(events, dtype=bool)
    if n_bins < 1:
        raise ValueError("n_bins must be >= 1")
    event_times = durations_arr[events_arr]
    if event_times.size == 0:
        raise ValueError("time bins need at least one observed event")
    inner = np.quantile(event_times, np.linspace(0.0, 1.0, n_bins + 1)[1:-1])
    edges = np.unique(np.concatenate([[0.0], inner, [float(durations_arr.max())]]))
    return edges[edges >= 0.0]


def assign_bins(durations: ArrayLike, edges: ArrayLike) -> tuple[NDArray[np.int64], FloatArray]:
    """Bin index and fraction of that bin lived through, for each time.

    Times beyond the last edge land in the last bin with fraction 1.

    Returns:
        ``(bin_index [n], fraction [n])`` with ``0 < fraction <= 1``.
    """
    durations_arr = np.asarray(durations, dtype=np.float64)
    edges_arr = np.asarray(edges, dtype=np.float64)
    n_bins = edges_arr.size - 1
    # Bin k covers (edges[k], edges[k + 1]]; a time of exactly 0 counts as inside bin 0.
    index = np.clip(np.searchsorted(edges_arr, durations_arr, side="left") - 1, 0, n_bins - 1)
    width = edges_arr[index + 1] - edges_arr[index]
    fraction = np.clip((durations_arr - edges_arr[index]) / width, 0.0, 1.0)
    return index.astype(np.int64), fraction


def survival_at_edges(hazards: ArrayLike) -> FloatArray:
    """S(edges[k + 1]) = prod_{j <= k} (1 - h_j), shape ``[n, K]``."""
    hazards_arr = np.asarray(hazards, dtype=np.float64)
    return np.cumprod(1.0 - hazards_arr, axis=-1)


def survival_at(hazards: ArrayLike, edges: ArrayLike, times: ArrayLike) -> FloatArray:
    """Evaluate each subject's curve at arbitrary times.

    Args:
        hazards: per-bin conditional hazards, shape ``[n, K]``.
        edges: the K + 1 bin edges the hazards refer to.
        times: query times, shape ``[m]``; times past the last edge hold the last value.

    Returns:
        Survival probabilities, shape ``[n, m]``.
    """
    hazards_arr = np.asarray(hazards, dtype=np.float64)
    times_arr = np.asarray(times, dtype=np.float64)
    index, fraction = assign_bins(times_arr, edges)
    survival_edges = survival_at_edges(hazards_arr)
    # S at the start of each bin: 1 for bin 0, else S at the previous edge.  [n, K]
    survival_start = np.concatenate(
        [np.ones_like(survival_edges[:, :1]), survival_edges[:, :-1]], axis=1
    )
    start = survival_start[:, index]  # [n, m]
    within = np.power(1.0 - hazards_arr[:, index], fraction[None, :])  # [n, m]
    return start * within


def restricted_mean_survival(hazards: ArrayLike, edges: ArrayLike) -> FloatArray:
    """Area under each curve up to the last edge (expected time alive within follow-up).

    Under constant within-bin hazard rate the integral over bin k is
    ``S_start * w * (1 - (1 - h)) / -log(1 - h)`` = ``S_start * w * h / -log(1 - h)``.

    Returns:
        Restricted mean survival time per subject, shape ``[n]``, in the unit of ``edges``.
    """
    hazards_arr = np.clip(np.asarray(hazards, dtype=np.float64), 1e-12, 1.0 - 1e-12)
    edges_arr = np.asarray(edges, dtype=np.float64)
    widths = np.diff(edges_arr)  # [K]
    survival_edges = survival_at_edges(hazards_arr)
    survival_start = np.concatenate(
        [np.ones_like(survival_edges[:, :1]), survival_edges[:, :-1]], axis=1
    )  # [n, K]
    per_bin = survival_start * widths[None, :] * hazards_arr / -np.log1p(-hazards_arr)
    return per_bin.sum(axis=1)
