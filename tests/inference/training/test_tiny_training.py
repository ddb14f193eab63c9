"""A tiny training run learns a synthetic survival signal in seconds, deterministically."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from inference.models.config import ModelConfig, identity_spec
from inference.survival.curves import restricted_mean
from inference.survival.metrics import harrell_c
from inference.tabular.features import RawArrays, batch_from_arrays
from inference.training.loop import TrainConfig, fit_model, inner_split, predict_survival


def _synthetic(n: int, seed: int) -> tuple[RawArrays, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    clinical = rng.normal(size=(n, 3))
    labs = rng.normal(size=(n, 2))
    labs[rng.random(labs.shape) < 0.3] = np.nan
    log_risk = 1.2 * clinical[:, 0] - 0.8 * np.nan_to_num(labs[:, 1])
    event_time = rng.exponential(24.0 * np.exp(-log_risk))
    censor_time = rng.uniform(0.0, 80.0, size=n)
    raw = RawArrays(n=n, tabular={"clinical": clinical, "labs": labs})
    times = np.minimum(event_time, censor_time)
    return raw, times, (event_time <= censor_time).astype(np.float64)


def test_a_tiny_training_run_learns_a_synthetic_signal() -> None:
    torch.set_num_threads(1)
    config = ModelConfig(
        name="synthetic",
        time_edges=tuple(float(t) for t in range(0, 61, 6)),
        dim=16,
        heads=2,
        clinical=identity_spec(("a", "b", "c")),
        labs=identity_spec(("x", "y")),
        slide=None,
    )
    raw, times, events = _synthetic(600, seed=0)
    batch = batch_from_arrays(config, raw)
    rows = np.arange(400)
    test = np.arange(400, 600)
    fit, val = inner_split(events, rows, 0.2, seed=0)
    train = replace(TrainConfig(), epochs=25, patience=8, batch_size=128, lr=5e-3, members=1)
    first = fit_model(config, batch, times, events, fit, val, train, seed=0)
    second = fit_model(config, batch, times, events, fit, val, train, seed=0)
    _, curves, _ = predict_survival([first.model], batch.index(torch.as_tensor(test)))
    _, again, _ = predict_survival([second.model], batch.index(torch.as_tensor(test)))
    grid = np.asarray(config.time_edges)
    concordance = harrell_c(times[test], events[test], -restricted_mean(grid, curves))
    assert concordance > 0.72
    np.testing.assert_array_equal(curves, again)
