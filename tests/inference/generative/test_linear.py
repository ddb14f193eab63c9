"""The linear-Gaussian component: its conditional mean is the regression of the missing block on
whatever is measured, and a missing pattern it never saw only widens, never breaks, the answer."""

from __future__ import annotations

import numpy as np

from inference.generative.linear import fit_linear, masked_accuracy

DIMS = {"clinical": 1, "mutation": 2, "cnv": 6, "rna": 5}


def _gaussian_rows(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    latent = rng.standard_normal((n, 3))
    mixing = np.random.default_rng(99).standard_normal((3, sum(DIMS.values())))
    z = latent @ mixing + 0.3 * rng.standard_normal((n, sum(DIMS.values())))
    return z, np.zeros(n, dtype=np.int64)


def test_conditional_mean_recovers_a_masked_modality_from_the_others():
    z, kinds = _gaussian_rows(400, 0)
    lg = fit_linear(z, kinds, 1, DIMS, rank=8, shrink=0.1)
    z_test, k_test = _gaussian_rows(200, 1)
    assert masked_accuracy(lg, z_test, k_test, ("rna",)) > 0.9
    # Unrelated features carry nothing: the same fit on shuffled targets predicts nothing.
    shuffled = z_test.copy()
    shuffled[:, -5:] = shuffled[np.random.default_rng(2).permutation(200), -5:]
    assert abs(masked_accuracy(lg, shuffled, k_test, ("rna",))) < 0.2


def test_fewer_measured_features_give_wider_factor_uncertainty():
    z, kinds = _gaussian_rows(400, 0)
    lg = fit_linear(z, kinds, 1, DIMS, rank=8, shrink=0.1)
    rows = z[:2].copy()
    rows[1, 1:] = np.nan  # the second row shows only its clinical feature
    _, chol = lg.conditional(rows, np.zeros(2, dtype=np.int64))
    spread = np.einsum("nrq,nsq->nrs", chol, chol).trace(axis1=1, axis2=2)
    assert spread[1] > spread[0]
