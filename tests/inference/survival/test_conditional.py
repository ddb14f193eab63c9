"""Conditional survival from today, checked on curves whose conditional form is known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from inference.schema import SurvivalCurve
from inference.survival.conditional import condition_on_survival

GRID = tuple(float(t) for t in range(0, 121, 6))  # 0..120 months, like the TCGA model


def _curve(hazard_mean: float, hazard_low: float, hazard_high: float) -> SurvivalCurve:
    """Exponential curves; ``lower`` has the highest hazard (lowest survival)."""
    return SurvivalCurve(
        times_months=GRID,
        survival=tuple(math.exp(-hazard_mean * t) for t in GRID),
        lower=tuple(math.exp(-hazard_low * t) for t in GRID),
        upper=tuple(math.exp(-hazard_high * t) for t in GRID),
    )


def test_an_exponential_curve_is_memoryless_from_today() -> None:
    result = condition_on_survival(_curve(0.01, 0.02, 0.005), 30.0)
    assert result.status == "ok" and result.curve is not None
    times = np.array(result.curve.times_months)
    assert times[0] == 0.0 and times[-1] == pytest.approx(90.0)
    assert result.curve.survival == pytest.approx(tuple(np.exp(-0.01 * times)))
    # Each band edge is conditioned on its own value at 30 months: still its own exponential.
    assert result.curve.lower == pytest.approx(tuple(np.exp(-0.02 * times)))
    assert result.curve.upper == pytest.approx(tuple(np.exp(-0.005 * times)))
    one_year = result.survival_at[0]
    assert (one_year.years, one_year.survival) == (1, pytest.approx(math.exp(-0.12)))
    assert one_year.lower == pytest.approx(math.exp(-0.24))
    assert result.median_months == pytest.approx(math.log(2) / 0.01, rel=1e-6)
    assert result.survival_at_elapsed == pytest.approx(math.exp(-0.3))


def test_a_weibull_curve_gives_the_textbook_conditional_survival() -> None:
    scale = 60.0

    def weibull(t: float) -> float:
        return math.exp(-((t / scale) ** 2))

    curve = SurvivalCurve(
        GRID, tuple(map(weibull, GRID)), tuple(map(weibull, GRID)), tuple(map(weibull, GRID))
    )
    result = condition_on_survival(curve, 24.0)
    assert result.curve is not None
    for t, s in zip(result.curve.times_months, result.curve.survival, strict=True):
        assert s == pytest.approx(weibull(24.0 + t) / weibull(24.0), rel=1e-9)
    # The hazard rises with time: having survived two years lowers the next year's survival.
    one_year = result.survival_at[0].survival
    assert one_year == pytest.approx(weibull(36.0) / weibull(24.0))
    assert one_year is not None and one_year < weibull(12.0)


def test_no_time_elapsed_returns_the_model_curve() -> None:
    curve = _curve(0.01, 0.02, 0.005)
    result = condition_on_survival(curve, 0.0)
    assert result.curve is not None
    assert result.curve.times_months == curve.times_months
    assert result.curve.survival == pytest.approx(curve.survival)
    assert result.curve.lower == pytest.approx(curve.lower)
    assert result.horizon_months == 120.0


def test_the_band_always_contains_the_conditioned_mean() -> None:
    # The lower edge falls steeply early then flattens, so conditioned on its own small value at
    # 24 months it would sit above the conditioned mean without the envelope.
    low = tuple(0.5 if t >= 24 else 1.0 - t / 48 for t in GRID)
    mean = tuple(math.exp(-0.01 * t) for t in GRID)
    high = tuple(min(1.0, s + 0.05) if t else 1.0 for t, s in zip(GRID, mean, strict=True))
    result = condition_on_survival(SurvivalCurve(GRID, mean, low, high), 24.0)
    assert result.curve is not None
    for lo, s, hi in zip(
        result.curve.lower, result.curve.survival, result.curve.upper, strict=True
    ):
        assert lo <= s + 1e-12 and s <= hi + 1e-12


def test_landmarks_past_the_models_horizon_are_not_extrapolated() -> None:
    # Diagnosed 7.9 years ago, the 10-year model covers about 2 years from today.
    result = condition_on_survival(_curve(0.01, 0.02, 0.005), 94.8)
    assert result.status == "ok"
    assert result.horizon_months == pytest.approx(25.2)
    years = {mark.years: mark for mark in result.survival_at}
    assert years[1].survival == pytest.approx(math.exp(-0.12))
    assert years[3].survival is None and years[3].lower is None and years[5].survival is None
    assert result.curve is not None and result.curve.times_months[-1] == pytest.approx(25.2)


@pytest.mark.parametrize("elapsed", [120.0, 150.0])
def test_it_abstains_at_or_beyond_the_horizon(elapsed: float) -> None:
    result = condition_on_survival(_curve(0.01, 0.02, 0.005), elapsed)
    assert result.status == "abstained" and result.curve is None
    assert "cannot be extended" in result.reason
    assert all(mark.survival is None for mark in result.survival_at)
    assert result.median_months is None


def test_it_abstains_when_the_model_gave_almost_no_chance_of_surviving_so_long() -> None:
    result = condition_on_survival(_curve(0.1, 0.2, 0.05), 60.0)  # S(60) = e^-6 = 0.25%
    assert result.status == "abstained" and result.curve is None
    assert "no basis" in result.reason


def test_a_negative_elapsed_time_is_refused() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        condition_on_survival(_curve(0.01, 0.02, 0.005), -1.0)
