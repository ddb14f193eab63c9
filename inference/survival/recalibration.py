"""Site recalibration of a survival prediction: a new baseline hazard and a slope.

A model's predicted curve is summarised by its complementary log-log at a reference time,
``z = log(-log S(reference))``; for a proportional-hazards model that is the linear predictor plus
a constant, whatever baseline (cohort or stage stratum) the curve was drawn on. The site's
recalibrated curve is a Cox model on ``z`` fitted to the site's own outcomes:

    S_site(t | z) = exp(-H0_site(t) * exp(slope * (z - z_centre)))

``H0_site`` is the Breslow baseline cumulative hazard of the site's older cases (it carries the
calibration-in-the-large: a site whose patients do better than the training cohorts gets a lower
baseline) and ``slope`` is the calibration slope on the linear predictor (1 = the model's spread of
risk is right; < 1 = too extreme). The transform is monotone in ``z`` for a positive slope, so the
band's edges are mapped the same way and stay ordered, and the conformal time interval keeps the
survival levels it had on the old curve, read off the new one. The curve stops at the site
baseline's last event time (no extrapolation beyond the site's follow-up).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from inference.schema import SurvivalPrediction, TimeInterval
from inference.survival.curves import curve_summary, quantile_time, survival_at_months

FloatArray = npt.NDArray[np.float64]
METHOD = "site-breslow-slope-on-cloglog/1"
_EPS = 1e-9


@dataclass(frozen=True)
class Recalibration:
    """Fitted site recalibration (stored as JSON on the candidate registry row).

    Attributes:
        reference_months: time at which the model's curve gives ``z``.
        slope: calibration slope on ``z``.
        z_centre: centring constant of ``z`` (the fit cases' mean).
        times_months: times of the site baseline (increasing, from 0).
        cumulative_hazard: site baseline cumulative hazard at those times (for ``z = z_centre``).
        horizon_months: the main horizon the fit was judged at.
        n_cases: site cases the fit used.
        n_events: their events.
        citl_log_hr: log of the site baseline cumulative hazard over the model's at the horizon,
            for a case at ``z_centre`` (the calibration-in-the-large correction; 0 = none).
    """

    reference_months: float
    slope: float
    z_centre: float
    times_months: tuple[float, ...]
    cumulative_hazard: tuple[float, ...]
    horizon_months: float
    n_cases: int
    n_events: int
    citl_log_hr: float

    def to_json(self) -> dict[str, Any]:
        """Plain JSON for the registry row."""
        return {
            "method": METHOD,
            "reference_months": self.reference_months,
            "slope": self.slope,
            "z_centre": self.z_centre,
            "times_months": list(self.times_months),
            "cumulative_hazard": list(self.cumulative_hazard),
            "horizon_months": self.horizon_months,
            "n_cases": self.n_cases,
            "n_events": self.n_events,
            "citl_log_hr": self.citl_log_hr,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Recalibration:
        """Read parameters stored by :meth:`to_json`.

        Raises:
            ValueError: another method, a non-positive slope or a malformed baseline.
        """
        if data.get("method") != METHOD:
            raise ValueError(f"unknown recalibration method {data.get('method')!r}")
        times = tuple(float(t) for t in data["times_months"])
        hazard = tuple(float(h) for h in data["cumulative_hazard"])
        slope = float(data["slope"])
        if not times or len(times) != len(hazard) or np.any(np.diff(times) <= 0):
            raise ValueError("the recalibration baseline needs increasing times, one per hazard")
        if not (slope > 0 and math.isfinite(slope)):
            raise ValueError("the recalibration slope must be positive")
        return cls(
            reference_months=float(data["reference_months"]),
            slope=slope,
            z_centre=float(data["z_centre"]),
            times_months=times,
            cumulative_hazard=hazard,
            horizon_months=float(data["horizon_months"]),
            n_cases=int(data["n_cases"]),
            n_events=int(data["n_events"]),
            citl_log_hr=float(data["citl_log_hr"]),
        )

    def baseline_at(self, months: FloatArray) -> FloatArray:
        """Site baseline cumulative hazard (step function) at the given times."""
        times = np.asarray(self.times_months)
        index = np.searchsorted(times, np.asarray(months, dtype=np.float64), side="right") - 1
        hazard = np.asarray(self.cumulative_hazard)
        return np.where(index >= 0, hazard[np.clip(index, 0, None)], 0.0)


def cloglog(survival: FloatArray) -> FloatArray:
    """``log(-log S)`` with S kept inside (0, 1)."""
    s = np.clip(np.asarray(survival, dtype=np.float64), _EPS, 1.0 - _EPS)
    return np.asarray(np.log(-np.log(s)), dtype=np.float64)


def apply_to_z(params: Recalibration, z: FloatArray, months: FloatArray) -> FloatArray:
    """Recalibrated survival for linear predictors ``z`` (N,) at ``months`` (G,): (N, G)."""
    scale = np.exp(params.slope * (np.asarray(z, dtype=np.float64) - params.z_centre))
    return np.exp(-np.outer(scale, params.baseline_at(months)))


def _z_of(grid: FloatArray, survival: FloatArray, months: float) -> float | None:
    value = survival_at_months(grid, survival, months)
    return None if value is None else float(cloglog(np.array([value]))[0])


def recalibrate_prediction(
    prediction: SurvivalPrediction, params: Recalibration, *, label: str = ""
) -> SurvivalPrediction:
    """The prediction with its curve, band, landmarks, median and interval recalibrated.

    An abstention, or a curve that stops before the reference time, is returned unchanged (the
    latter with a note in ``validation``), so nothing is recalibrated on a guess.

    Args:
        prediction: the active model's prediction.
        params: the site parameters.
        label: the registry row's name for the note (``"site recalibration v2"``).
    """
    if prediction.status != "ok":
        return prediction
    curve = prediction.curve
    grid = np.asarray(curve.times_months, dtype=np.float64)
    mean, lower, upper = (
        np.asarray(v, dtype=np.float64) for v in (curve.survival, curve.lower, curve.upper)
    )
    zs = [_z_of(grid, c, params.reference_months) for c in (mean, lower, upper)]
    validation = dict(prediction.validation or {})
    if any(z is None for z in zs):
        validation["recalibration"] = (
            f"not applied: the curve stops before {params.reference_months:g} months"
        )
        return replace(prediction, validation=validation)
    end = float(params.times_months[-1])
    keep = grid <= end
    new_grid = grid[keep]
    new = apply_to_z(params, np.array(zs, dtype=np.float64), new_grid)
    new_mean, new_lower, new_upper = new[0], new[1], new[2]
    validation["recalibration"] = {
        "label": label,
        "method": METHOD,
        "slope": params.slope,
        "citl_log_hr": params.citl_log_hr,
        "site_cases": params.n_cases,
        "site_events": params.n_events,
        "curve_ends_months": float(new_grid[-1]),
    }
    explanation = prediction.explanation
    if explanation is not None:
        # The page states S at the explanation's horizon: the recalibrated one. The attributions
        # are the network's (a recalibration rescales risk, it does not reorder the inputs).
        at = survival_at_months(new_grid, new_mean, 12.0 * explanation.reference_years)
        explanation = replace(explanation, baseline_survival=float(at or 0.0))
    return replace(
        prediction,
        explanation=explanation,
        **curve_summary(new_grid, new_mean, new_lower, new_upper),
        time_interval=_interval(prediction.time_interval, grid, mean, new_grid, new_mean),
        validation=validation,
    )


def _interval(
    interval: TimeInterval | None,
    grid: FloatArray,
    old: FloatArray,
    new_grid: FloatArray,
    new: FloatArray,
) -> TimeInterval | None:
    """The interval with the survival level at each end kept, read off the new curve."""
    if interval is None:
        return None

    def moved(months: float | None) -> float | None:
        if months is None:
            return None
        level = survival_at_months(grid, old, min(months, float(grid[-1])))
        if level is None or level >= 1.0 - _EPS:
            return 0.0 if months <= 0 else quantile_time(new_grid, new, 1.0 - _EPS)
        return quantile_time(new_grid, new, level)

    lower = moved(interval.lower_months)
    upper = moved(interval.upper_months) if interval.upper_months is not None else None
    return replace(
        interval,
        lower_months=float(lower) if lower is not None else float(new_grid[-1]),
        upper_months=upper,
        # Coverage was measured for the old curve; the site report measures the new one.
        measured_coverage=None,
    )
