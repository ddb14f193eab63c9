"""The portrait model served: routing, band, fields used and missing, exact "why" attributions."""

from __future__ import annotations

import numpy as np
import pytest

from inference.portrait.predictor import PortraitPredictor, load_portrait_predictor
from inference.portrait.vocabulary import ClinicalPortrait, Receptors, Staging, Tumour


@pytest.fixture(scope="module")
def predictor() -> PortraitPredictor:
    return load_portrait_predictor()


def _breast(stage: int | None = 2, er: bool | None = True) -> ClinicalPortrait:
    return ClinicalPortrait(
        cancer_type="IDC",
        age_years=58,
        sex_female=True,
        staging=Staging(stage_group=stage),
        tumour=Tumour(nodes_positive=2),
        receptors=Receptors(er_positive=er),
    )


@pytest.mark.parametrize(("code", "words"), [("", "blank"), ("GBM", "no portrait model")])
def test_a_blank_or_uncovered_cancer_type_abstains_with_its_reason(
    predictor: PortraitPredictor, code: str, words: str
) -> None:
    prediction = predictor.predict("1", ClinicalPortrait(cancer_type=code, age_years=60))
    assert prediction.status == "abstained"
    assert words in prediction.abstention_reasons[0]
    assert prediction.survival_at == () and prediction.explanation is None


def test_a_routed_case_gets_a_falling_curve_inside_its_band(predictor: PortraitPredictor) -> None:
    prediction = predictor.predict("1", _breast())
    assert prediction.status == "ok"
    assert prediction.validation is not None and prediction.validation["cancer_type"] == "BRCA"
    survival = np.asarray(prediction.curve.survival)
    assert survival[0] == pytest.approx(1.0, abs=1e-6)
    assert np.all(np.diff(survival) <= 1e-12)
    assert np.all(np.asarray(prediction.curve.lower) <= survival + 1e-12)
    assert np.all(np.asarray(prediction.curve.upper) >= survival - 1e-12)
    assert np.any(np.asarray(prediction.curve.upper) - np.asarray(prediction.curve.lower) > 1e-3)


def test_it_lists_the_fields_used_and_those_the_types_cohorts_had_that_the_case_lacks(
    predictor: PortraitPredictor,
) -> None:
    prediction = predictor.predict("1", _breast())
    assert set(prediction.covariates_used) == {
        "age_years",
        "sex_female",
        "stage_group",
        "nodes_positive",
        "er_positive",
    }
    # The advanced-stage flag is derived from the stage group: not a second fact, not missing.
    assert "advanced_stage" not in prediction.covariates_used + prediction.covariates_missing
    assert {"grade", "tumour_size_mm", "pr_positive"} <= set(prediction.covariates_missing)
    assert "ecog" not in prediction.covariates_missing  # no breast cohort recorded ECOG


def test_each_why_attribution_is_the_change_when_that_fact_is_unknown(
    predictor: PortraitPredictor,
) -> None:
    late = predictor.predict("1", _breast(stage=4))
    explanation = late.explanation
    assert explanation is not None
    by_feature = {a.feature: a for a in explanation.feature_attributions}
    assert set(by_feature) == set(late.covariates_used)
    stage = by_feature["stage_group"]
    assert stage.attribution < 0 and stage.direction == "raises risk"
    unknown_stage = predictor.predict("1", _breast(stage=None))
    horizon_years = explanation.reference_years
    with_stage = next(r.survival for r in late.survival_at if r.years == horizon_years)
    without = next(r.survival for r in unknown_stage.survival_at if r.years == horizon_years)
    assert with_stage is not None and without is not None
    assert stage.attribution == pytest.approx(with_stage - without, abs=0.02)


def test_er_status_moves_the_curve_and_appears_among_the_reasons(
    predictor: PortraitPredictor,
) -> None:
    positive = predictor.predict("1", _breast(er=True))
    negative = predictor.predict("1", _breast(er=False))
    assert positive.survival_at[2].survival != negative.survival_at[2].survival
    assert positive.explanation is not None
    assert "er_positive" in {a.feature for a in positive.explanation.feature_attributions}


def test_the_commercial_checkpoint_covers_fewer_types_and_names_itself() -> None:
    commercial = load_portrait_predictor(commercial_only=True)
    assert commercial.info.name == "oncoboard-portrait-commercial"
    assert "STAD" not in commercial.covered and "BRCA" in commercial.covered
    prediction = commercial.predict("1", ClinicalPortrait(cancer_type="STAD", age_years=70))
    assert prediction.status == "abstained"
    assert "not covered by the selected checkpoint" in prediction.abstention_reasons[0]


def test_a_curve_stops_at_its_reference_cohorts_last_event_instead_of_running_flat(
    predictor: PortraitPredictor,
) -> None:
    # The NCCTG lung cohort's last death is under three years: no 5-year figure is made up.
    prediction = predictor.predict("1", ClinicalPortrait(cancer_type="LUAD", age_years=65))
    assert prediction.curve.times_months[-1] < 36
    assert next(r for r in prediction.survival_at if r.years == 5).survival is None


def _colon(stage: int | None) -> ClinicalPortrait:
    return ClinicalPortrait(
        cancer_type="COAD", age_years=65, sex_female=False, staging=Staging(stage_group=stage)
    )


def test_a_stage_iv_colon_case_counts_from_diagnosis_in_the_tcga_cohort(
    predictor: PortraitPredictor,
) -> None:
    prediction = predictor.predict("1", _colon(4))
    validation = prediction.validation
    assert validation is not None and validation["baseline_cohort"] == "tcga-coadread"
    assert validation["baseline_stage_group"] == 4
    assert validation["reference_cohort"] == "colon-trial"  # the type's default, unchanged
    assert prediction.time_zero == validation["time_zero"] == "diagnosis"
    assert "TCGA" in validation["time_zero_label"]
    assert validation["endpoint"] == "overall survival"
    # The curve stops at the last event of its baseline (TCGA stage IV patients), not the trial's.
    baseline = np.asarray(predictor.model.bundle.baselines["tcga-coadread:stage-4"])
    last = predictor.grid[np.nonzero(np.diff(baseline) > 0)[0][-1] + 1]
    assert prediction.curve.times_months[-1] == last
    survival = np.asarray(prediction.curve.survival)
    assert np.all(np.asarray(prediction.curve.lower) <= survival + 1e-12)
    assert np.all(np.asarray(prediction.curve.upper) >= survival - 1e-12)


def test_a_stage_iii_colon_case_stays_on_the_adjuvant_trial_and_says_randomisation(
    predictor: PortraitPredictor,
) -> None:
    late, unknown = predictor.predict("1", _colon(3)), predictor.predict("1", _colon(None))
    for prediction in (late, unknown):
        validation = prediction.validation
        assert validation is not None and validation["baseline_cohort"] == "colon-trial"
        assert prediction.time_zero == "randomisation"
        assert "Moertel" in validation["time_zero_label"]
    stage_iv = predictor.predict("1", _colon(4))
    # Stage III: median not reached within the trial's follow-up; stage IV: reached, earlier.
    assert stage_iv.median_months is not None
    assert late.median_months is None or stage_iv.median_months < late.median_months
    one_year = [p.survival_at[0].survival for p in (stage_iv, late)]
    assert one_year[0] is not None and one_year[1] is not None
    assert one_year[0] < one_year[1]


def test_a_curve_shorter_than_the_types_horizon_is_explained_within_its_own_support(
    predictor: PortraitPredictor,
) -> None:
    # Stage IV colon: its stage stratum's last death comes before the 3-year main horizon.
    prediction = predictor.predict(
        "1", ClinicalPortrait(cancer_type="COAD", age_years=65, staging=Staging(stage_group=4))
    )
    assert prediction.explanation is not None
    assert 12 * prediction.explanation.reference_years <= prediction.curve.times_months[-1]
