"""Shared pieces of the generative benchmarks: the model of a fold, hallmark matrices, folds.

Fold 0 uses the shipped checkpoint (trained on fold 0's training part, as its model card says);
any other fold trains a model on that fold's training part first (a few CPU minutes). Only the
held-out part of a fold is evaluated.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import torch

from inference.generative.data import (
    COHORTS,
    FloatArray,
    IntArray,
    MultiOmicsTable,
    folds_split,
    load_cohorts,
)
from inference.generative.model import GenerativeModel, load_generative
from inference.generative.programmes import membership_of
from inference.generative.train import train_generative
from inference.hallmarks.gene_sets import hallmark_scores

logger = logging.getLogger(__name__)


def parse_folds(value: str | None, default: tuple[int, ...] = (0,)) -> tuple[int, ...]:
    """``"0,2"`` -> (0, 2); ``None`` -> ``default``."""
    if not value:
        return default
    folds = tuple(int(f) for f in value.split(",") if f.strip())
    bad = [f for f in folds if f not in range(5)]
    if bad:
        raise SystemExit(f"--folds must be in 0..4, got {bad}")
    return folds


def parse_cohorts(
    value: str | None, default: tuple[str, ...] | None = None
) -> tuple[str, ...] | None:
    """``"brca,luad"`` -> ("brca", "luad"); ``None`` -> ``default`` (None = every cohort)."""
    if not value:
        return default
    cohorts = tuple(c.strip().lower() for c in value.split(",") if c.strip())
    unknown = [c for c in cohorts if c not in COHORTS]
    if unknown:
        raise SystemExit(f"--cohorts: unknown {unknown}; known: {', '.join(COHORTS)}")
    return cohorts


def load_table(data: Path) -> MultiOmicsTable:
    """All 12 PORPOISE cohorts."""
    return load_cohorts(data)


def model_for_fold(table: MultiOmicsTable, fold: int, data: Path) -> tuple[GenerativeModel, str]:
    """The model to evaluate on ``fold``'s held-out part, and where it came from."""
    torch.set_num_threads(1)
    if fold == 0:
        shipped = load_generative()
        if shipped.validation.get("fold") == 0:
            return shipped, f"shipped checkpoint {shipped.version} (fold-0 training part)"
    train_idx, _ = folds_split(table, fold, data_dir=data)
    logger.info("training the generative model on fold %d's training part", fold)
    model = train_generative(table, train_idx, seed=0)
    return model, f"trained in this run on fold {fold}'s training part"


def hallmarks_of(model: GenerativeModel, rna: np.ndarray) -> tuple[tuple[str, ...], FloatArray]:
    """Hallmark programme scores of RNA rows (..., genes) on the model's gene order."""
    membership = membership_of(model.names["rna"])
    return membership.names, hallmark_scores(rna, membership)


def rows_of(table: MultiOmicsTable, idx: IntArray, cohort: str) -> IntArray:
    """The rows of ``idx`` in one cohort."""
    return idx[table.cancer_type[idx] == cohort]


def nanmean0(x: np.ndarray) -> FloatArray:
    """Mean over axis 0, NaN (without a warning) where a column has no value."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out: FloatArray = np.nanmean(x, axis=0)
    return out
