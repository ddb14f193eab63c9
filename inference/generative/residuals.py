"""A low-rank factor model of what the latent state leaves unexplained, per modality.

The decoders give each gene a mean and a residual variance. Drawing the residuals independently
per gene would make generated profiles too smooth along the main axes of variation and programme
(hallmark) scores far too certain, because real residuals are correlated (immune, stromal,
proliferation programmes the 24-dimensional latent state does not fully carry). After training,
the standardised residuals of the fitting rows (value minus decoded posterior mean, divided by the
decoder's residual standard deviation) get a factor model: residual = W f + u * e, with f and e
standard normal, W the leading ``RANK`` principal directions scaled as in probabilistic PCA, and
the uniqueness u chosen so every gene keeps unit residual variance. Covariances are pairwise over
rows where both genes were measured, since cohorts carry different genes.
"""

from __future__ import annotations

import numpy as np
import torch

from inference.generative.data import FloatArray
from inference.generative.network import GenerativeNet

RANK = 16
FACTORED = ("cnv", "rna")
MIN_PAIRS = 30


def standardised_residuals(
    net: GenerativeNet,
    values: dict[str, torch.Tensor],
    masks: dict[str, torch.Tensor],
    kinds: torch.Tensor,
) -> dict[str, FloatArray]:
    """Residuals (NaN where unmeasured) given every modality, on the decoder's noise scale."""
    with torch.no_grad():
        shown = {m: s.any(1) for m, s in masks.items()}
        mu, _ = net.posterior(values, masks, shown, kinds)
        outs = net.decode(mu, kinds, FACTORED)
        out: dict[str, FloatArray] = {}
        for m in FACTORED:
            sd = torch.exp(0.5 * net.residual_logvar(m, kinds))
            r = ((values[m] - outs[m]) / sd).numpy().astype(np.float64)
            out[m] = np.where(masks[m].numpy(), r, np.nan)
    return out


def fit_factors(residuals: FloatArray, rank: int = RANK) -> tuple[FloatArray, FloatArray]:
    """(W: d x rank, u: d) with W W' + diag(u^2) matching the residual covariance's diagonal."""
    present = ~np.isnan(residuals)
    filled = np.where(present, residuals, 0.0)
    pairs = present.T.astype(np.float64) @ present.astype(np.float64)
    cov = (filled.T @ filled) / np.maximum(pairs, 1.0)
    cov[pairs < MIN_PAIRS] = 0.0
    d = cov.shape[0]
    rank = min(rank, d)
    eigval, eigvec = np.linalg.eigh(cov)
    order = np.argsort(eigval)[::-1]
    eigval, eigvec = eigval[order], eigvec[:, order]
    rest = float(np.clip(eigval[rank:].mean(), 0.0, None)) if d > rank else 0.0
    scale = np.sqrt(np.clip(eigval[:rank] - rest, 0.0, None))
    w = eigvec[:, :rank] * scale
    # Keep each gene's residual variance at 1 (the decoder's variance): W shares, u the rest.
    share = (w**2).sum(1)
    too_much = share > 0.95
    w[too_much] *= np.sqrt(0.95 / share[too_much])[:, None]
    u = np.sqrt(1.0 - (w**2).sum(1))
    return w, u
