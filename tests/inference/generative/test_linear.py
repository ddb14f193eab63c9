"""The linear-Gaussian component: its conditional mean is the regression of the missing block on
whatever is measured, and a missing pattern it never saw only widens, never breaks, the answer."""

from __future__ import annotations

import numpy as np

from inference.generative.linear import fit_linear, masked_accuracy, mixed, shared_loadings

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


def _two_types(n_small: int, n_large: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two types with different means but the same within-type structure."""
    z0, _ = _gaussian_rows(n_small, seed)
    z1, _ = _gaussian_rows(n_large, seed + 100)
    z = np.vstack([z0 + 2.0, z1 - 1.0])
    return z, np.r_[np.zeros(n_small), np.ones(n_large)].astype(np.int64)


def test_shared_loadings_help_a_type_with_few_rows_learn_the_common_structure():
    z, kinds = _two_types(5, 400, 0)
    own = fit_linear(z, kinds, 2, DIMS, rank=8, shrink=0.1)
    with_shared = mixed(own, shared_loadings(z, kinds, own.mean, rank=8), 0.3)
    z_test, k_test = _two_types(200, 10, 1)
    small = k_test == 0
    alone = masked_accuracy(own, z_test[small], k_test[small], ("rna",))
    pooled = masked_accuracy(with_shared, z_test[small], k_test[small], ("rna",))
    assert pooled > alone + 0.05
    assert pooled > 0.9


def test_shared_component_keeps_the_types_means_and_projects_like_dense_loadings():
    z, kinds = _two_types(50, 60, 0)
    own = fit_linear(z, kinds, 2, DIMS, rank=4, shrink=0.5)
    lg = mixed(own, shared_loadings(z, kinds, own.mean, rank=3), 0.5)
    assert lg.rank == 7
    f = np.random.default_rng(3).standard_normal((5, len(kinds), lg.rank))
    dense = np.stack([lg.type_loadings(int(k)) for k in kinds])[:, lg.span("cnv")]
    np.testing.assert_allclose(lg.project("cnv", kinds, f), np.einsum("ndr,anr->and", dense, f))
    # With nothing measured the conditional mean is the type's mean.
    f_mean, _ = lg.conditional(np.full((2, z.shape[1]), np.nan), np.array([0, 1]))
    np.testing.assert_allclose(f_mean, 0.0)
    assert not np.allclose(lg.mean[0], lg.mean[1])
