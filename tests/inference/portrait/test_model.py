"""Portrait model: committed checkpoint, stage monotonicity per type, breast demo, round trip."""

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
    Standardiser,
    bundle_to_checkpoint,
    load_shipped,
    model_from_checkpoint,
)
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
        horizon = shipped.bundle.validation[cancer_type]["main_horizon_months"]
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


@pytest.mark.parametrize("type_shapes", [False, True])
def test_a_checkpoint_round_trip_gives_the_same_curves(tmp_path: Path, type_shapes: bool) -> None:
    torch.manual_seed(0)
    config = PortraitConfig(
        cancer_types=("BRCA", "LUNG"),
        hinge_features=("age_years", "nodes_positive"),
        mlp_hidden=4,
        type_shapes=type_shapes,
    )
    net = PortraitNet(config)
    with torch.no_grad():
        for parameter in net.parameters():
            parameter.normal_(0.0, 0.1)
    n = len(FEATURE_NAMES)
    bundle = PortraitBundle(
        config=config,
        standardiser=Standardiser(tuple([0.0] * n), tuple([1.0] * n)),
        grid_months=(0.0, 12.0, 24.0),
        baselines={"a": (0.0, 0.1, 0.3), "b": (0.0, 0.2, 0.5)},
        reference_cohort={"BRCA": "a", "LUNG": "b"},
    )
    model = PortraitModel(bundle, net)
    path = tmp_path / "portrait.pt"
    torch.save(bundle_to_checkpoint(bundle, net), path)
    again = model_from_checkpoint(path, expected_sha256=sha256_of(path))
    portraits = [
        ClinicalPortrait(cancer_type="BRCA", age_years=50.0),
        ClinicalPortrait(cancer_type="LUNG", age_years=70.0, staging=Staging(stage_group=4)),
    ]
    assert np.allclose(model.predict(portraits), again.predict(portraits))
    assert np.allclose(again.predict(portraits), again.predict(portraits))  # eval mode: no dropout


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
