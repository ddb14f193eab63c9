"""Conformal spread of the linear-Gaussian draws: a type whose noise the shared penalty
under-states is widened, one it over-states is narrowed, so each type's 80% intervals cover 80%
on fresh rows."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from inference.generative.calibration import conformal_spread
from inference.generative.linear import fit_linear
from inference.generative.metrics import interval_coverage
from inference.generative.model import antithetic

DIMS = {"clinical": 1, "mutation": 2, "cnv": 6, "rna": 5}
D = sum(DIMS.values())
NOISE = (0.2, 1.5)  # type 0 is quieter, type 1 noisier than the penalty of 1 assumes


def _rows(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    types = np.repeat([0, 1], n)
    mixing = np.random.default_rng(99).standard_normal((3, D))
    z = rng.standard_normal((2 * n, 3)) @ mixing
    z += np.array(NOISE)[types][:, None] * rng.standard_normal((2 * n, D))
    return z, types


def _coverage_per_type(lg, z: np.ndarray, types: np.ndarray, modality: str) -> list[float]:
    s = lg.span(modality)
    shown = z.copy()
    shown[:, s] = np.nan
    f_mean, f_chol = lg.conditional(shown, types)
    rng = np.random.default_rng(5)
    eps = antithetic(rng.standard_normal((200, *f_mean.shape)))
    f = f_mean[None] + np.einsum("nrq,anq->anr", f_chol, eps)
    noise = antithetic(rng.standard_normal((200, len(types), s.stop - s.start)))
    draws = lg.draw(modality, types, f, noise, f_mean, 1.0)
    return [interval_coverage(draws[:, types == k], z[types == k][:, s]) for k in (0, 1)]


def test_conformal_spread_gives_each_type_its_nominal_coverage_on_fresh_rows():
    z_fit, k_fit = _rows(300, 0)
    lg = fit_linear(z_fit, k_fit, 2, DIMS, rank=4, shrink=1.0)
    z_val, k_val = _rows(300, 1)
    z_test, k_test = _rows(300, 2)
    before = _coverage_per_type(lg, z_test, k_test, "rna")
    assert before[0] > 0.95 and before[1] < 0.7  # the shared penalty misstates both types
    carried = {m: np.ones((len(k_val), DIMS[m]), dtype=bool) for m in lg.drawn}
    spread, report = conformal_spread(lg, z_val, k_val, {}, carried)
    after = _coverage_per_type(replace(lg, spread=spread), z_test, k_test, "rna")
    assert all(abs(c - 0.8) < 0.05 for c in after), after
    assert report["conformal_type_scale_min_rna"] < 1 < report["conformal_type_scale_max_rna"]
