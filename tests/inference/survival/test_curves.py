"""What a prediction states of a curve (median, landmark years, risk score), on exact curves."""

from __future__ import annotations

import math

import numpy as np

from inference.survival.curves import curve_summary


def test_the_summary_of_an_exponential_curve_states_its_median_landmarks_and_rmst() -> None:
    grid = np.linspace(0.0, 48.0, 97)  # every half month for four years
    hazard = math.log(2.0) / 20.0  # median 20 months
    survival = np.exp(-hazard * grid)
    summary = curve_summary(grid, survival, survival * 0.9, np.minimum(survival * 1.1, 1.0))
    assert summary["curve"].times_months == tuple(grid.tolist())
    assert summary["median_months"] is not None
    assert math.isclose(summary["median_months"], 20.0, rel_tol=1e-9)  # log-linear is exact here
    one, three, five = summary["survival_at"]
    assert math.isclose(one.survival or 0.0, math.exp(-hazard * 12.0), rel_tol=1e-9)
    assert three.years == 3 and three.lower is not None and three.upper is not None
    assert five.survival is None  # beyond the curve's last time: never extrapolated
    rmst = np.trapezoid(survival, grid)
    assert math.isclose(summary["risk_score"], -rmst, rel_tol=1e-12)


def test_a_curve_that_stays_above_one_half_has_no_median() -> None:
    grid = np.linspace(0.0, 24.0, 25)
    flat = np.full_like(grid, 0.8)
    assert curve_summary(grid, flat, flat, flat)["median_months"] is None
