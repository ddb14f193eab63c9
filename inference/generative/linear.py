"""A linear-Gaussian component of the joint: per cancer type, a factor-analysis Gaussian over all
standardised features (clinical, mutation, copy number, RNA) around the type's mean.

Copy number and RNA are drawn from it: x | type ~ N(mean_k, W_k W_k' + diag(psi_k)), so
conditioning on whatever a case has measured, in any modality, gives the exact Gaussian conditional
mean and covariance (what a ridge regression from the measured features approximates, but for any
pattern of missing features). The factors f | measured are Gaussian with precision
I + W_o' Psi_o^-1 W_o; a draw is mean_k + W_k f + sqrt(psi_k) e. The variational network keeps
generating clinical and mutation features and the residual-factor model stays for checkpoints
without this component.

Fitting (on the fitting rows only): per type, the sample covariance of the centred training
features kept to its ``RANK`` leading principal directions (W), plus a shrinkage ``psi`` times the
identity, so the conditional mean is a ridge regression on those directions. The shrinkage is
chosen on the inner validation rows (masked RNA and copy-number imputation accuracy); the interval
scale is calibrated there afterwards like the network's.

Shared component: a type's few hundred rows estimate its covariance poorly (its conditional mean
reached RNA r 0.135 on the inner validation rows where a ridge regression pooled over types, type
means removed, reached 0.146). So each type's covariance is a mixture of its own and the pooled
within-type covariance, W_k W_k' a + V V' (1 - a) + psi, with V the ``SHARED_RANK`` leading
directions of the fitting rows' deviations from their type mean (one matrix for every type, so it
costs the checkpoint one type's worth of loadings). Still one Gaussian per type: sampling and any-
subset conditioning are unchanged, the factors are just the two sets side by side. The weight a
and the shrinkage are chosen together on the inner validation rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from inference.generative.data import MODALITIES, FloatArray

RANK = 64
#: Rank of the loadings shared by every type (pooled within-type covariance).
SHARED_RANK = 256
#: Candidate ridge penalties, chosen on the inner validation rows.
SHRINKS = (1.0, 3.0, 10.0)
#: Candidate (weight of the type's own covariance a, shrinkage) pairs with the shared component;
#: a = 1 is the type's covariance alone.
MIXTURES = ((1.0, 1.0), (0.5, 0.7), (0.5, 1.0), (0.5, 1.5), (0.3, 1.0), (0.3, 1.5))
DRAWN = ("cnv", "rna")


@dataclass(frozen=True)
class LinearGaussian:
    """Per type k: mean (K, D), loadings (K, D, rank), unique variance psi (K, D); D runs over
    ``MODALITIES`` in order with ``dims``."""

    mean: FloatArray
    loadings: FloatArray
    psi: FloatArray
    dims: Mapping[str, int]
    drawn: tuple[str, ...] = DRAWN
    #: (K, D) multiplier of each drawn feature's spread, per type (split-conformal scales fitted
    #: on the inner validation rows, ``inference.generative.calibration``); None = 1.
    spread: FloatArray | None = None
    #: (D, shared rank) loadings common to every type (already weighted by sqrt(1 - a), as
    #: ``loadings`` are by sqrt(a)); None = none.
    shared: FloatArray | None = None

    @property
    def rank(self) -> int:
        """Factors per type: the type's own and the shared ones."""
        own = self.loadings.shape[2]
        return own if self.shared is None else own + self.shared.shape[1]

    def type_loadings(self, k: int, rows: slice | np.ndarray = slice(None)) -> FloatArray:
        """(D or the rows' count, rank) loadings of type ``k``: its own, then the shared ones."""
        own = self.loadings[k][rows]
        if self.shared is None:
            return own
        out: FloatArray = np.concatenate([own, self.shared[rows]], axis=1)
        return out

    def project(self, modality: str, types: np.ndarray, f: FloatArray) -> FloatArray:
        """(..., N, d) the modality's loadings times factors ``f`` (..., N, rank), by type (the
        per-row loadings (N, d, rank) would not fit in memory for large shared ranks)."""
        s = self.span(modality)
        out = np.zeros((*f.shape[:-1], s.stop - s.start))
        for k in np.unique(types):
            rows = types == k
            out[..., rows, :] = f[..., rows, :] @ self.type_loadings(int(k), s).T
        return out

    def span(self, modality: str) -> slice:
        start = 0
        for m in MODALITIES:
            if m == modality:
                return slice(start, start + self.dims[m])
            start += self.dims[m]
        raise KeyError(modality)

    def conditional(self, z: FloatArray, types: np.ndarray) -> tuple[FloatArray, FloatArray]:
        """Mean of the factors (N, rank) and the Cholesky factor of their covariance (N, r, r)
        given the measured entries of ``z`` (N, D; NaN = not measured)."""
        n, rank = len(types), self.rank
        f_mean = np.zeros((n, rank))
        f_chol = np.zeros((n, rank, rank))
        for k in np.unique(types):
            rows = np.flatnonzero(types == k)
            w, psi = self.type_loadings(int(k)), self.psi[k]
            seen = ~np.isnan(z[rows])
            resid = np.where(seen, z[rows] - self.mean[k], 0.0)
            # Rows sharing a pattern of measured features share the factors' covariance.
            patterns, which = np.unique(seen, axis=0, return_inverse=True)
            weight = patterns / psi  # (patterns, D)
            precision = np.eye(rank) + np.einsum("dr,nd,dq->nrq", w, weight, w, optimize=True)
            cov = np.linalg.inv(precision)
            cov = (cov + cov.transpose(0, 2, 1)) / 2
            which = which.reshape(-1)
            b = (resid * weight[which]) @ w
            f_mean[rows] = np.einsum("nrq,nq->nr", cov[which], b)
            f_chol[rows] = np.linalg.cholesky(cov)[which]
        return f_mean, f_chol

    def draw(
        self,
        modality: str,
        types: np.ndarray,
        f: FloatArray,
        noise: FloatArray,
        f_mean: FloatArray,
        widen: float,
    ) -> FloatArray:
        """Standardised draws (S, N, d): conditional mean plus ``widen`` x its spread, for factor
        draws ``f`` (S, N, rank) around ``f_mean`` and standard normal ``noise`` (S, N, d)."""
        s = self.span(modality)
        mean = self.mean[types][:, s] + self.project(modality, types, f_mean)
        spread = self.project(modality, types, f - f_mean) + np.sqrt(self.psi[types][:, s]) * noise
        if self.spread is not None:
            spread = spread * self.spread[types][:, s][None]
        out: FloatArray = mean[None] + widen * spread
        return out


def joint_features(
    standardised: Mapping[str, FloatArray], n: int, dims: Mapping[str, int]
) -> FloatArray:
    """(N, D) standardised features in ``MODALITIES`` order, NaN where not measured."""
    parts = [standardised.get(m, np.full((n, dims[m]), np.nan)) for m in MODALITIES]
    out: FloatArray = np.hstack(parts)
    return out


def half(lg: LinearGaussian) -> LinearGaussian:
    """The component as a float16 checkpoint stores it."""
    r = lambda a: a.astype(np.float16).astype(np.float64)  # noqa: E731
    spread = None if lg.spread is None else r(lg.spread)
    shared = None if lg.shared is None else r(lg.shared)
    return LinearGaussian(r(lg.mean), r(lg.loadings), r(lg.psi), lg.dims, lg.drawn, spread, shared)


def fit_linear(
    z: FloatArray,
    types: np.ndarray,
    n_types: int,
    dims: Mapping[str, int],
    rank: int = RANK,
    shrink: float = 1.0,
) -> LinearGaussian:
    """Fit the per-type Gaussian to standardised rows ``z`` (N, D): the covariance of the centred
    training rows kept to its ``rank`` leading principal directions, plus ``shrink`` times the
    identity (the ridge penalty of the conditional mean)."""
    d = z.shape[1]
    mean = np.zeros((n_types, d))
    loadings = np.zeros((n_types, d, rank))
    psi = np.ones((n_types, d))
    for k in range(n_types):
        x = z[types == k]
        if len(x) < 3:
            continue
        seen = ~np.isnan(x)
        count = seen.sum(0)
        mu = np.where(count > 0, np.where(seen, x, 0.0).sum(0) / np.maximum(count, 1), 0.0)
        r = np.where(seen, x - mu, 0.0)
        var = (r**2).sum(0) / np.maximum(count - 1, 1)
        _, s, vt = np.linalg.svd(r / np.sqrt(len(x) - 1), full_matrices=False)
        q = min(rank, len(s))
        w = vt[:q].T * s[:q]
        varying = var > 1e-8
        w[~varying] = 0.0
        mean[k] = mu
        loadings[k, :, :q] = w
        psi[k] = np.where(varying, shrink, 1.0)
    return LinearGaussian(mean, loadings, psi, dict(dims))


def masked_accuracy(
    lg: LinearGaussian, z: FloatArray, types: np.ndarray, targets: Sequence[str] = DRAWN
) -> float:
    """Mean per-feature Pearson r of the conditional mean of each target modality imputed from
    the others (rows of one type at a time, features with spread only)."""
    scores: list[float] = []
    for m in targets:
        s = lg.span(m)
        shown = z.copy()
        shown[:, s] = np.nan
        f_mean, _ = lg.conditional(shown, types)
        pred = lg.mean[types][:, s] + lg.project(m, types, f_mean)
        for k in np.unique(types):
            rows = types == k
            t, p = z[rows][:, s], pred[rows]
            ok = ~np.isnan(t).any(0) & (np.nanstd(t, 0) > 1e-8) & (p.std(0) > 1e-8)
            if ok.sum() == 0 or rows.sum() < 3:
                continue
            tc, pc = t[:, ok] - t[:, ok].mean(0), p[:, ok] - p[:, ok].mean(0)
            r = (tc * pc).sum(0) / np.sqrt((tc**2).sum(0) * (pc**2).sum(0))
            scores.append(float(np.mean(r)))
    return float(np.mean(scores)) if scores else float("nan")


def shared_loadings(
    z: FloatArray, types: np.ndarray, mean: FloatArray, rank: int = SHARED_RANK
) -> FloatArray:
    """(D, rank) leading principal directions of the rows' deviations from their type's mean
    ``mean`` (K, D), scaled as covariance loadings (unmeasured entries count as the mean).

    Computed from the rows' Gram matrix (N x N), cheaper than the D x D covariance when N < D.
    """
    r = np.where(np.isnan(z), 0.0, z - mean[types]) / np.sqrt(max(len(z) - 1, 1))
    eigval, eigvec = np.linalg.eigh(r @ r.T)
    order = np.argsort(eigval)[::-1][: min(rank, len(z))]
    keep = eigval[order] > 1e-10
    out = np.zeros((z.shape[1], rank))
    # r' u_i = sqrt(lambda_i) v_i: the loadings (eigenvector times root eigenvalue).
    out[:, : keep.sum()] = r.T @ eigvec[:, order[keep]]
    return out


def mixed(lg: LinearGaussian, shared: FloatArray, weight: float) -> LinearGaussian:
    """The type-own component ``lg`` mixed with ``shared`` loadings (D, rank): covariance
    ``weight`` x the type's own + (1 - ``weight``) x shared + ``lg.psi`` (``weight`` 1: no shared
    component). A type's features it never carried stay unmeasured for its rows, so the shared
    loadings there never reach an answer (the model returns NaN for them)."""
    return replace(
        lg,
        loadings=lg.loadings * np.sqrt(weight),
        shared=None if weight >= 1.0 else shared * np.sqrt(1.0 - weight),
    )
