"""Interval summaries and coverage of generated samples (the same code for tests and benchmarks)."""

from __future__ import annotations

import warnings

import numpy as np

from inference.generative.data import FloatArray

LEVEL = 0.8


def interval_bounds(samples: np.ndarray, level: float = LEVEL) -> tuple[FloatArray, FloatArray]:
    """Central ``level`` interval per entry from samples (S, ...): (lower, upper) of shape (...)."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    tail = (1.0 - level) / 2.0
    samples = np.asarray(samples, dtype=float)
    quantile = np.nanquantile if np.isnan(samples).any() else np.quantile
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN features stay NaN
        lower, upper = quantile(samples, [tail, 1.0 - tail], axis=0)
    return lower, upper


def interval_coverage(samples: np.ndarray, truth: np.ndarray, level: float = LEVEL) -> float:
    """Share of true values inside the central ``level`` interval of the samples.

    Args:
        samples: (S, N, d) draws.
        truth: (N, d) true values; NaN entries (and entries whose samples are NaN) are skipped.
        level: nominal coverage of the interval (0.8 = 10th to 90th percentile).

    Returns:
        The observed coverage in [0, 1]; NaN when no entry can be scored.
    """
    samples = np.asarray(samples, dtype=float)
    truth = np.asarray(truth, dtype=float)
    if samples.ndim != truth.ndim + 1 or samples.shape[1:] != truth.shape:
        raise ValueError(f"samples {samples.shape} do not match truth {truth.shape}")
    valid = ~np.isnan(truth) & ~np.isnan(samples).any(axis=0)
    if not valid.any():
        return float("nan")
    lower, upper = interval_bounds(np.where(valid[None], samples, 0.0), level)
    inside = (truth >= lower) & (truth <= upper)
    return float(inside[valid].mean())


def summarise(
    samples: np.ndarray, level: float = LEVEL
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(mean, lower, upper) over the sample axis, NaN where a feature has no samples."""
    samples = np.asarray(samples, dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(samples, axis=0)
    lower, upper = interval_bounds(samples, level)
    return mean, lower, upper
