"""The app's view of the trial models: curves only for validated contrasts, refusals named.

Runs on the shipped file (no training extras needed).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from inference.therapy.rct_whatif import (
    MIN_EVENTS,
    benefit_for_option,
    load_shipped,
    not_estimable,
    parse_file,
    predict_arms,
    trial_cancer_type,
)
from inference.therapy.trials_rct import TRIALS, contrast_by_key
from inference.weights import RCT_WHATIF

COLON_PATIENT = {
    "age_years": 60.0,
    "sex_female": 1.0,
    "grade": 2.0,
    "nodes_positive": 5.0,
    "t_category": 3.0,
}


def test_it_loads_the_pinned_file_and_refuses_a_changed_one(tmp_path: Path) -> None:
    shipped = load_shipped()
    assert shipped.sha256 == RCT_WHATIF.sha256
    copy = tmp_path / "changed.json"
    shutil.copyfile(RCT_WHATIF.path, copy)
    copy.write_bytes(copy.read_bytes().replace(b'"penalty":', b'"penalty": ', 1))
    with pytest.raises(ValueError, match="differs from the pinned"):
        parse_file(copy, expected_sha256=RCT_WHATIF.sha256)


def test_every_registry_contrast_has_a_recorded_check_that_obeys_the_rule() -> None:
    shipped = load_shipped()
    keys = {c.key for trial in TRIALS for c in trial.contrasts}
    assert set(shipped.validations) == keys
    for v in shipped.validations.values():
        trial, contrast = contrast_by_key(v.contrast_key)
        low, high = v.held_out_ci95
        follows_rule = (
            trial.randomised is not None
            and v.events_held_out >= MIN_EVENTS
            and low <= v.model_average_hr <= high
            and (not contrast.published.significant or v.model_average_hr < 1.0)
        )
        assert v.validated == follows_rule, v.contrast_key
        assert v.validated == (v.reason == "")


def test_it_draws_both_colon_arms_with_bands_for_a_colon_case() -> None:
    results = predict_arms("COAD", COLON_PATIENT)
    # death first (registry order); on recurrence only Lev+5FU validated (Lev alone missed the CI)
    assert [r.contrast_key for r in results] == [
        "colon-lev5fu-vs-obs",
        "colon-lev-vs-obs",
        "colon-recurrence-lev5fu-vs-obs",
    ]
    lev5fu = results[0]
    assert lev5fu.control.arm == "Obs" and lev5fu.treated.arm == "Lev+5FU"
    assert lev5fu.filled_fields == ()
    assert lev5fu.validation.validated and "held-out" in lev5fu.validation.agreement
    for curve in (lev5fu.control, lev5fu.treated):
        s, lo, hi = (np.array(v) for v in (curve.survival, curve.lower, curve.upper))
        assert len(s) == 60 and curve.times_months[-1] == 60.0
        assert np.all(np.diff(s) <= 1e-12) and np.all((s > 0) & (s <= 1))
        assert np.all(lo <= s + 1e-9) and np.all(s <= hi + 1e-9)
    difference = np.array(lev5fu.treated.survival) - np.array(lev5fu.control.survival)
    assert np.allclose(difference, lev5fu.difference, atol=2e-5)
    # the trial's effect: Lev+5FU lowers the hazard of death for this patient
    assert lev5fu.hazard_ratio < 1.0 and lev5fu.difference[-1] > 0
    low, high = lev5fu.hazard_ratio_ci95
    assert low < lev5fu.hazard_ratio < high


def test_it_names_the_fields_it_filled_in_and_answers_the_same_twice() -> None:
    partial = {"age_years": 70.0, "nodes_positive": None}
    first = predict_arms("COADREAD", partial)[0]
    assert set(first.filled_fields) == {"sex_female", "grade", "nodes_positive", "t_category"}
    assert predict_arms("COADREAD", partial)[0] == first


def test_more_positive_nodes_mean_lower_survival_in_both_arms() -> None:
    few = predict_arms("COAD", {**COLON_PATIENT, "nodes_positive": 1.0})[0]
    many = predict_arms("COAD", {**COLON_PATIENT, "nodes_positive": 12.0})[0]
    assert many.control.survival[-1] < few.control.survival[-1]
    assert many.treated.survival[-1] < few.treated.survival[-1]


def test_it_refuses_pairs_that_did_not_validate() -> None:
    assert predict_arms("OVARY", {"age_years": 60.0}) == []
    reason = not_estimable("HGSOC", "chemotherapy-regimen")
    assert reason is not None and reason.startswith("not estimable: no randomised evidence")
    assert "held-out events" in reason
    assert not_estimable("BRAIN", "radiotherapy") is not None
    # a type with no trial at all
    missing = not_estimable("LIHC", "chemotherapy")
    assert missing == "not estimable: no randomised evidence in our data for chemotherapy in LIHC"


def test_it_draws_only_the_validated_doses_of_a_partly_validated_trial() -> None:
    shipped = load_shipped()
    validated = {
        k for k, v in shipped.validations.items() if v.trial_key == "prostate" and v.validated
    }
    drawn = {r.contrast_key for r in predict_arms("PRAD", {"age_years": 70.0})}
    assert drawn == validated
    assert "prostate-des02-vs-placebo" not in drawn  # its average HR missed the held-out CI


def test_validated_pairs_are_not_refused() -> None:
    for v in load_shipped().validations.values():
        verdict = not_estimable(v.cancer_type, v.treatment_class)
        assert (verdict is None) == any(
            w.validated
            for w in load_shipped().validations.values()
            if (w.cancer_type, w.treatment_class) == (v.cancer_type, v.treatment_class)
        )


def test_case_codes_map_to_the_trials_levels() -> None:
    assert trial_cancer_type(" luad ") == "LUNG"
    assert trial_cancer_type("IDC") == "BRCA"
    assert trial_cancer_type("BRAIN") == "BRAIN"


def test_the_colon_option_keeps_the_death_curves_and_names_the_recurrence_check() -> None:
    benefit = benefit_for_option("COAD", ("chemotherapy",), COLON_PATIENT)
    assert benefit.endpoint.startswith("death from any cause")
    death, _, recurrence = predict_arms("COAD", COLON_PATIENT)
    assert recurrence.contrast_key == "colon-recurrence-lev5fu-vs-obs"
    # both checks named with their endpoints, death (the drawn curves) first
    assert benefit.agreement == (
        f"on {death.endpoint}: {death.validation.agreement}; "
        f"on {recurrence.endpoint}: {recurrence.validation.agreement}"
    )
    assert benefit.agreement in benefit.reason
    assert benefit.curve is not None and benefit.curve["survival"][1:] == list(
        death.treated.survival
    )
    # recurrence comes before death: the recurrence-free curve lies below the overall one
    assert recurrence.control.survival[-1] < death.control.survival[-1]
    # the unvalidated Lev-alone recurrence contrast is never offered
    immuno = benefit_for_option("COAD", ("immunotherapy",), COLON_PATIENT)
    assert immuno.estimable and "recurrence" not in immuno.agreement
