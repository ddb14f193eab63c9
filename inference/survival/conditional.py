"""Conditional survival: the curve from today for a patient who has already survived a while.

A model's S(t) counts from its time zero (for the shipped models, the diagnosis). A patient seen
``e`` months after time zero and alive has, by definition, survived those months, so the curve
that applies from today is

    S(t | alive at e) = S(e + t) / S(e),   t >= 0 months from today.

Uncertainty band: the stored band is the pointwise envelope (lowest and highest) of the ensemble
members, not the members themselves. Each band edge is conditioned on its *own* value at ``e``
(``lower(e + t) / lower(e)`` and ``upper(e + t) / upper(e)``), as each member would be. Because
the member that is lowest at ``e`` need not stay lowest later, a conditioned edge can cross the
conditioned mean; the band is then widened to the envelope of the three conditioned curves, so it
always contains the mean. It is the model's uncertainty, not a population interval.

Horizon: the grid ends at the model's follow-up horizon. Beyond it the model says nothing, so the
conditional curve only runs to ``horizon - e`` months from today, landmarks past that are
``None``, and when ``e`` reaches the horizon (or the model gave almost no chance of surviving that
long) the function abstains with a reason instead of extrapolating.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from inference.schema import SurvivalAtYear, SurvivalCurve
from inference.survival.curves import quantile_time, survival_curve

#: Below this S(elapsed) the division amplifies noise: the model saw almost nobody survive so
#: long, and a conditional estimate would rest on nothing.
MIN_SURVIVAL_AT_ELAPSED = 0.01

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ConditionalSurvival:
    """Survival from today, given survival from the model's time zero until today.

    Attributes:
        elapsed_months: months survived since the model's time zero.
        status: ``"ok"``, or ``"abstained"`` when no conditional curve can honestly be given.
        reason: why it abstained (empty when ``status == "ok"``).
        horizon_months: months from today the curve covers (model horizon minus elapsed, >= 0).
        survival_at_elapsed: S(elapsed) of the mean curve, the probability the model gave at time
            zero of surviving to today; ``None`` when elapsed is beyond the horizon.
        curve: conditional S(t) with its band, ``t`` in months from today; ``None`` on abstention.
        median_months: months from today at which the conditional mean falls to 0.5; ``None`` when
            it stays above 0.5 within ``horizon_months`` (or on abstention).
        survival_at: survival 1, 3 and 5 years from today with the band; ``None`` values past the
            horizon.
    """

    elapsed_months: float
    status: Literal["ok", "abstained"]
    reason: str
    horizon_months: float
    survival_at_elapsed: float | None
    curve: SurvivalCurve | None
    median_months: float | None
    survival_at: tuple[SurvivalAtYear, ...]


def _log_interp(grid: FloatArray, survival: FloatArray, times: FloatArray) -> FloatArray:
    """S at ``times`` inside the grid, log-linear between grid points like the rest of inference."""
    return np.exp(np.interp(times, grid, np.log(np.clip(survival, 1e-12, 1.0))))


def _from_today(
    grid: FloatArray, curves: tuple[tuple[FloatArray, float], ...], e: float
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """S(e + t) / S(e) for the mean curve and its band, on times from today.

    Args:
        grid: (G,) the model's grid from time zero.
        curves: (values on the grid, value at ``e``) of the mean, lower and upper curves.
        e: months already survived.

    Returns:
        Times from today (0, then every grid time after ``e``, shifted by ``e``), the conditional
        mean, and the band's lower and upper edges (re-ordered, as dividing can swap them).
    """
    later = grid[grid > e]  # (K,)
    times = np.concatenate([[0.0], later - e])  # (K+1,)
    absolute = times + e
    conditioned = [
        np.clip(_log_interp(grid, values, absolute) / at, 0.0, 1.0) for values, at in curves
    ]
    return (
        times,
        conditioned[0],
        np.minimum.reduce(conditioned),
        np.maximum.reduce(conditioned),
    )


def condition_on_survival(
    curve: SurvivalCurve, elapsed_months: float, *, landmark_years: tuple[int, ...] = (1, 3, 5)
) -> ConditionalSurvival:
    """The curve from today for a patient alive ``elapsed_months`` after the model's time zero.

    Args:
        curve: the model's S(t) from time zero with its band (grid starting at 0).
        elapsed_months: months survived since time zero (>= 0).
        landmark_years: years from today to report.

    Returns:
        The conditional curve, or an abstention with its reason when ``elapsed_months`` is at or
        beyond the model's horizon or the model gave (nearly) no chance of surviving that long.

    Raises:
        ValueError: a negative elapsed time, or an empty or malformed curve.
    """
    if not np.isfinite(elapsed_months) or elapsed_months < 0:
        raise ValueError(f"elapsed time must be a non-negative number of months: {elapsed_months}")
    grid = np.asarray(curve.times_months, dtype=np.float64)  # (G,)
    mean = np.asarray(curve.survival, dtype=np.float64)  # (G,)
    low = np.asarray(curve.lower, dtype=np.float64)  # (G,)
    high = np.asarray(curve.upper, dtype=np.float64)  # (G,)
    if grid.ndim != 1 or len(grid) < 2 or not (len(grid) == len(mean) == len(low) == len(high)):
        raise ValueError("the curve needs at least two grid times and equal-length values")
    horizon = float(grid[-1])
    e = float(elapsed_months)

    def abstain(reason: str, at_elapsed: float | None) -> ConditionalSurvival:
        return ConditionalSurvival(
            elapsed_months=e,
            status="abstained",
            reason=reason,
            horizon_months=max(0.0, horizon - e),
            survival_at_elapsed=at_elapsed,
            curve=None,
            median_months=None,
            survival_at=tuple(SurvivalAtYear(y, None, None, None) for y in landmark_years),
        )

    if e >= horizon:
        return abstain(
            f"The model's curve ends {horizon:.0f} months after its time zero and the patient "
            f"has already survived {e:.0f} months: the curve cannot be extended from today.",
            None,
        )
    at_e = _log_interp(grid, mean, np.array([e]))[0]
    at_e_low = _log_interp(grid, low, np.array([e]))[0]
    at_e_high = _log_interp(grid, high, np.array([e]))[0]
    if min(at_e, at_e_low, at_e_high) < MIN_SURVIVAL_AT_ELAPSED:
        return abstain(
            f"The model gave under {MIN_SURVIVAL_AT_ELAPSED:.0%} chance of surviving "
            f"{e:.0f} months; it has no basis for an estimate from today.",
            float(at_e),
        )
    times, c_mean, c_low, c_high = _from_today(
        grid, ((mean, at_e), (low, at_e_low), (high, at_e_high)), e
    )
    conditional = survival_curve(times, c_mean, c_low, c_high)
    remaining = horizon - e

    def at(values: FloatArray, months: float) -> float | None:
        if months > remaining + 1e-9:
            return None
        return float(_log_interp(times, values, np.array([months]))[0])

    return ConditionalSurvival(
        elapsed_months=e,
        status="ok",
        reason="",
        horizon_months=remaining,
        survival_at_elapsed=float(at_e),
        curve=conditional,
        median_months=quantile_time(times, c_mean, 0.5),
        survival_at=tuple(
            SurvivalAtYear(
                years=y,
                survival=at(c_mean, 12.0 * y),
                lower=at(c_low, 12.0 * y),
                upper=at(c_high, 12.0 * y),
            )
            for y in landmark_years
        ),
    )
