"""Reading values off survival curves defined at grid times (log-linear between grid points).

The model's hazard is constant within a bin, so log S(t) is linear between grid points; every
consumer (metrics, median, landmark years) interpolates the same way.
"""

from __future__ import annotations

from typing import TypedDict

import numpy as np
import numpy.typing as npt

from inference.schema import SurvivalAtYear, SurvivalCurve

FloatArray = npt.NDArray[np.float64]
#: The years a prediction states survival at (where its curve reaches).
LANDMARK_YEARS = (1, 3, 5)


def survival_at_grid_times(grid: FloatArray, survival: FloatArray, times: FloatArray) -> FloatArray:
    """Evaluate every curve at the same times.

    Args:
        grid: (G,) grid.
        survival: (N, G) curves.
        times: (K,) times.

    Returns:
        (N, K).
    """
    log_s = np.log(np.clip(survival, 1e-12, 1.0))
    clamped = np.clip(times, grid[0], grid[-1])
    return np.exp(np.stack([np.interp(clamped, grid, row) for row in log_s]))


def survival_at_own_times(grid: FloatArray, survival: FloatArray, times: FloatArray) -> FloatArray:
    """Evaluate curve i at time i.

    Args:
        grid: (G,) grid.
        survival: (N, G) curves.
        times: (N,) times.

    Returns:
        (N,).
    """
    log_s = np.log(np.clip(survival, 1e-12, 1.0))
    clamped = np.clip(times, grid[0], grid[-1])
    return np.exp(
        np.array([np.interp(t, grid, row) for t, row in zip(clamped, log_s, strict=True)])
    )


def quantile_time(grid: FloatArray, survival: FloatArray, level: float) -> float | None:
    """Time at which one curve falls to ``level`` (0.5 = median), interpolated log-linearly.

    Args:
        grid: (G,) grid.
        survival: (G,) one curve.
        level: survival level in (0, 1).

    Returns:
        The time in grid units, or ``None`` if the curve stays above ``level`` on the grid.
    """
    below = np.nonzero(survival <= level)[0]
    if len(below) == 0:
        return None
    k = int(below[0])
    if k == 0:
        return float(grid[0])
    s0, s1 = np.log(max(survival[k - 1], 1e-12)), np.log(max(survival[k], 1e-12))
    target = np.log(level)
    fraction = 0.0 if s0 == s1 else (s0 - target) / (s0 - s1)
    return float(grid[k - 1] + fraction * (grid[k] - grid[k - 1]))


def restricted_mean(grid: FloatArray, survival: FloatArray) -> FloatArray:
    """Restricted mean survival time over the grid (area under each curve, trapezoid).

    Args:
        grid: (G,) grid.
        survival: (N, G) curves.

    Returns:
        (N,) RMST in grid units.
    """
    widths = np.diff(grid)  # (G-1,)
    return ((survival[:, 1:] + survival[:, :-1]) / 2.0 * widths).sum(axis=1)


def survival_at_months(grid: FloatArray, survival: FloatArray, months: float) -> float | None:
    """S(months) of one curve, log-linear between grid points.

    Args:
        grid: (G,) grid times.
        survival: (G',) the curve at the first G' <= G grid times (a curve may stop early).
        months: when to read it.

    Returns:
        S(months), or ``None`` beyond the curve's last time (no extrapolation).
    """
    grid = grid[: len(survival)]
    if months > grid[-1]:
        return None
    return float(np.exp(np.interp(months, grid, np.log(np.clip(survival, 1e-12, 1.0)))))


def landmark_survival(
    grid: FloatArray, survival: FloatArray, lower: FloatArray, upper: FloatArray
) -> tuple[SurvivalAtYear, ...]:
    """Survival with its band at each of :data:`LANDMARK_YEARS` (``None`` where not reached).

    Args:
        grid: (G,) grid times.
        survival, lower, upper: (G',) the curve and its band on the first G' grid times.
    """
    return tuple(
        SurvivalAtYear(
            years=y,
            survival=survival_at_months(grid, survival, 12.0 * y),
            lower=survival_at_months(grid, lower, 12.0 * y),
            upper=survival_at_months(grid, upper, 12.0 * y),
        )
        for y in LANDMARK_YEARS
    )


def survival_curve(
    times: FloatArray, survival: FloatArray, lower: FloatArray, upper: FloatArray
) -> SurvivalCurve:
    """A curve and its band as the plain floats a prediction carries.

    Args:
        times: (G,) times in months.
        survival, lower, upper: (G,) the curve and its band at those times.
    """
    return SurvivalCurve(
        times_months=tuple(float(t) for t in times),
        survival=tuple(float(s) for s in survival),
        lower=tuple(float(s) for s in lower),
        upper=tuple(float(s) for s in upper),
    )


class CurveSummary(TypedDict):
    """What a prediction states of its survival curve: the fields of the same names on
    :class:`inference.schema.SurvivalPrediction` (a ``TypedDict`` so they unpack into it)."""

    curve: SurvivalCurve
    median_months: float | None
    survival_at: tuple[SurvivalAtYear, ...]
    risk_score: float


def curve_summary(
    grid: FloatArray, survival: FloatArray, lower: FloatArray, upper: FloatArray
) -> CurveSummary:
    """The curve with its band, its median, its landmark years and its risk score.

    Every predictor (and the site recalibration, which redraws the curve) states a curve this one
    way, so the median, the landmarks and the risk score always agree with the drawn curve.

    Args:
        grid: (G,) times in months.
        survival, lower, upper: (G,) the curve and its band at those times.

    Returns:
        ``curve``, ``median_months``, ``survival_at`` and ``risk_score`` (the negative restricted
        mean survival time over ``grid``: higher is worse).
    """
    return CurveSummary(
        curve=survival_curve(grid, survival, lower, upper),
        median_months=quantile_time(grid, survival, 0.5),
        survival_at=landmark_survival(grid, survival, lower, upper),
        risk_score=-float(restricted_mean(grid, survival[None, :])[0]),
    )
