"""Hallmark programme scores of generated RNA samples, with the calibrated spread.

Scores are the mean member z-score per MSigDB hallmark set (``inference.hallmarks.gene_sets``).
Averaging sampled genes whose residual noise the model draws independently would make programme
intervals too narrow, so the spread of the sample scores around their mean is widened by the
model's ``calibration["hallmark"]`` factor, fitted on an inner validation part of the training
data (never the test fold).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from inference.generative.data import FloatArray
from inference.hallmarks.gene_sets import HallmarkMembership, hallmark_membership, hallmark_scores


def membership_of(genes: Sequence[str]) -> HallmarkMembership:
    """Hallmark sets with enough of their members among ``genes``."""
    return hallmark_membership(list(genes))


def hallmark_samples(
    rna_samples: np.ndarray, membership: HallmarkMembership, widen: float = 1.0
) -> FloatArray:
    """Programme scores per sample (S, N, H), spread around the mean scaled by ``widen``."""
    scores = hallmark_scores(np.asarray(rna_samples, dtype=float), membership)
    if widen == 1.0:
        return scores
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a set with no member stays NaN
        center = np.nanmean(scores, axis=0, keepdims=True)
    out: FloatArray = center + widen * (scores - center)
    return out
