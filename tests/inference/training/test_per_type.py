"""Per-cancer-type validation of the pan-cancer checkpoint: the interval rule and the figures."""

from __future__ import annotations

import json

import numpy as np
import pytest

from inference.survival import conformal
from inference.survival.curves import restricted_mean
from inference.survival.metrics import calibration_at, harrell_c
from inference.training.per_type import (
    COVERAGE_TOLERANCE,
    MIN_AT_RISK,
    MIN_CALIBRATION_EVENTS,
    IntervalDecision,
    evaluate_shipped,
    interval_rule,
    type_facts,
)
from inference.training.report import replace_section
from inference.weights import SHIPPED
from tests.paths import SHARED_DATA

NOMINAL = 0.8
POOLED = 0.2


def _rule(measured: float, **changes: object) -> IntervalDecision:
    arguments: dict[str, object] = {
        "nominal": NOMINAL,
        "measured_test": measured,
        "pooled_correction": POOLED,
        "type_correction": 12.0,
        "type_events": MIN_CALIBRATION_EVENTS,
        "measured_widened": NOMINAL + 0.05,
    }
    arguments.update(changes)
    return interval_rule(**arguments)  # type: ignore[arg-type]


def test_it_keeps_the_pooled_interval_within_three_points_of_nominal() -> None:
    decision = _rule(NOMINAL - COVERAGE_TOLERANCE + 0.001)
    assert (decision.status, decision.correction_months, decision.reason) == ("ok", POOLED, "")


def test_it_widens_a_short_type_with_the_widening_of_its_own_calibration_patients() -> None:
    decision = _rule(NOMINAL - COVERAGE_TOLERANCE - 0.001)
    assert decision.status == "widened"
    assert decision.correction_months == 12.0
    # What is served is the widened interval, so its coverage is the one stated.
    assert decision.measured_coverage == pytest.approx(NOMINAL + 0.05)
    assert "widened by 12.0 months" in decision.reason


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"type_events": MIN_CALIBRATION_EVENTS - 1}, "too few"),
        ({"type_correction": None, "type_events": 0}, "too few"),
        ({"type_correction": POOLED}, "call for no wider interval"),
        ({"measured_widened": NOMINAL - COVERAGE_TOLERANCE - 0.01}, "still falls short"),
        ({"measured_widened": None}, "not measurable"),
    ],
)
def test_it_withholds_the_interval_when_no_honest_widening_exists(
    changes: dict[str, object], why: str
) -> None:
    decision = _rule(0.6, **changes)
    assert decision.status == "abstained" and decision.correction_months is None
    assert why in decision.reason and "60%" in decision.reason
    assert decision.measured_coverage == pytest.approx(0.6)


def test_it_withholds_the_interval_when_coverage_could_not_be_measured() -> None:
    decision = _rule(float("nan"))
    assert decision.status == "abstained" and decision.measured_coverage is None


def _slice(rng: np.random.Generator, n: int, rate: float) -> dict[str, np.ndarray]:
    """Curves of an exponential model whose true rate is ``rate`` times the predicted one."""
    grid = np.arange(0.0, 121.0, 6.0)
    hazard = rng.uniform(0.005, 0.05, size=n)
    curves = np.exp(-np.outer(hazard, grid))
    event = rng.exponential(1.0 / (rate * hazard))
    censor = rng.uniform(6.0, 140.0, size=n)
    times = np.minimum(event, censor)
    return {"grid": grid, "curves": curves, "times": times, "events": (event <= censor) * 1.0}


def test_type_facts_are_the_scoring_functions_on_the_types_own_patients() -> None:
    rng = np.random.default_rng(3)
    # Predicted hazards a quarter of the true ones: the pooled interval undercovers this type.
    test, calibration, train = _slice(rng, 150, 4.0), _slice(rng, 120, 4.0), _slice(rng, 300, 4.0)
    fit = _slice(rng, 240, 4.0)
    grid = test["grid"]
    pooled = conformal.ConformalCalibration(alpha=0.2, correction=0.5, n_events=100)
    risk = rng.normal(size=150)
    facts = type_facts(
        grid, pooled,
        test_curves=test["curves"], test_times=test["times"], test_events=test["events"],
        train_times=train["times"], train_events=train["events"],
        calibration_curves=calibration["curves"], calibration_times=calibration["times"],
        calibration_events=calibration["events"],
        fit_times=fit["times"], fit_events=fit["events"], coxph_risk=risk,
    )  # fmt: skip
    assert facts["test_n"] == 150 and facts["test_events"] == int(test["events"].sum())
    assert facts["harrell_c"] == harrell_c(
        test["times"], test["events"], -restricted_mean(grid, test["curves"])
    )
    assert facts["coxph_c"] == harrell_c(test["times"], test["events"], risk)
    for landmark in facts["calibration"]:
        months = landmark["months"]
        assert landmark["at_risk"] == int((test["times"] >= months).sum()) >= MIN_AT_RISK
        predicted = test["curves"][:, int(months // 6)]
        expected = calibration_at(test["times"], test["events"], predicted, months, groups=5)
        assert landmark["slope"] == pytest.approx(expected.slope)
    raw = conformal.model_intervals(grid, test["curves"], 0.2)
    measured = conformal.measured_coverage(
        train["times"], train["events"], test["times"], test["events"], conformal.apply(raw, pooled)
    )
    assert facts["conformal"]["measured_test_pooled"] == measured
    own = conformal.calibrate(
        fit["times"], fit["events"], calibration["times"], calibration["events"],
        conformal.model_intervals(grid, calibration["curves"], 0.2), 0.2,
    )  # fmt: skip
    assert facts["conformal"]["type_correction_months"] == own.correction
    assert measured < NOMINAL - COVERAGE_TOLERANCE, "the constructed type must undercover"
    interval = facts["interval"]
    # Enough calibration events and a wider own widening: the type is widened, and what it
    # serves is measured on its test patients.
    assert interval["status"] == "widened"
    assert interval["correction_months"] == own.correction > pooled.correction
    assert interval["measured_coverage"] == conformal.measured_coverage(
        train["times"], train["events"], test["times"], test["events"], conformal.apply(raw, own)
    )


@pytest.mark.slow
@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="../shared/data not present")
def test_the_committed_per_type_facts_are_what_the_command_computes() -> None:
    shipped = SHIPPED["oncoboard-tcga-pancancer"]
    assert shipped.per_type_path is not None
    committed = json.loads(shipped.per_type_path.read_text())
    # A slice: two types (one whose interval was widened or withheld, if any), not all five.
    short = [k for k, v in committed["types"].items() if v["interval"]["status"] != "ok"]
    slice_ = tuple(sorted({*short[:1], "gbmlgg"}))
    recomputed = evaluate_shipped(SHARED_DATA, shipped.path, types=slice_)
    assert recomputed["checkpoint_sha256"] == committed["checkpoint_sha256"] == shipped.sha256
    assert recomputed["split"] == committed["split"] == "fold0"
    for code in slice_:
        _assert_close(json.loads(json.dumps(recomputed["types"][code])), committed["types"][code])


def _assert_close(got: object, expected: object, where: str = "") -> None:
    """Equal structure and strings; floats equal to 1e-5 relative.

    The calibration fits are iterative solvers whose last digits move with the CPU's vector paths
    and torch's thread count (seen: 6e-7 relative on another machine); the page shows 2 decimals.
    """
    if isinstance(expected, dict):
        assert isinstance(got, dict) and got.keys() == expected.keys(), where
        for key in expected:
            _assert_close(got[key], expected[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(got, list) and len(got) == len(expected), where
        for i, (g, e) in enumerate(zip(got, expected, strict=True)):
            _assert_close(g, e, f"{where}[{i}]")
    elif isinstance(expected, float):
        assert got == pytest.approx(expected, rel=1e-5, abs=1e-9, nan_ok=True), where
    else:
        assert got == expected, where


def test_it_replaces_a_markdown_section_or_appends_it() -> None:
    text = "# Card\n\n## A\n\nold\n\n## Per cancer type\n\nstale\n\n## B\n\nkept\n"
    replaced = replace_section(text, "## Per cancer type", ["## Per cancer type", "", "new"])
    assert "stale" not in replaced and "new\n\n## B" in replaced and "kept" in replaced
    appended = replace_section("# Card\n", "## Per cancer type", ["## Per cancer type"])
    assert appended == "# Card\n\n## Per cancer type\n"
