"""The public API: ``inference.load_model()`` / ``inference.predict()`` with frozen dataclasses."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import inference
from inference.models import create_model, save_checkpoint
from inference.predictor import SurvivalPredictor
from inference.runtime import seed_everything, sha256_of
from inference.schema import (
    CaseInputs,
    ClinicalFacts,
    LabPanel,
    MolecularProfile,
    SlideFeatures,
    TreatmentPlan,
)
from inference.weights import DEFAULT_MODEL, SHIPPED
from tests.inference.models.tiny import tiny_config


def _checkpoint(tmp_path: Path) -> Path:
    seed_everything(0)
    config = tiny_config()
    members = [create_model(config=config) for _ in range(2)]
    rng = np.random.default_rng(0)
    extras = {
        "calibration": {"alpha": 0.2, "correction": 3.0, "n_events": 50},
        "neighbours": {
            "embedding": torch.randn(40, config.dim, dtype=torch.float16),
            "times": torch.as_tensor(rng.uniform(1, 70, 40), dtype=torch.float32),
            "events": torch.as_tensor(rng.random(40) < 0.5, dtype=torch.float32),
        },
        "ood": {
            "mean": torch.zeros(config.dim),
            "precision": torch.eye(config.dim) * 1e-3,
            "threshold": 10.0,
            "feature_z_limit": 6.0,
        },
        "trained_modalities": ["clinical", "labs", "mutations", "copy_number", "expression"],
        "hallmarks": {
            "HALLMARK_G2M_CHECKPOINT": ["MKI67"],
            "HALLMARK_ESTROGEN_RESPONSE_EARLY": ["ESR1"],
        },
        "metrics": {"conformal_coverage": 0.79},
    }
    path = tmp_path / "tiny.pt"
    save_checkpoint(path, name="tiny", version="t", config=config, members=members, extras=extras)
    return path


@pytest.fixture
def model(tmp_path: Path) -> SurvivalPredictor:
    path = _checkpoint(tmp_path)
    return inference.load_model(checkpoint_path=path, expected_sha256=sha256_of(path))


def _case(**changes: Any) -> CaseInputs:
    case = CaseInputs(
        case_id="case-1",
        clinical=ClinicalFacts({"age": 0.5, "is_female": 1.0}, cancer_type="IDC"),
        labs=LabPanel({"ldh": 1.0, "albumin": None, "ferritin": 3.0}),
        molecular=MolecularProfile(
            mutations={"TP53": 1.0}, expression={"MKI67": 1.5, "ESR1": -0.5}
        ),
        treatment=TreatmentPlan({"chemotherapy": True}),
    )
    return dataclasses.replace(case, **changes)


def test_predict_returns_a_complete_frozen_prediction(model: SurvivalPredictor) -> None:
    prediction = inference.predict(_case(), model=model)
    with pytest.raises(dataclasses.FrozenInstanceError):
        prediction.status = "ok"  # type: ignore[misc]
    assert prediction.status == "ok", prediction.abstention_reasons
    curve = prediction.curve
    assert curve.times_months[0] == 0.0 and curve.survival[0] == pytest.approx(1.0)
    assert all(
        lo <= s <= hi for lo, s, hi in zip(curve.lower, curve.survival, curve.upper, strict=True)
    )
    assert [s.years for s in prediction.survival_at] == [1, 3, 5]
    assert prediction.inputs_used == ("clinical", "labs", "mutations", "expression")
    assert "copy_number" in prediction.inputs_missing and "slide" in prediction.inputs_missing
    assert "labs:ferritin" in prediction.inputs_ignored
    assert prediction.time_interval is not None
    assert prediction.time_interval.nominal_coverage == pytest.approx(0.8)
    assert prediction.model.weights_sha256 and prediction.model.untrained_modalities == (
        "slide",
        "imaging",
    )
    explanation = prediction.explanation
    assert explanation is not None
    total = explanation.baseline_survival + sum(m.shapley for m in explanation.modality_shapley)
    assert total == pytest.approx(prediction.survival_at[1].survival, abs=1e-5)
    assert {f.modality for f in explanation.feature_attributions} <= set(prediction.inputs_used)
    assert explanation.similar_patients is not None
    assert "observational" in explanation.similar_patients.label
    assert {h.hallmark for h in explanation.hallmarks} == {
        "HALLMARK_G2M_CHECKPOINT",
        "HALLMARK_ESTROGEN_RESPONSE_EARLY",
    }


def test_it_abstains_when_nothing_usable_is_known(model: SurvivalPredictor) -> None:
    prediction = model.predict(CaseInputs(case_id="empty"))
    assert prediction.status == "abstained"
    assert "no usable input" in prediction.abstention_reasons[0]


def test_it_abstains_on_values_far_outside_the_training_range(model: SurvivalPredictor) -> None:
    case = _case(clinical=ClinicalFacts({"age": 40.0, "is_female": 1.0}, cancer_type="IDC"))
    prediction = model.predict(case, explain=False)
    assert prediction.status == "abstained"
    assert any("clinical:age" in reason for reason in prediction.abstention_reasons)


def test_it_abstains_for_a_cancer_type_it_never_saw(model: SurvivalPredictor) -> None:
    case = _case(clinical=ClinicalFacts({"age": 0.1}, cancer_type="SKCM"))
    prediction = model.predict(case, explain=False)
    assert any("SKCM" in reason for reason in prediction.abstention_reasons)


@pytest.mark.parametrize("blank", [None, "", "  "])
def test_it_abstains_when_the_cancer_type_is_blank(
    model: SurvivalPredictor, blank: str | None
) -> None:
    case = _case(clinical=ClinicalFacts({"age": 0.1}, cancer_type=blank))
    prediction = model.predict(case, explain=False)
    assert prediction.status == "abstained"
    assert any("cancer type not recorded" in r for r in prediction.abstention_reasons)


def test_untrained_slide_branch_is_reported_not_used(model: SurvivalPredictor) -> None:
    slide = SlideFeatures(
        slide_id="s1",
        tile_features=np.ones((4, 8), dtype=np.float32),
        tile_coordinates=np.zeros((4, 2), dtype=np.int64),
    )
    prediction = model.predict(_case(slides=(slide,)))
    assert "slide" not in prediction.inputs_used
    assert any(item.startswith("slide:") for item in prediction.inputs_ignored)
    opted_in = model.predict(_case(slides=(slide,)), use_untrained=True)
    assert "slide" in opted_in.inputs_used
    assert opted_in.explanation is not None
    (attention,) = opted_in.explanation.tile_attention
    assert sum(attention.weights) == pytest.approx(1.0)


def test_what_if_curves_come_back_per_treatment_plan(model: SurvivalPredictor) -> None:
    plans = [TreatmentPlan({"chemotherapy": False}), TreatmentPlan({"chemotherapy": True})]
    scenarios = inference.predict_treatments(_case(), plans, model=model)
    assert [s.treatment for s in scenarios] == plans
    assert scenarios[0].curve.survival != scenarios[1].curve.survival


def test_predictions_are_reproducible(model: SurvivalPredictor) -> None:
    assert model.predict(_case()) == model.predict(_case())


def test_the_default_model_is_shipped_with_a_pinned_hash() -> None:
    assert DEFAULT_MODEL in SHIPPED
    for shipped in SHIPPED.values():
        assert sha256_of(shipped.path) == shipped.sha256
        assert (shipped.path.parent / shipped.card).is_file()
