"""Log-rank and the Greenwood band against the textbook example and lifelines."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from inference.survival.greenwood import kaplan_meier_band, number_at_risk
from inference.survival.kaplan_meier import kaplan_meier
from inference.survival.logrank import logrank_test

# Freireich et al. (1963), remission times in weeks of acute leukaemia, 6-MP against placebo, as
# in Kleinbaum & Klein, Survival Analysis, ch. 2: the textbook log-rank chi-square is 16.79.
MP_TIMES = np.array(
    [6, 6, 6, 6, 7, 9, 10, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 32, 34, 35], float
)
MP_EVENTS = np.array([1, 1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0], float)
PLACEBO_TIMES = np.array(
    [1, 1, 2, 2, 3, 4, 4, 5, 5, 8, 8, 8, 8, 11, 11, 12, 12, 15, 17, 22, 23], float
)
PLACEBO_EVENTS = np.ones(21)


def test_it_gives_the_textbook_chi_square_for_the_leukaemia_trial() -> None:
    result = logrank_test(MP_TIMES, MP_EVENTS, PLACEBO_TIMES, PLACEBO_EVENTS)
    assert result.chi_square == pytest.approx(16.79, abs=0.01)
    assert result.observed == (9.0, 21.0)
    assert result.expected[0] == pytest.approx(19.25, abs=0.01)
    assert result.expected[1] == pytest.approx(10.75, abs=0.01)
    assert result.p_value < 1e-4


def test_it_matches_lifelines_on_the_textbook_and_on_random_censored_samples() -> None:
    statistics = pytest.importorskip("lifelines.statistics")
    rng = np.random.default_rng(7)
    samples: list[tuple[Any, Any, Any, Any]] = [
        (MP_TIMES, MP_EVENTS, PLACEBO_TIMES, PLACEBO_EVENTS)
    ]
    for _ in range(5):
        # Rounded times make ties, the case the variance's (n - d) / (n - 1) factor is for.
        a = np.round(rng.exponential(10, 40))
        b = np.round(rng.exponential(14, 35))
        samples.append((a, rng.integers(0, 2, 40), b, rng.integers(0, 2, 35)))
    for times_a, events_a, times_b, events_b in samples:
        ours = logrank_test(times_a, events_a, times_b, events_b)
        theirs = statistics.logrank_test(
            times_a, times_b, event_observed_A=events_a, event_observed_B=events_b
        )
        assert ours.chi_square == pytest.approx(theirs.test_statistic, rel=1e-9)
        assert ours.p_value == pytest.approx(theirs.p_value, rel=1e-6)


def test_identical_groups_give_no_evidence_and_no_events_give_p_one() -> None:
    same = logrank_test(MP_TIMES, MP_EVENTS, MP_TIMES, MP_EVENTS)
    assert same.chi_square == pytest.approx(0.0)
    assert same.p_value == pytest.approx(1.0)
    censored = logrank_test(MP_TIMES, np.zeros(21), PLACEBO_TIMES, np.zeros(21))
    assert (censored.chi_square, censored.p_value) == (0.0, 1.0)


def test_the_greenwood_band_matches_lifelines() -> None:
    fitters = pytest.importorskip("lifelines")
    band = kaplan_meier_band(MP_TIMES, MP_EVENTS)
    fitted = fitters.KaplanMeierFitter().fit(MP_TIMES, MP_EVENTS)
    lower_upper = fitted.confidence_interval_survival_function_
    at = band.times
    np.testing.assert_allclose(band.survival, kaplan_meier(MP_TIMES, MP_EVENTS).survival)
    np.testing.assert_allclose(band.survival, fitted.survival_function_at_times(at).to_numpy())
    rows = lower_upper.loc[at]
    np.testing.assert_allclose(band.lower, rows.iloc[:, 0].to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(band.upper, rows.iloc[:, 1].to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(band.at_risk, fitted.event_table.loc[at, "at_risk"].to_numpy())


def test_the_band_holds_the_estimate_and_the_table_counts_those_still_followed() -> None:
    band = kaplan_meier_band(PLACEBO_TIMES, PLACEBO_EVENTS)
    assert np.all(band.lower <= band.survival) and np.all(band.survival <= band.upper)
    assert band.at(0.5) == (1.0, 1.0, 1.0)
    assert band.at(23.0)[0] == 0.0
    assert number_at_risk(MP_TIMES, np.array([0.0, 6.0, 7.0, 35.0, 36.0])).tolist() == [
        21,
        21,
        17,
        1,
        0,
    ]
