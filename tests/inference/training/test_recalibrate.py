"""Site recalibration: the fit recovers a known shifted baseline and slope; the temporal split
respects dates; the runtime transform keeps the band and interval consistent."""

from __future__ import annotations

import math

import numpy as np
import pytest

from inference.schema import ModelInfo, SurvivalPrediction, TimeInterval
from inference.survival.curves import landmark_survival, survival_curve
from inference.survival.kaplan_meier import kaplan_meier_at
from inference.survival.recalibration import (
    Recalibration,
    apply_to_z,
    cloglog,
    recalibrate_prediction,
)
from inference.training.recalibrate import (
    cox_slope,
    fit_recalibration,
    recalibration_from_predictions,
    temporal_split,
)

GRID = np.arange(0.0, 121.0, 3.0)


def _site(n: int, *, rate: float, slope: float, seed: int) -> tuple[np.ndarray, ...]:
    """Patients whose true hazard is rate * exp(slope * lp); the 'model' believes 0.02 * exp(lp)."""
    rng = np.random.default_rng(seed)
    lp = rng.normal(0.0, 0.8, n)
    event_time = rng.exponential(1.0 / (rate * np.exp(slope * lp)))
    censor = rng.uniform(24.0, 120.0, n)
    times = np.minimum(event_time, censor)
    events = (event_time <= censor).astype(float)
    return lp, np.maximum(times, 0.01), events


def _model_curve(lp: float) -> np.ndarray:
    return np.exp(-0.02 * GRID * math.exp(lp))


def _prediction(lp: float, case: str = "1") -> SurvivalPrediction:
    mean = _model_curve(lp)
    lower, upper = _model_curve(lp + 0.3), _model_curve(lp - 0.3)
    return SurvivalPrediction(
        case_id=case,
        status="ok",
        abstention_reasons=(),
        curve=survival_curve(GRID, mean, lower, upper),
        median_months=None,
        survival_at=landmark_survival(GRID, mean, lower, upper),
        risk_score=0.0,
        time_interval=TimeInterval(6.0, 60.0, 0.8, 0.8),
        inputs_used=("clinical",),
        inputs_missing=(),
        inputs_ignored=(),
        model=ModelInfo("toy", "1", "0" * 64, ("clinical",), (), {}, (), ""),
        explanation=None,
    )


def test_cox_slope_recovers_a_known_slope() -> None:
    lp, times, events = _site(4000, rate=0.02, slope=0.6, seed=1)
    slope, se = cox_slope(lp, times, events)
    assert abs(slope - 0.6) < 3 * se
    assert se < 0.05


def test_a_shifted_baseline_is_recovered() -> None:
    # The site's hazard is 3x the model's at every risk: the fit must find log(3) and slope 1.
    lp, times, events = _site(4000, rate=0.06, slope=1.0, seed=2)
    z = cloglog(np.exp(-0.02 * 36.0 * np.exp(lp)))  # the model's S(36) on cloglog
    params = fit_recalibration(z, times, events, reference_months=36.0, horizon_months=36.0)
    assert params.slope == pytest.approx(1.0, abs=0.06)
    assert params.citl_log_hr == pytest.approx(math.log(3.0), abs=0.08)
    # The recalibrated S(36) of a typical case matches the truth, the model's does not.
    truth = math.exp(-0.06 * 36.0)
    recalibrated = apply_to_z(params, cloglog(np.array([math.exp(-0.72)])), np.array([36.0]))
    assert float(recalibrated[0, 0]) == pytest.approx(truth, abs=0.03)
    assert abs(math.exp(-0.72) - truth) > 0.25


def test_a_model_ranking_backwards_is_refused() -> None:
    lp, times, events = _site(800, rate=0.03, slope=1.0, seed=3)
    with pytest.raises(ValueError, match="slope"):
        fit_recalibration(-lp, times, events, reference_months=12.0, horizon_months=36.0)


def test_temporal_split_fits_on_older_and_never_splits_a_day() -> None:
    days = np.array([50, 10, 30, 30, 30, 70, 90, 20, 60, 80], dtype=float)
    split = temporal_split(days, 0.5)
    assert days[split.older].max() < days[split.newer].min()
    assert split.cut_day == 50.0
    assert sorted(np.concatenate([split.older, split.newer]).tolist()) == list(range(10))
    # Ties on the cut day all go to the newer part.
    tied = temporal_split(np.array([1, 1, 1, 2, 2, 2], dtype=float), 0.3)
    assert set(tied.older.tolist()) == {0, 1, 2} and set(tied.newer.tolist()) == {3, 4, 5}
    with pytest.raises(ValueError, match="two different days"):
        temporal_split(np.array([5.0, 5.0]))


def test_recalibrated_prediction_keeps_band_and_interval_consistent() -> None:
    lp, times, events = _site(3000, rate=0.06, slope=1.0, seed=4)
    z = cloglog(np.exp(-0.02 * 36.0 * np.exp(lp)))
    params = fit_recalibration(z, times, events, reference_months=36.0, horizon_months=36.0)
    params = Recalibration.from_json(params.to_json())
    before = _prediction(0.2)
    after = recalibrate_prediction(before, params, label="site v1")
    s, lo, hi = (np.array(v) for v in (after.curve.survival, after.curve.lower, after.curve.upper))
    assert np.all(lo <= s + 1e-12) and np.all(s <= hi + 1e-12)
    # Worse site: every point of the curve is lower, and so is the 3-year landmark.
    n = len(s)
    assert np.all(s[1:] < np.array(before.curve.survival)[1:n])
    three = {row.years: row for row in after.survival_at}[3]
    assert three.survival is not None and three.survival < 0.7
    assert three.lower is not None and three.lower <= three.survival <= (three.upper or 1.0)
    # The interval keeps its survival levels: its ends move earlier on a worse curve.
    assert after.time_interval is not None and before.time_interval is not None
    assert after.time_interval.lower_months < before.time_interval.lower_months
    assert after.time_interval.measured_coverage is None
    assert after.validation is not None and after.validation["recalibration"]["label"] == "site v1"


def test_recalibration_from_predictions_halves_the_error_on_newer_cases() -> None:
    lp, times, events = _site(1200, rate=0.05, slope=1.0, seed=5)
    predictions = [_prediction(float(x), str(i)) for i, x in enumerate(lp)]
    days = np.arange(len(lp), dtype=float)  # diagnosed one a day
    result = recalibration_from_predictions(
        predictions, times, events, days, horizon=36.0,
        recalibrate=recalibrate_prediction,
        groups={"sex": np.where(np.arange(len(lp)) % 2, "female", "male")},
    )  # fmt: skip
    assert result["split"]["older"] + result["split"]["newer"] == 1200
    models = result["report"]["models"]
    assert models["candidate"]["citl_abs_error"] <= 0.5 * models["active"]["citl_abs_error"]
    assert models["candidate"]["c_index"] >= models["active"]["c_index"] - 1e-9
    assert set(models["candidate"]["subgroups"]["sex"]) == {"female", "male"}
    newer = np.arange(600, 1200)
    observed = kaplan_meier_at(times[newer], events[newer], 36.0)
    assert models["active"]["observed"] == pytest.approx(observed)
