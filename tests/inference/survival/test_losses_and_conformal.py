"""The piecewise-exponential likelihood and the censoring-aware conformal interval."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from inference.survival import conformal
from inference.survival.losses import bin_targets, cox_partial_nll, piecewise_exponential_nll


def test_the_likelihood_equals_the_exponential_likelihood_for_a_constant_hazard() -> None:
    rate = 0.1
    edges = tuple(float(t) for t in range(0, 31, 5))
    times = np.array([2.0, 7.5, 14.0, 29.0, 40.0])
    events = np.array([1.0, 0.0, 1.0, 1.0, 1.0])
    log_hazard = torch.full((5, 6), float(np.log(rate * 5.0)))  # hazard accrued per 5-month bin
    loss = piecewise_exponential_nll(log_hazard, bin_targets(times, events, edges))
    followed = np.minimum(times, 30.0)
    observed = np.where(times > 30.0, 0.0, events)
    expected = -np.mean(observed * np.log(rate) - rate * followed)
    assert float(loss) == pytest.approx(expected, rel=1e-5)


def test_cox_partial_likelihood_prefers_the_true_ordering() -> None:
    times = torch.tensor([1.0, 2.0, 3.0, 4.0])
    events = torch.ones(4)
    right = cox_partial_nll(torch.tensor([3.0, 2.0, 1.0, 0.0]), times, events)
    wrong = cox_partial_nll(torch.tensor([0.0, 1.0, 2.0, 3.0]), times, events)
    assert float(right) < float(wrong)


def test_conformal_intervals_reach_nominal_coverage_under_censoring() -> None:
    rng = np.random.default_rng(0)
    grid = np.linspace(0.0, 120.0, 121)

    def simulate(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rate = np.exp(rng.normal(size=n)) / 20.0
        event_time = rng.exponential(1.0 / rate)
        censor_time = rng.uniform(0.0, 150.0, size=n)
        # A deliberately overconfident model (hazards off by 1.5x) that conformal must repair.
        curves = np.exp(-1.5 * rate[:, None] * grid[None, :])
        times = np.minimum(event_time, censor_time)
        return times, (event_time <= censor_time).astype(float), curves

    cal_t, cal_e, cal_s = simulate(3000)
    test_t, test_e, test_s = simulate(3000)
    alpha = 0.2
    fitted = conformal.calibrate(
        cal_t, cal_e, cal_t, cal_e, conformal.model_intervals(grid, cal_s, alpha), alpha
    )
    intervals = conformal.apply(conformal.model_intervals(grid, test_s, alpha), fitted)
    coverage = conformal.measured_coverage(test_t, test_e, test_t, test_e, intervals)
    assert coverage == pytest.approx(0.8, abs=0.03)
