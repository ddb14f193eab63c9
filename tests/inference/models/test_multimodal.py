"""Shapes, masks, NaN-freedom and determinism of the multimodal survival model."""

from __future__ import annotations

import itertools

import pytest
import torch

from inference.models import MultimodalSurvival, create_model
from inference.runtime import eval_mode, seed_everything
from inference.schema import MODALITIES
from tests.inference.models.tiny import random_batch, tiny_config

ALL_SUBSETS = [
    subset for r in range(len(MODALITIES) + 1) for subset in itertools.combinations(MODALITIES, r)
]


def _model() -> MultimodalSurvival:
    seed_everything(0)
    return create_model(config=tiny_config())


def test_it_gives_finite_monotone_curves_for_every_modality_subset() -> None:
    model = _model()
    batch = random_batch(tiny_config(), n=4)
    rows = torch.arange(4).repeat(len(ALL_SUBSETS))  # (S*4,)
    masks = torch.stack(
        [torch.tensor([m in subset for m in MODALITIES]) for subset in ALL_SUBSETS]
    ).repeat_interleave(4, dim=0)  # (S*4, M)
    expanded = batch.index(rows).with_present(masks)
    with eval_mode(model):
        output = model(expanded)
    n_bins = len(tiny_config().time_edges) - 1
    assert output.survival.shape == (len(ALL_SUBSETS) * 4, n_bins + 1)
    assert output.log_hazard.shape == (len(ALL_SUBSETS) * 4, n_bins)
    assert output.embedding.shape == (len(ALL_SUBSETS) * 4, 16)
    assert torch.isfinite(output.survival).all() and torch.isfinite(output.embedding).all()
    assert torch.all(output.survival[:, 0] == 1.0)
    assert torch.all(output.survival[:, 1:] <= output.survival[:, :-1])


def test_an_absent_modality_has_no_influence_on_the_prediction() -> None:
    model = _model()
    batch = random_batch(tiny_config(), n=3)
    present = batch.present.clone()
    present[:, MODALITIES.index("labs")] = False
    hidden = batch.with_present(present)
    assert batch.labs is not None
    changed = type(batch.labs)(values=batch.labs.values + 5.0, missing=batch.labs.missing)
    from dataclasses import replace

    with eval_mode(model):
        first = model(hidden).survival
        second = model(replace(hidden, labs=changed)).survival
    torch.testing.assert_close(first, second)


def test_it_is_deterministic_in_eval_mode_and_stochastic_in_training() -> None:
    model = _model()
    batch = random_batch(tiny_config(), n=8)
    with eval_mode(model):
        first = model(batch).survival
        second = model(batch).survival
    assert torch.equal(first, second)
    assert model.training, "eval_mode must restore the training flag"
    torch.manual_seed(1)
    noisy_a = model(batch).survival
    torch.manual_seed(2)
    noisy_b = model(batch).survival
    assert not torch.equal(noisy_a, noisy_b)


def test_modality_dropout_keeps_at_least_one_present_modality() -> None:
    model = _model()
    present = torch.tensor([[True, False, True, False, False, False, False]] * 200)
    torch.manual_seed(0)
    dropped = model.drop_modalities(present)
    assert torch.all(dropped.any(dim=1))
    assert not torch.any(dropped & ~present)
    assert dropped.sum() < present.sum()


def test_tile_attention_sums_to_one_over_real_tiles_and_zero_on_padding() -> None:
    model = _model()
    batch = random_batch(tiny_config(), n=6)
    with eval_mode(model):
        output = model(batch)
    assert batch.tiles is not None and output.tile_attention is not None
    mask = batch.tiles.mask
    has_tiles = mask.any(dim=1)
    sums = output.tile_attention.sum(dim=1)
    torch.testing.assert_close(sums[has_tiles], torch.ones(int(has_tiles.sum())))
    assert torch.all(output.tile_attention[~mask] == 0)


@pytest.mark.parametrize("treatment", [0.0, 1.0])
def test_treatment_inputs_change_the_curve(treatment: float) -> None:
    model = _model()
    batch = random_batch(tiny_config(), n=2)
    assert batch.treatment is not None and batch.treatment_known is not None
    from dataclasses import replace

    flipped = replace(batch, treatment=torch.full_like(batch.treatment, treatment))
    other = replace(batch, treatment=torch.full_like(batch.treatment, 1.0 - treatment))
    with eval_mode(model):
        assert not torch.allclose(model(flipped).survival, model(other).survival)
