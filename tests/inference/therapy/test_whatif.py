"""What-if curves per therapy option: estimable only where our data can say, refused otherwise."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import numpy as np
import pytest

import inference
from inference.predictor import SurvivalPredictor
from inference.runtime import sha256_of
from inference.schema import CaseInputs, ClinicalFacts, MolecularProfile, TreatmentPlan
from inference.therapy.overlap import PropensityError, load_propensity
from inference.therapy.whatif import WhatIfOption, WhatIfReport, what_if
from inference.training import propensity as training
from inference.training import propensity_fit
from inference.weights import PROPENSITY

ENDOCRINE = WhatIfOption("endocrine", ("endocrine",))
CHEMOTHERAPY = WhatIfOption("chemotherapy", ("chemotherapy",))
BOTH = WhatIfOption("both", ("endocrine", "chemotherapy"))
OPTIONS = (ENDOCRINE, CHEMOTHERAPY, BOTH)
#: A METABRIC-like patient (first row of the METABRIC training file): 57, ER positive, IHC4 genes.
EXPRESSION = {"MKI67": 5.60, "EGFR": 7.81, "PGR": 10.80, "ERBB2": 5.97}


@pytest.fixture(scope="module")
def model() -> SurvivalPredictor:
    return inference.load_model("oncoboard-metabric")


def _case(
    *,
    age: float | None = 56.8,
    er_positive: float | None = 1.0,
    cancer_type: str | None = "IDC",
    expression: dict[str, float] | None = None,
    treatment: dict[str, bool] | None = None,
) -> CaseInputs:
    values = {"age": age, "er_positive": er_positive}
    return CaseInputs(
        case_id="case-1",
        clinical=ClinicalFacts(values, cancer_type=cancer_type),
        molecular=MolecularProfile(expression=EXPRESSION if expression is None else expression),
        treatment=TreatmentPlan(treatment) if treatment is not None else None,
    )


def _assert_nothing_estimable(report: WhatIfReport, words: str) -> None:
    assert report.baseline is None
    assert words in report.baseline_reason
    for result in report.results:
        assert not result.estimable
        assert result.scenario is None
        assert words in result.reason


def test_it_refuses_every_option_for_a_cancer_other_than_breast(model: SurvivalPredictor) -> None:
    report = what_if(_case(cancer_type="LUAD"), OPTIONS, model=model)
    _assert_nothing_estimable(report, "learned from METABRIC breast cancer only")
    assert [r.key for r in report.results] == ["endocrine", "chemotherapy", "both"]


@pytest.mark.parametrize("code", [None, "DCIS", "PBS", "PT"])
def test_it_refuses_breast_codes_the_cohort_does_not_stand_for(
    model: SurvivalPredictor, code: str | None
) -> None:
    # In-situ disease, sarcoma and phyllodes tumours sit under BREAST in OncoTree, but METABRIC
    # enrolled invasive carcinomas only.
    report = what_if(_case(cancer_type=code), OPTIONS, model=model)
    _assert_nothing_estimable(report, "METABRIC breast cancer only")


def test_the_shipped_codes_are_the_invasive_breast_carcinoma_subtree() -> None:
    codes = load_propensity().breast_codes
    assert {"BREAST", "BRCA", "IDC", "ILC", "MDLC", "IMMC", "BRCNOS"} <= codes
    assert not {"DCIS", "LCIS", "PBS", "PT", "LUAD", "TISSUE"} & codes


def test_it_refuses_a_therapy_class_the_model_was_not_trained_with(
    model: SurvivalPredictor,
) -> None:
    immunotherapy = WhatIfOption("pembrolizumab", ("immunotherapy",))
    report = what_if(_case(), (ENDOCRINE, immunotherapy), model=model)
    refused = report.results[1]
    assert not refused.estimable
    assert refused.scenario is None
    assert "'immunotherapy'" in refused.reason
    assert "not estimable from our data" in refused.reason
    # The unknown class does not take the estimable option down with it.
    assert report.results[0].estimable


@pytest.mark.parametrize(
    ("case", "words"),
    [
        (CaseInputs(case_id="bare"), "cancer type not recorded"),
        (_case(age=None), "missing inputs the model needs for treatment effects: age"),
        (_case(er_positive=float("nan")), "missing inputs the model needs"),
        (_case(er_positive=0.4), "er_positive must be 0 or 1"),
        (_case(expression={"MKI67": 5.6, "PGR": 10.8}), "expression partially supplied"),
    ],
)
def test_it_refuses_when_inputs_the_model_needs_are_missing(
    model: SurvivalPredictor, case: CaseInputs, words: str
) -> None:
    _assert_nothing_estimable(what_if(case, OPTIONS, model=model), words)


def test_a_case_without_clinical_values_is_not_estimable(model: SurvivalPredictor) -> None:
    case = CaseInputs(case_id="no-values", clinical=ClinicalFacts({}, cancer_type="IDC"))
    _assert_nothing_estimable(what_if(case, OPTIONS, model=model), "missing inputs the model needs")


def test_it_refuses_when_the_model_itself_abstains(model: SurvivalPredictor) -> None:
    report = what_if(_case(age=250.0), OPTIONS, model=model)
    _assert_nothing_estimable(report, "the model abstains for this case")


def test_a_model_without_treatment_inputs_is_not_estimable() -> None:
    info = SimpleNamespace(name="oncoboard-support", version="v", model_card="", treatments=())
    stub = cast(SurvivalPredictor, SimpleNamespace(info=info))
    report = what_if(_case(), OPTIONS, model=stub)
    _assert_nothing_estimable(report, "has no treatment inputs")


def test_a_site_model_without_a_propensity_model_is_not_estimable() -> None:
    # Treatment inputs alone are not enough: without its own overlap check no curve is shown.
    treatments = ("hormone_therapy", "radiotherapy", "chemotherapy")
    info = SimpleNamespace(name="site-metabric", version="v", model_card="", treatments=treatments)
    stub = cast(SurvivalPredictor, SimpleNamespace(info=info))
    report = what_if(_case(), OPTIONS, model=stub)
    _assert_nothing_estimable(report, "no propensity model for site-metabric")


def test_a_breast_case_gets_curves_with_bands_under_each_option(
    model: SurvivalPredictor,
) -> None:
    report = what_if(_case(), OPTIONS, model=model)
    assert report.model_name == "oncoboard-metabric"
    assert report.model_version
    assert "not causal" in report.caveat
    assert "1977-2005" in report.caveat
    assert report.model_version in report.caveat
    assert report.propensity_covariates == ("er_positive", "age", "MKI67", "EGFR", "PGR", "ERBB2")
    assert report.baseline is not None
    assert dict(report.baseline.treatment.therapies) == {
        "hormone_therapy": False,
        "radiotherapy": False,
        "chemotherapy": False,
    }
    plans = {r.key: dict(r.scenario.treatment.therapies) for r in report.results if r.scenario}
    assert plans["endocrine"]["hormone_therapy"] and not plans["endocrine"]["chemotherapy"]
    assert plans["both"]["hormone_therapy"] and plans["both"]["chemotherapy"]
    for result in report.results:
        assert result.estimable and result.overlap_supported
        assert result.propensity is not None and 0.0 < result.propensity < 1.0
        assert result.reason.startswith("supported")
        scenario = result.scenario
        assert scenario is not None
        curve = scenario.curve
        assert curve.times_months == report.baseline.curve.times_months
        survival, lower, upper = (np.array(x) for x in (curve.survival, curve.lower, curve.upper))
        assert np.all(lower <= survival + 1e-9) and np.all(survival <= upper + 1e-9)
        assert np.all(upper - lower >= 0) and np.any(upper - lower > 1e-4)
        assert curve.survival != report.baseline.curve.survival
        assert [s.years for s in scenario.survival_at] == [1, 3, 5]


def test_the_clinical_covariates_alone_are_used_without_expression(
    model: SurvivalPredictor,
) -> None:
    # Without the expression genes the model abstains for most profiles (unusual embedding);
    # an 80-year-old with an ER-negative tumour is one it still predicts for.
    case = dataclasses.replace(_case(age=80.0, er_positive=0.0), molecular=None)
    report = what_if(case, OPTIONS, model=model)
    assert report.propensity_covariates == ("er_positive", "age")
    assert all(r.estimable for r in report.results)


def test_a_recorded_class_no_option_names_stays_in_the_baseline(model: SurvivalPredictor) -> None:
    case = _case(treatment={"radiotherapy": True, "hormone_therapy": True, "tamoxifen": True})
    report = what_if(case, (CHEMOTHERAPY,), model=model)
    # Radiotherapy and endocrine therapy are recorded and not under consideration: kept as given.
    assert report.baseline_plan == {
        "hormone_therapy": True,
        "radiotherapy": True,
        "chemotherapy": False,
    }


def test_an_option_without_classes_is_the_baseline(model: SurvivalPredictor) -> None:
    report = what_if(_case(), (WhatIfOption("none", ()), CHEMOTHERAPY), model=model)
    none = report.results[0]
    assert none.estimable and none.scenario is not None and report.baseline is not None
    assert none.scenario.curve == report.baseline.curve
    assert none.propensity is None


def test_the_what_if_view_refuses_unsupported_estimates(model: SurvivalPredictor) -> None:
    # An 85-year-old with an ER-positive tumour: in METABRIC almost no such patient received
    # chemotherapy, so that curve would be an extrapolation and is refused with the propensity.
    report = what_if(_case(age=85.0, expression={}), OPTIONS, model=model)
    chemotherapy, both = report.results[1], report.results[2]
    for refused in (chemotherapy, both):
        assert not refused.estimable
        assert refused.scenario is None
        assert refused.overlap_supported is False
        assert refused.propensity is not None and refused.propensity < 0.05
        assert "few similar patients in the training data were treated with chemotherapy" in (
            refused.reason
        )
        assert refused.reason.endswith("the estimate is not supported")
        assert f"{refused.propensity:.2f}" in refused.reason
    assert report.results[0].estimable  # endocrine therapy stays supported
    assert report.baseline is not None


def test_an_unsupported_baseline_is_not_shown(model: SurvivalPredictor) -> None:
    # A 34-year-old with an ER-negative tumour (a METABRIC test patient) was nearly always given
    # chemotherapy: curves without it have no comparable patients; the chemotherapy curve has.
    expression = {"MKI67": 8.73, "EGFR": 5.47, "PGR": 9.91, "ERBB2": 6.09}
    case = _case(age=33.55, er_positive=0.0, expression=expression)
    report = what_if(case, (ENDOCRINE, CHEMOTHERAPY), model=model)
    assert report.baseline is None
    assert "left without chemotherapy" in report.baseline_reason
    endocrine, chemotherapy = report.results
    assert not endocrine.estimable and endocrine.overlap_supported is False
    assert "left without chemotherapy" in endocrine.reason
    assert chemotherapy.estimable and chemotherapy.scenario is not None


def test_what_if_is_deterministic(model: SurvivalPredictor) -> None:
    assert what_if(_case(), OPTIONS, model=model) == what_if(_case(), OPTIONS, model=model)


def test_the_shipped_propensity_file_matches_its_pinned_hash() -> None:
    shipped = PROPENSITY["oncoboard-metabric"]
    assert sha256_of(shipped.path) == shipped.sha256
    models = load_propensity()
    assert models.sha256 == shipped.sha256
    assert models.model == "oncoboard-metabric"
    document = json.loads(shipped.path.read_text(encoding="utf-8"))
    assert document["trained"] and "deepsurv-survival-h5" in document["data_source"]
    for entry in document["covariate_sets"].values():
        for fitted in entry["treatments"].values():
            lower, upper = fitted["support"]
            assert 0.05 <= lower < upper <= 0.95


def test_a_tampered_propensity_file_is_refused(tmp_path: Path) -> None:
    shipped = PROPENSITY["oncoboard-metabric"]
    copy = tmp_path / shipped.filename
    copy.write_text(shipped.path.read_text(encoding="utf-8").replace("0.05", "0.0"))
    with pytest.raises(PropensityError, match="expected"):
        load_propensity(copy, expected_sha256=shipped.sha256)


def _tiny_data(root: Path, rng: np.random.Generator) -> None:
    """A METABRIC-shaped DeepSurv file pair and an OncoTree slice, with made-up values."""
    folder = root / "deepsurv-survival-h5" / "csv"
    folder.mkdir(parents=True)
    for split, n in (("train", 120), ("test", 40)):
        genes = rng.normal(7.0, 1.0, size=(n, 4))
        er = (rng.random(n) < 0.7).astype(float)
        age = rng.normal(60.0, 12.0, size=n)
        hormone = (rng.random(n) < np.where(er == 1, 0.75, 0.25)).astype(float)
        radio = (rng.random(n) < 0.6).astype(float)
        chemo = (rng.random(n) < np.where(age < 55, 0.6, 0.1)).astype(float)
        columns = np.column_stack([genes, hormone, radio, chemo, er, age])
        lines = ["x0,x1,x2,x3,x4,x5,x6,x7,x8,duration,event"]
        for row in columns:
            values = ",".join(f"{v:.4f}" for v in row)
            lines.append(f"{values},{rng.uniform(1, 200):.2f},{int(rng.random() < 0.5)}")
        (folder / f"metabric_IHC4_clinical_train_test_{split}.csv").write_text("\n".join(lines))
    tree = root / "oncotree"
    tree.mkdir()
    rows = [
        ("BREAST", "TISSUE"),
        ("BRCA", "BREAST"),
        ("IDC", "BRCA"),
        ("DCIS", "BREAST"),
        ("LUNG", "TISSUE"),
    ]
    text = "code\tname\tmain_type\ttissue\tparent\tlevel\tumls\tnci\n" + "".join(
        f"{code}\t{code}\t\tBreast\t{parent}\t1\t\t\n" for code, parent in rows
    )
    (tree / f"{propensity_fit.ONCOTREE_RELEASE}_flat.tsv").write_text(text)


def test_the_training_command_writes_a_valid_file_on_a_tiny_slice(
    tmp_path: Path, model: SurvivalPredictor
) -> None:
    _tiny_data(tmp_path / "data", np.random.default_rng(0))
    out = tmp_path / "tiny.propensity.json"
    argv = ["--data", str(tmp_path / "data"), "--out", str(out), "--date", "2026-01-01"]
    assert training.main(argv) == 0
    first = sha256_of(out)
    assert training.main(argv) == 0
    assert sha256_of(out) == first  # byte-identical for the same data and date
    models = load_propensity(out, expected_sha256=first)
    assert models.trained == "2026-01-01"
    assert models.breast_codes == {"BREAST", "BRCA", "IDC"}
    document: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    for entry in document["covariate_sets"].values():
        assert set(entry["treatments"]) == {"hormone_therapy", "radiotherapy", "chemotherapy"}
        for fitted in entry["treatments"].values():
            assert len(fitted["coefficients"]) == len(entry["features"])
            assert 0.0 <= fitted["test_auc"] <= 1.0
    report = what_if(_case(), OPTIONS, model=model, propensity=models)
    assert len(report.results) == 3


def test_the_logistic_fit_recovers_known_coefficients() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4000, 2))
    truth = np.array([1.0, -0.5])
    y = (rng.random(4000) < 1.0 / (1.0 + np.exp(-(0.3 + x @ truth)))).astype(float)
    intercept, coefficients = propensity_fit.fit_logistic(x, y, ridge=0.0)
    assert abs(intercept - 0.3) < 0.15
    assert np.allclose(coefficients, truth, atol=0.15)
    assert propensity_fit.auc(np.array([0.1, 0.9]), np.array([0.0, 1.0])) == 1.0
