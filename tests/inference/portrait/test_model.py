"""Portrait model: committed checkpoint, stage monotonicity per type, breast demo, band, conformal
facts per type, round trip."""

from __future__ import annotations

import ast
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from inference.portrait.model import (
    PortraitBundle,
    PortraitConfig,
    PortraitModel,
    PortraitNet,
    Replicates,
    Standardiser,
    bundle_to_checkpoint,
    load_shipped,
    model_from_checkpoint,
)
from inference.portrait.uncertainty import TOLERANCE
from inference.portrait.vocabulary import (
    FEATURE_NAMES,
    ClinicalPortrait,
    Receptors,
    Staging,
    Tumour,
    encode,
)
from inference.runtime import CheckpointError, sha256_of

#: Types without a stage: acute leukaemia is not staged.
UNSTAGED = {"AML"}


@pytest.fixture(scope="module")
def shipped() -> PortraitModel:
    return load_shipped()


def _at(model: PortraitModel, curve: np.ndarray, months: float) -> float:
    grid = np.asarray(model.bundle.grid_months)
    return float(np.interp(months, grid, curve))


def _portrait(cancer_type: str, stage: int, **tumour: float) -> ClinicalPortrait:
    late = stage == 4
    return ClinicalPortrait(
        cancer_type=cancer_type,
        age_years=62.0,
        staging=Staging(
            stage_group=stage,
            t_category=4 if late else 1,
            n_category=3 if late else 0,
            m_category=int(late),
        ),  # fmt: skip
        tumour=Tumour(**tumour),  # type: ignore[arg-type]
    )


def _stage_ii_breast(receptors: Receptors) -> ClinicalPortrait:
    """A 55-year-old woman, stage II, one positive node, grade 2, 22 mm."""
    return ClinicalPortrait(
        cancer_type="BRCA",
        age_years=55.0,
        sex_female=True,
        staging=Staging(stage_group=2),
        tumour=Tumour(nodes_positive=1, grade=2, tumour_size_mm=22.0),
        receptors=receptors,
    )


def test_it_covers_at_least_twelve_cancer_types(shipped: PortraitModel) -> None:
    assert len(shipped.bundle.reference_cohort) >= 12
    assert set(shipped.bundle.validation) == set(shipped.bundle.reference_cohort)


def test_stage_iv_has_lower_survival_than_stage_i_for_every_staged_type(
    shipped: PortraitModel,
) -> None:
    for cancer_type in shipped.bundle.reference_cohort:
        if cancer_type in UNSTAGED:
            continue
        early, late = shipped.predict([_portrait(cancer_type, 1), _portrait(cancer_type, 4)])
        horizon = shipped.bundle.validation[cancer_type]["horizon_months"]
        assert _at(shipped, late, horizon) < _at(shipped, early, horizon), cancer_type


def test_the_breast_curve_moves_with_stage_nodes_and_er(shipped: PortraitModel) -> None:
    base = _stage_ii_breast(Receptors(er_positive=True))
    variants = [
        replace(base, staging=Staging(stage_group=3)),
        replace(base, tumour=replace(base.tumour, nodes_positive=8)),
        replace(base, receptors=Receptors(er_positive=False)),
    ]
    curves = shipped.predict([base, *variants])
    at_five = [_at(shipped, c, 60.0) for c in curves]
    for changed in at_five[1:]:
        assert changed < at_five[0] - 0.005


def test_er_status_is_in_the_breast_why_list(shipped: PortraitModel) -> None:
    portrait = _stage_ii_breast(Receptors(er_positive=False, her2_positive=False))
    x = encode([portrait])
    contributions = shipped.contributions(x, ["BRCA"])[0]
    observed = np.isfinite(x[0])  # the "why" list names the case's own covariates
    ranked = [FEATURE_NAMES[j] for j in np.argsort(-np.abs(contributions)) if observed[j]]
    assert "er_positive" in ranked[:5]
    assert contributions[FEATURE_NAMES.index("er_positive")] > 0.05  # ER-negative raises risk


def test_it_refuses_an_uncovered_or_blank_cancer_type(shipped: PortraitModel) -> None:
    with pytest.raises(ValueError, match="not covered"):
        shipped.predict([ClinicalPortrait(cancer_type="GBM")])
    with pytest.raises(ValueError, match="not covered"):
        shipped.predict([ClinicalPortrait(cancer_type=None)])


def test_a_missing_covariate_contributes_nothing_but_its_missingness_offset(
    shipped: PortraitModel,
) -> None:
    x = encode([ClinicalPortrait(cancer_type="LUNG")])
    contributions = shipped.contributions(x, ["LUNG"])[0]
    net = shipped.net
    offsets = net.missing_offset.detach().numpy()[net.config.cancer_types.index("LUNG")]
    assert np.allclose(contributions, offsets, atol=1e-6)


def test_it_rejects_a_checkpoint_whose_hash_does_not_match() -> None:
    from inference.portrait.model import SHIPPED_PATH

    with pytest.raises(CheckpointError):
        model_from_checkpoint(SHIPPED_PATH, expected_sha256="0" * 64)


def _random_model(type_shapes: bool, replicates: int) -> PortraitModel:
    torch.manual_seed(0)
    config = PortraitConfig(
        cancer_types=("BRCA", "LUNG"),
        hinge_features=("age_years", "nodes_positive"),
        mlp_hidden=4,
        type_shapes=type_shapes,
    )

    def random_net() -> PortraitNet:
        net = PortraitNet(config)
        with torch.no_grad():
            for parameter in net.parameters():
                parameter.normal_(0.0, 0.1)
        return net

    n = len(FEATURE_NAMES)
    conformal = {
        "nominal": 0.9,
        "status": "ok",
        "measured_test": 0.91,
        "correction_months": 1.5,
        "calibration_events": 40,
    }
    bundle = PortraitBundle(
        config=config,
        standardiser=Standardiser(tuple([0.0] * n), tuple([1.0] * n)),
        grid_months=(0.0, 12.0, 24.0),
        baselines={
            "a": (0.0, 0.1, 0.3),
            "b": (0.0, 0.2, 0.5),
            "c": (0.0, 0.6, 1.2),
            "c:stage-4": (0.0, 0.8, 1.5),
        },
        reference_cohort={"BRCA": "a", "LUNG": "b"},
        validation={"BRCA": {"conformal": conformal}, "LUNG": {"conformal": conformal}},
        # Breast cohort "a" enrolled stages I-III, "c" (also breast) mostly stage IV.
        training_rows={"a": 400, "b": 100, "c": 60},
        stage_counts={"a": {"1": 150, "2": 200, "3": 50}, "b": {}, "c": {"3": 10, "4": 50}},
        cohort_facts={
            "a": {"cancer_type": "BRCA", "time_zero": "surgery"},
            "b": {"cancer_type": "LUNG", "time_zero": "study_entry"},
            "c": {"cancer_type": "BRCA", "time_zero": "diagnosis"},
        },
    )
    rng = np.random.default_rng(0)
    hazards = {
        c: np.cumsum(rng.uniform(0.0, 0.3, (replicates, 3)), axis=1)
        for c in ("a", "b", "c", "c:stage-4")
    }
    extra = Replicates(tuple(random_net() for _ in range(replicates)), hazards)
    return PortraitModel(bundle, random_net(), extra if replicates else None)


_ROUND_TRIP_CASES = [
    ClinicalPortrait(cancer_type="BRCA", age_years=50.0),
    ClinicalPortrait(cancer_type="LUNG", age_years=70.0, staging=Staging(stage_group=4)),
    ClinicalPortrait(cancer_type="BRCA", age_years=60.0, staging=Staging(stage_group=4)),
]


@pytest.mark.parametrize("type_shapes", [False, True])
def test_a_checkpoint_round_trip_gives_the_same_curves_band_and_interval(
    tmp_path: Path, type_shapes: bool
) -> None:
    model = _random_model(type_shapes, replicates=3)
    path = tmp_path / "portrait.pt"
    torch.save(bundle_to_checkpoint(model.bundle, model.net, model.replicates), path)
    assert torch.load(path, weights_only=True)["format"] == "oncoboard-portrait/3"
    again = model_from_checkpoint(path, expected_sha256=sha256_of(path))
    portraits = _ROUND_TRIP_CASES
    assert [again.baseline_cohort(p) for p in portraits] == ["a", "b", "c"]
    chosen = [again.baseline(p) for p in portraits]
    assert chosen == [model.baseline(p) for p in portraits] == ["a", "b", "c:stage-4"]
    assert again.bundle.stage_counts == model.bundle.stage_counts
    assert again.bundle.cohort_facts == model.bundle.cohort_facts
    assert np.allclose(model.predict(portraits), again.predict(portraits))
    assert np.allclose(model.predict(portraits, chosen), again.predict(portraits, chosen))
    assert np.allclose(again.predict(portraits), again.predict(portraits))  # eval mode: no dropout
    for before, after in zip(
        model.survival_band(portraits, cohorts=chosen),
        again.survival_band(portraits, cohorts=chosen),
        strict=True,
    ):
        assert np.allclose(before, after, atol=1e-6)  # hazards are stored as float32
    assert again.replicates is not None and len(again.replicates.nets) == 3
    assert model.time_interval("LUNG", 0.3) == again.time_interval("LUNG", 0.3)
    assert model.time_interval("BRCA", 0.3, "c:stage-4") == again.time_interval(
        "BRCA", 0.3, "c:stage-4"
    )


def test_a_format_two_checkpoint_loads_its_per_type_band_on_the_reference_cohorts(
    tmp_path: Path,
) -> None:
    model = _random_model(type_shapes=False, replicates=3)
    assert model.replicates is not None
    raw = bundle_to_checkpoint(model.bundle, model.net, model.replicates)
    for key in ("training_rows", "stage_counts", "cohort_facts"):
        del raw["meta"][key]
    hazards = raw["replicates"]["hazards"]
    raw["replicates"]["hazards"] = {"BRCA": hazards["a"], "LUNG": hazards["b"]}
    path = tmp_path / "portrait-v2.pt"
    torch.save(raw | {"format": "oncoboard-portrait/2"}, path)
    again = model_from_checkpoint(path, expected_sha256=sha256_of(path))
    # Without stage counts every case stays on its type's reference cohort, as format 2 drew it.
    assert [again.baseline_cohort(p) for p in _ROUND_TRIP_CASES] == ["a", "b", "a"]
    assert [again.baseline(p) for p in _ROUND_TRIP_CASES] == ["a", "b", "a"]
    for before, after in zip(
        model.survival_band(_ROUND_TRIP_CASES), again.survival_band(_ROUND_TRIP_CASES), strict=True
    ):
        assert np.allclose(before, after, atol=1e-6)


def _breast_at(stage: int | None) -> ClinicalPortrait:
    return ClinicalPortrait(cancer_type="BRCA", staging=Staging(stage_group=stage))


@pytest.mark.parametrize(
    ("counts", "stage", "expected"),
    [
        ({"a": {"4": 20}, "c": {"4": 50}}, 4, "a"),  # 20 patients: the reference has it
        ({"a": {"4": 19}, "c": {"4": 50}}, 4, "c"),  # 19 of 400 (4.75%): it has not
        ({"a": {"4": 19}, "c": {"4": 10}}, 4, "a"),  # ... but no cohort of the type has more
        ({"a": {"4": 5}, "c": {"4": 50}}, 4, "c"),
        ({"a": {"1": 400}, "c": {}}, 4, "a"),  # nobody at stage IV anywhere: the reference
        ({"a": {}, "c": {"4": 50}}, 4, "a"),  # the reference records no stage: its stages unknown
        ({"a": {"4": 5}, "c": {"4": 50}}, None, "a"),  # stage unknown: the reference
        ({"a": {"0": 1, "1": 399}, "c": {"0": 2}}, 0, "c"),
    ],
)
def test_the_baseline_rule_keeps_the_reference_only_where_it_enrolled_the_stage(
    counts: dict[str, dict[str, int]], stage: int | None, expected: str
) -> None:
    model = _random_model(type_shapes=False, replicates=0)
    model = PortraitModel(replace(model.bundle, stage_counts=counts), model.net)
    assert model.baseline_cohort(_breast_at(stage)) == expected


def test_the_share_threshold_keeps_a_small_reference_that_enrolled_the_stage() -> None:
    model = _random_model(type_shapes=False, replicates=0)
    bundle = replace(
        model.bundle,
        training_rows={"a": 100, "b": 100, "c": 60},
        stage_counts={"a": {"4": 5}, "c": {"4": 50}},  # 5 of 100 = 5%
    )
    assert PortraitModel(bundle, model.net).baseline_cohort(_breast_at(4)) == "a"


def test_a_stage_stratum_is_used_only_for_its_own_stage_group_of_the_chosen_cohort() -> None:
    model = _random_model(type_shapes=False, replicates=0)
    assert model.baseline(_breast_at(4)) == "c:stage-4"
    assert model.baseline(_breast_at(3)) == "a"  # the reference enrolled stage III; no stratum
    assert model.baseline(_breast_at(None)) == "a"


def test_it_refuses_a_baseline_cohort_of_another_type() -> None:
    model = _random_model(type_shapes=False, replicates=2)
    with pytest.raises(ValueError, match="not a BRCA cohort"):
        model.predict([_breast_at(2)], ["b"])
    with pytest.raises(ValueError, match="not a LUNG cohort"):
        model.predict([ClinicalPortrait(cancer_type="LUNG")], ["c:stage-4"])
    with pytest.raises(ValueError, match="no baseline"):
        model.survival_band([_breast_at(2)], cohorts=["nowhere"])
    with pytest.raises(ValueError, match="1 portraits"):
        model.predict([_breast_at(2)], ["a", "c"])


def test_a_format_one_checkpoint_still_loads_without_a_band(tmp_path: Path) -> None:
    model = _random_model(type_shapes=False, replicates=0)
    raw = bundle_to_checkpoint(model.bundle, model.net)
    path = tmp_path / "portrait-v1.pt"
    torch.save(raw | {"format": "oncoboard-portrait/1"}, path)
    again = model_from_checkpoint(path, expected_sha256=sha256_of(path))
    assert np.allclose(model.predict(_ROUND_TRIP_CASES), again.predict(_ROUND_TRIP_CASES))
    with pytest.raises(ValueError, match="no bootstrap replicates"):
        again.survival_band(_ROUND_TRIP_CASES)


def test_the_band_orders_and_has_width_for_a_real_portrait(shipped: PortraitModel) -> None:
    portraits = [_stage_ii_breast(Receptors(er_positive=True)), _portrait("LUNG", 3)]
    mean, lower, upper = shipped.survival_band(portraits, level=0.9)
    assert np.array_equal(mean, shipped.predict(portraits))
    assert mean.shape == lower.shape == upper.shape == (2, len(shipped.bundle.grid_months))
    assert (lower <= mean).all() and (mean <= upper).all()
    at_horizon = [_at(shipped, upper[i] - lower[i], h) for i, h in enumerate((60.0, 12.0))]
    assert min(at_horizon) > 0.005  # bootstrap refits disagree by more than rounding
    narrow = shipped.survival_band(portraits, level=0.5)
    assert (narrow[2] - narrow[1] <= upper - lower + 1e-12).all()


def test_the_bootstrap_replicates_differ(shipped: PortraitModel) -> None:
    replicates = shipped.replicates
    assert replicates is not None and len(replicates.nets) >= 10
    first, second = replicates.nets[0], replicates.nets[1]
    assert not torch.allclose(first.shared, second.shared)
    assert not torch.allclose(first.shared, shipped.net.shared)
    assert set(replicates.hazards) == set(shipped.bundle.baselines)  # every cohort and stratum
    hazards = replicates.hazards["metabric"]
    assert hazards.shape == (len(replicates.nets), len(shipped.bundle.grid_months))
    assert not np.allclose(hazards[0], hazards[1])


@pytest.mark.parametrize("commercial_only", [False, True])
def test_every_covered_type_has_its_validation_and_conformal_facts(commercial_only: bool) -> None:
    model = load_shipped(commercial_only=commercial_only)
    licences = model.bundle.licences
    for cancer_type, reference in model.bundle.reference_cohort.items():
        facts = model.bundle.validation[cancer_type]
        assert facts["reference_cohort"] == reference and reference in facts["cohorts"]
        assert facts["time_zero"] in {"diagnosis", "surgery", "randomisation", "study_entry"}
        assert facts["time_zero_label"] and facts["endpoint"]
        assert 0 < facts["test_events"] <= facts["test_n"]
        assert 0.0 < facts["harrell_c"] < 1.0 and 0.0 < facts["coxph_c"] < 1.0
        assert facts["non_commercial"] == any(licences[c] for c in facts["cohorts"])
        conformal = facts["conformal"]
        assert conformal["nominal"] == 0.9
        measured, status = conformal["measured_test"], conformal["status"]
        interval = model.time_interval(cancer_type, 0.0)
        if status == "abstained":
            assert interval is None
            continue
        # The rule: below nominal by more than the tolerance is never shown as is.
        assert measured >= 0.9 - TOLERANCE, cancer_type
        if status == "widened":
            assert conformal["measured_test_at_nominal"] < 0.9 - TOLERANCE
        assert interval is not None and interval.measured_coverage == measured
        assert interval.lower_months >= 0.0
        assert interval.upper_months is None or interval.upper_months > interval.lower_months


def test_a_higher_risk_gets_an_earlier_interval(shipped: PortraitModel) -> None:
    covered = [
        t
        for t, facts in shipped.bundle.validation.items()
        if facts["conformal"]["status"] != "abstained"
    ]
    assert covered
    low, high = shipped.time_interval(covered[0], -1.0), shipped.time_interval(covered[0], 1.0)
    assert low is not None and high is not None
    assert high.lower_months <= low.lower_months
    with pytest.raises(ValueError, match="not covered"):
        shipped.time_interval("GBM", 0.0)


def test_the_runtime_modules_import_no_training_only_package() -> None:
    package = Path(__file__).resolve().parents[3] / "inference" / "portrait"
    banned = {"SurvSet", "sksurv", "lifelines", "pandas", "django"}
    for source in package.glob("*.py"):
        tree = ast.parse(source.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                names = {(node.module or "").split(".")[0]}
            else:
                continue
            assert not names & banned, (source.name, names)


def test_the_default_checkpoint_says_it_holds_non_commercial_data(shipped: PortraitModel) -> None:
    non_commercial = {c for c, flag in shipped.bundle.licences.items() if flag}
    assert non_commercial == {"tcga-blca", "tcga-brca", "tcga-coadread", "tcga-hnsc", "tcga-stad"}


def test_the_commercial_checkpoint_holds_no_non_commercial_cohort() -> None:
    model = load_shipped(commercial_only=True)
    assert model.bundle.licences and not any(model.bundle.licences.values())
    assert len(model.bundle.reference_cohort) >= 10
    early, late = model.predict([_portrait("BRCA", 1), _portrait("BRCA", 4)])
    assert _at(model, late, 60.0) < _at(model, early, 60.0)


def _colon(stage: int) -> ClinicalPortrait:
    return ClinicalPortrait(
        cancer_type="COADREAD", age_years=65.0, sex_female=False, staging=Staging(stage_group=stage)
    )


def test_a_stage_iv_colon_case_is_drawn_on_the_cohort_that_enrolled_stage_iv(
    shipped: PortraitModel,
) -> None:
    # The Moertel adjuvant trial enrolled stage III (and a handful of stage II) only.
    assert shipped.bundle.reference_cohort["COADREAD"] == "colon-trial"
    assert shipped.baseline_cohort(_colon(4)) == "tcga-coadread"
    assert shipped.baseline_cohort(_colon(3)) == "colon-trial"
    assert shipped.baseline_cohort(replace(_colon(3), staging=Staging())) == "colon-trial"
    # ... on the baseline of its stage IV patients (24 in the training part).
    assert shipped.baseline(_colon(4)) == "tcga-coadread:stage-4"
    assert shipped.baseline(_colon(3)) == "colon-trial:stage-3"
    assert shipped.baseline(replace(_colon(3), staging=Staging())) == "colon-trial"
    facts = shipped.bundle.cohort_facts["tcga-coadread"]
    assert (facts["cancer_type"], facts["time_zero"]) == ("COADREAD", "diagnosis")


def test_a_stage_iv_colon_curve_falls_faster_than_on_the_adjuvant_trials_baseline(
    shipped: PortraitModel,
) -> None:
    from inference.portrait.model import median_months

    portrait = _colon(4)
    before = shipped.predict([portrait])[0]  # the type's reference cohort (as before #16's fix)
    chosen = [shipped.baseline(portrait)]
    after = shipped.predict([portrait], chosen)[0]
    assert _at(shipped, after, 36.0) < _at(shipped, before, 36.0) - 0.1
    grid = np.asarray(shipped.bundle.grid_months)
    median_before, median_after = median_months(grid, before), median_months(grid, after)
    assert median_after is not None and median_before is not None
    assert median_after < median_before
    mean, lower, upper = shipped.survival_band([portrait], cohorts=chosen)
    assert np.array_equal(mean[0], after)
    assert (lower <= mean).all() and (mean <= upper).all()
    assert _at(shipped, upper[0] - lower[0], 36.0) > 0.005


def test_a_staged_breast_case_stays_on_metabric_whose_stages_are_unknown(
    shipped: PortraitModel,
) -> None:
    assert not shipped.bundle.stage_counts["metabric"]
    assert {shipped.baseline(_portrait("BRCA", s)) for s in (1, 2, 3, 4)} == {"metabric"}


def test_on_the_baselines_the_rule_picks_stage_iv_is_below_stage_i_for_every_staged_type(
    shipped: PortraitModel,
) -> None:
    for cancer_type in shipped.bundle.reference_cohort:
        if cancer_type in UNSTAGED:
            continue
        portraits = [_portrait(cancer_type, 1), _portrait(cancer_type, 4)]
        early, late = shipped.predict(portraits, [shipped.baseline(p) for p in portraits])
        horizon = shipped.bundle.validation[cancer_type]["horizon_months"]
        assert _at(shipped, late, horizon) < _at(shipped, early, horizon), cancer_type
