"""Metrics and Kaplan-Meier against lifelines / scikit-survival on fixed data."""

from __future__ import annotations

import numpy as np
import pytest
from lifelines import KaplanMeierFitter
from lifelines.utils import concordance_index

from inference.survival.kaplan_meier import kaplan_meier
from inference.survival.metrics import (
    antolini_c,
    calibration_at,
    harrell_c,
    integrated_brier,
)


def _data(n: int = 300, seed: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    risk = rng.normal(size=n)
    event_time = rng.exponential(scale=np.exp(-risk)) * 10.0
    censor_time = rng.exponential(scale=12.0, size=n)
    times = np.round(np.minimum(event_time, censor_time), 2)  # rounding creates tied times
    events = (event_time <= censor_time).astype(np.float64)
    return times, events, np.round(risk + rng.normal(scale=1.0, size=n), 1)  # and tied risks


def test_harrell_c_matches_lifelines_with_ties() -> None:
    times, events, risk = _data()
    expected = concordance_index(times, -risk, events)
    assert harrell_c(times, events, risk) == pytest.approx(expected, abs=1e-12)


def test_harrell_c_matches_scikit_survival() -> None:
    import sksurv.metrics as sksurv_metrics

    times, events, risk = _data()
    expected = sksurv_metrics.concordance_index_censored(events > 0, times, risk)[0]
    assert harrell_c(times, events, risk) == pytest.approx(expected, abs=1e-12)


def test_antolini_equals_harrell_when_curves_do_not_cross() -> None:
    times, events, risk = _data(seed=5)
    grid = np.linspace(0.0, 40.0, 81)
    survival = np.exp(-np.exp(risk)[:, None] * grid[None, :] / 10.0)  # proportional hazards
    assert antolini_c(times, events, grid, survival) == pytest.approx(
        harrell_c(times, events, risk), abs=1e-12
    )


def test_antolini_judges_crossing_curves_at_the_event_time() -> None:
    # Case 0 dies at t=1 and case 1 is censored at t=5. At t=1 case 0's curve is lower, so the
    # pair is concordant although case 0's curve ends higher (the curves cross at t=2).
    grid = np.array([0.0, 1.0, 2.0, 3.0])
    survival = np.array([[1.0, 0.5, 0.45, 0.45], [1.0, 0.8, 0.45, 0.1]])
    times, events = np.array([1.0, 5.0]), np.array([1.0, 0.0])
    assert antolini_c(times, events, grid, survival) == 1.0


def test_integrated_brier_matches_scikit_survival() -> None:
    import sksurv.metrics as sksurv_metrics
    from sksurv.util import Surv

    rng = np.random.default_rng(0)
    n = 200
    train_t, test_t = rng.exponential(10.0, n), rng.exponential(10.0, n)
    test_t = np.minimum(test_t, 0.99 * train_t.max())  # scikit-survival needs test <= train range
    train_e, test_e = rng.random(n) < 0.7, rng.random(n) < 0.7
    eval_times = np.linspace(1.0, 12.0, 12)
    scale = rng.uniform(5.0, 15.0, n)
    predicted = np.exp(-eval_times[None, :] / scale[:, None])
    expected = sksurv_metrics.integrated_brier_score(
        Surv.from_arrays(train_e, train_t), Surv.from_arrays(test_e, test_t), predicted, eval_times
    )
    ours = integrated_brier(
        train_t, train_e.astype(float), test_t, test_e.astype(float), predicted, eval_times
    )
    assert ours == pytest.approx(expected, rel=1e-9)


def test_kaplan_meier_matches_lifelines() -> None:
    times, events, _ = _data()
    ours = kaplan_meier(times, events)
    fitter = KaplanMeierFitter().fit(times, events)
    probe = np.array([0.5, 1.0, 2.5, 5.0, 10.0, 20.0])
    expected = fitter.survival_function_at_times(probe).to_numpy()
    np.testing.assert_allclose(ours(probe), expected, rtol=1e-12)


def test_calibration_of_the_true_model_has_slope_near_one() -> None:
    rng = np.random.default_rng(1)
    n = 4000
    rate = np.exp(rng.normal(size=n)) / 10.0
    times = rng.exponential(1.0 / rate)
    events = np.ones(n)
    predicted = np.exp(-rate * 12.0)
    calibration = calibration_at(times, events, predicted, 12.0)
    assert calibration.slope == pytest.approx(1.0, abs=0.1)
    assert calibration.intercept == pytest.approx(0.0, abs=0.08)
    assert calibration.mean_abs_error < 0.03
