"""Modality Shapley values and integrated gradients on a tiny model."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from inference.explain.gradients import integrated_gradients
from inference.explain.hallmarks import gene_attributions, hallmark_lens
from inference.explain.shapley import exact_modality_shapley
from inference.models import create_model
from inference.models.batch import ModalityBatch
from inference.runtime import eval_mode, seed_everything
from inference.schema import MODALITIES, FeatureAttribution
from tests.inference.models.tiny import random_batch, tiny_config


def test_shapley_values_of_an_additive_game_are_the_contributions() -> None:
    contribution = torch.tensor([0.1, -0.2, 0.0, 0.3, 0.05, 0.0, 0.0], dtype=torch.float64)
    result = exact_modality_shapley(
        lambda masks: 1.0 + (masks.double() * contribution).sum(dim=1), [0, 1, 3, 4], 7
    )
    assert result.values == pytest.approx({0: 0.1, 1: -0.2, 3: 0.3, 4: 0.05})


def test_modality_shapley_values_sum_to_the_prediction_difference() -> None:
    seed_everything(0)
    model = create_model(config=tiny_config())
    case = random_batch(tiny_config(), n=3).index(torch.tensor([1]))
    present = torch.nonzero(case.present[0]).flatten().tolist()
    assert len(present) >= 5

    def value(masks: torch.Tensor) -> torch.Tensor:
        with eval_mode(model):
            return model(case.repeat(masks.shape[0]).with_present(masks)).survival[:, 6]

    result = exact_modality_shapley(value, present, len(MODALITIES))
    with eval_mode(model):
        full = float(model(case).survival[0, 6])
        empty = float(model(case.with_present(torch.zeros_like(case.present))).survival[0, 6])
    assert result.full == pytest.approx(full, abs=1e-6)
    assert result.empty == pytest.approx(empty, abs=1e-6)
    assert sum(result.values.values()) == pytest.approx(full - empty, abs=1e-6)


def test_integrated_gradients_are_complete_for_the_tabular_inputs() -> None:
    seed_everything(0)
    model = create_model(config=tiny_config())
    case = random_batch(tiny_config(), n=2).index(torch.tensor([1]))
    tabular_only = case.present.clone()
    tabular_only[:, MODALITIES.index("slide")] = False
    tabular_only[:, MODALITIES.index("imaging")] = False
    case = case.with_present(tabular_only)

    def output(batch: ModalityBatch) -> torch.Tensor:
        return model(batch).survival[:, 6]

    with eval_mode(model, gradients=True):
        attributions = integrated_gradients(output, case, steps=64)
        at_case = float(output(case)[0].detach())
        zeroed = {
            name: replace(getattr(case, name), values=torch.zeros_like(getattr(case, name).values))
            for name in attributions
        }
        at_baseline = float(output(replace(case, **zeroed))[0].detach())
    total = sum(float(a.sum()) for a in attributions.values())
    assert total == pytest.approx(at_case - at_baseline, abs=2e-3)
    assert case.labs is not None
    missing = case.labs.missing[0]
    assert torch.all(attributions["labs"][missing] == 0)


def test_the_hallmark_lens_pools_gene_attributions_by_hallmark() -> None:
    attributions = [
        FeatureAttribution("expression", "MKI67", 2.0, -0.03, "raises risk"),
        FeatureAttribution("mutations", "TP53", 1.0, -0.02, "raises risk"),
        FeatureAttribution("clinical", "age", 70.0, -0.05, "raises risk"),
    ]
    membership = {"HALLMARK_G2M_CHECKPOINT": ["MKI67", "TP53"], "HALLMARK_HYPOXIA": ["VEGFA"]}
    genes = gene_attributions(attributions)
    assert genes == {"MKI67": -0.03, "TP53": -0.02}
    lens = hallmark_lens(membership, {"MKI67": 2.0, "TP53": np.nan}, genes)
    assert lens[0].hallmark == "HALLMARK_G2M_CHECKPOINT"
    assert lens[0].attribution == pytest.approx(-0.05)
    assert lens[0].score == pytest.approx(2.0)
    assert lens[0].genes_measured == 1
    assert lens[1].score is None and lens[1].attribution == 0.0
