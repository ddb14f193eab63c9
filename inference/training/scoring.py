"""One place that scores test predictions, so every model and baseline is measured alike."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from inference.survival import conformal
from inference.survival.curves import restricted_mean, survival_at_grid_times
from inference.survival.metrics import antolini_c, calibration_at, harrell_c, integrated_brier

FloatArray = npt.NDArray[np.float64]
LANDMARK_MONTHS = (12.0, 36.0, 60.0)


def evaluation_times(grid: FloatArray, test_times: FloatArray) -> FloatArray:
    """IBS time grid: the model grid points from its first step up to the 90th percentile of the
    test follow-up (beyond it too few patients remain for a stable IPCW estimate).

    Args:
        grid: (G,) model grid.
        test_times: (N,) test follow-up.

    Returns:
        (K,) evaluation times.
    """
    upper = float(np.quantile(test_times, 0.9))
    times = grid[(grid > 0) & (grid <= upper)]
    return times if len(times) >= 2 else grid[1:3]


def score(
    grid: FloatArray,
    survival: FloatArray,
    times: FloatArray,
    events: FloatArray,
    train_times: FloatArray,
    train_events: FloatArray,
    risk: FloatArray | None = None,
) -> dict[str, float]:
    """Harrell C, Antolini C^td and IBS of test curves.

    Args:
        grid: (G,) grid of the curves.
        survival: (N, G) test curves.
        times, events: test outcomes.
        train_times, train_events: training outcomes (censoring distribution).
        risk: (N,) risk score for Harrell's C; default the negative RMST over the grid.

    Returns:
        ``{"c_index", "c_td", "ibs"}``.
    """
    if risk is None:
        risk = -restricted_mean(grid, survival)
    eval_times = evaluation_times(grid, times)
    predicted = survival_at_grid_times(grid, survival, eval_times)
    return {
        "c_index": harrell_c(times, events, risk),
        "c_td": antolini_c(times, events, grid, survival),
        "ibs": integrated_brier(train_times, train_events, times, events, predicted, eval_times),
    }


def calibration_summary(
    grid: FloatArray,
    survival: FloatArray,
    times: FloatArray,
    events: FloatArray,
    *,
    min_at_risk: int = 1,
) -> list[dict[str, Any]]:
    """Grouped calibration at 1, 3 and 5 years (those inside the grid and the follow-up).

    Args:
        grid: (G,) grid.
        survival: (N, G) curves.
        times, events: outcomes.
        min_at_risk: skip a landmark that fewer patients are still followed at (a slope from a
            handful of survivors is noise; per-cancer-type reports ask for 10).

    Returns:
        One dictionary per landmark, with ``at_risk`` the number still followed at it.
    """
    result = []
    for months in LANDMARK_MONTHS:
        at_risk = int((times >= months).sum())
        if months > grid[-1] or months > times.max() or at_risk < min_at_risk:
            continue
        predicted = survival_at_grid_times(grid, survival, np.array([months]))[:, 0]
        cal = calibration_at(times, events, predicted, months, groups=5 if len(times) < 500 else 10)
        result.append(
            {
                "months": months,
                "at_risk": at_risk,
                "slope": cal.slope,
                "intercept": cal.intercept,
                "mean_abs_error": cal.mean_abs_error,
                "predicted": list(cal.predicted),
                "observed": list(cal.observed),
                "sizes": list(cal.sizes),
            }
        )
    return result


def conformal_coverage(
    grid: FloatArray,
    survival: FloatArray,
    times: FloatArray,
    events: FloatArray,
    train_times: FloatArray,
    train_events: FloatArray,
    calibration: conformal.ConformalCalibration,
) -> dict[str, float]:
    """Measured (IPCW) coverage of the calibrated intervals on test cases.

    Args:
        grid: (G,) grid.
        survival: (N, G) test curves.
        times, events: test outcomes.
        train_times, train_events: for the censoring distribution.
        calibration: the fitted widening.

    Returns:
        Nominal and measured coverage, the correction and the share of intervals with a finite
        upper bound.
    """
    intervals = conformal.apply(
        conformal.model_intervals(grid, survival, calibration.alpha), calibration
    )
    measured = conformal.measured_coverage(train_times, train_events, times, events, intervals)
    return {
        "nominal": calibration.nominal,
        "measured": measured,
        "correction_months": calibration.correction,
        "finite_upper_share": float(np.isfinite(intervals[:, 1]).mean()),
    }
