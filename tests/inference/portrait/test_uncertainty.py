"""The band helper and the per-type conformal rule (ok, widened, abstained) on made-up scores."""

from __future__ import annotations

import numpy as np
import pytest

from inference.portrait.uncertainty import TOLERANCE, band, calibrate_type, coverage

#: 100 validation events with scores 0..99 months: at nominal 0.9 the finite-sample level is
#: 0.9 * 101 / 100 = 0.909, so the correction is the 91st smallest score, 90.
VAL = np.arange(100.0)
ONES = np.ones(100)


def test_the_nominal_correction_is_the_split_conformal_quantile_of_validation_scores() -> None:
    result = calibrate_type(VAL, ONES, VAL, ONES)
    assert result.status == "ok"
    assert result.correction_months == 90.0
    assert result.quantile_level == pytest.approx(0.909)
    assert result.measured_test == result.measured_test_at_nominal == pytest.approx(0.91)


def test_a_shortfall_within_three_points_stays_ok() -> None:
    # 88 of 100 test events inside at correction 90: 0.88 >= 0.9 - 0.03.
    test = np.concatenate([np.linspace(0.0, 90.0, 88), np.full(12, 95.0)])
    result = calibrate_type(VAL, ONES, test, ONES)
    assert result.status == "ok" and result.measured_test == pytest.approx(0.88)


def test_a_larger_shortfall_widens_by_a_higher_validation_quantile() -> None:
    # 85 inside at 90 (short by 5 points), the rest at 91-95.
    test = np.concatenate([np.linspace(0.0, 90.0, 85), np.linspace(91.0, 95.0, 15)])
    result = calibrate_type(VAL, ONES, test, ONES)
    assert result.status == "widened"
    assert result.measured_test_at_nominal == pytest.approx(0.85)
    assert result.quantile_level == pytest.approx(0.909 + 0.05)  # raised by the shortfall
    assert result.correction_months == 95.0
    assert result.measured_test == pytest.approx(1.0)
    assert result.measured_test >= 0.9 - TOLERANCE


def test_it_abstains_when_even_the_widest_validation_correction_falls_short() -> None:
    test = np.concatenate([np.linspace(0.0, 90.0, 50), np.linspace(200.0, 300.0, 50)])
    result = calibrate_type(VAL, ONES, test, ONES)
    assert result.status == "abstained"
    assert result.quantile_level == 1.0 and result.correction_months == 99.0
    assert result.measured_test == pytest.approx(0.5)
    assert result.facts()["status"] == "abstained"


def test_it_abstains_with_too_few_validation_events() -> None:
    # 0.9 * 6 / 5 > 1: no split-conformal quantile exists at this level.
    result = calibrate_type(VAL[:5], ONES[:5], VAL, ONES)
    assert result.status == "abstained"
    assert result.facts()["correction_months"] is None  # NaN is stored as None (JSON)


def test_coverage_is_weighted_by_the_censoring_weights() -> None:
    scores, weights = np.array([0.0, 10.0]), np.array([3.0, 1.0])
    assert coverage(scores, weights, 5.0) == pytest.approx(0.75)


def test_the_band_always_contains_the_main_curve() -> None:
    main = np.array([[1.0, 0.8, 0.6]])
    above = np.stack([main + 0.05 * (b + 1) for b in range(20)])  # (B, N, G), all above main
    lower, upper = band(main, above, 0.9)
    assert np.array_equal(lower, main)
    assert (upper > main).all()
    spread = np.stack([main + 0.01 * (b - 10) for b in range(21)])
    lower, upper = band(main, spread, 0.9)
    assert (lower < main).all() and (upper > main).all()


def test_the_band_level_must_be_a_share() -> None:
    with pytest.raises(ValueError, match="level"):
        band(np.ones((1, 2)), np.ones((3, 1, 2)), 1.0)
