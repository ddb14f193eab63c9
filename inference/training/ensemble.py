"""Train a deep ensemble on one split and gather what the predictor needs at serving time.

The ensemble (members differing only in seed) gives the band around S(t); the inner validation
rows calibrate the conformal time interval; training-row embeddings form the "patients like this
one" bank and the out-of-distribution reference.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from inference.models.batch import ModalityBatch
from inference.models.config import ModelConfig
from inference.models.multimodal import MultimodalSurvival
from inference.schema import MODALITIES
from inference.survival import conformal
from inference.training.cohorts import Cohort, Split, hallmark_membership
from inference.training.loop import (
    TrainConfig,
    build_config,
    cohort_batch,
    fit_model,
    inner_split,
    predict_survival,
)

logger = logging.getLogger(__name__)

IntArray = npt.NDArray[np.int64]
NEIGHBOUR_BANK_LIMIT = 2000
CONFORMAL_ALPHA = 0.2


@dataclass
class TrainedEnsemble:
    """An ensemble and its data context.

    Attributes:
        config: shared config.
        members: trained members.
        batch: the whole cohort as a batch under ``config``.
        fit_rows, val_rows: inner split of the training rows.
        split: the outer split.
        calibration: conformal widening fitted on ``val_rows``.
        seconds: wall-clock training time.
        modalities: modalities the ensemble was trained with.
    """

    config: ModelConfig
    members: list[MultimodalSurvival]
    batch: ModalityBatch
    fit_rows: IntArray
    val_rows: IntArray
    split: Split
    calibration: conformal.ConformalCalibration
    seconds: float
    modalities: tuple[str, ...]


def train_ensemble(
    cohort: Cohort,
    split: Split,
    modalities: tuple[str, ...],
    train: TrainConfig,
    data: Path,
    *,
    name: str,
) -> TrainedEnsemble:
    """Train ``train.members`` members on ``split.train`` and calibrate the interval.

    Args:
        cohort: the cohort.
        split: outer split; its test rows are not touched.
        modalities: modalities to train with (plus ``"treatment"`` to use therapy inputs).
        train: settings.
        data: shared data folder.
        name: model name.

    Returns:
        The trained ensemble.
    """
    started = time.perf_counter()
    config, columns = build_config(cohort, split.train, modalities, train, data, name=name)
    batch = cohort_batch(cohort, config, columns)
    fit_rows, val_rows = inner_split(cohort.events, split.train, train.val_fraction, train.seed)
    members = []
    for k in range(train.members):
        result = fit_model(
            config, batch, cohort.times, cohort.events, fit_rows, val_rows, train,
            seed=train.seed * 1000 + k,
        )  # fmt: skip
        logger.info(
            "%s member %d: best epoch %d, %.1fs", name, k, result.best_epoch, result.seconds
        )
        members.append(result.model)
    grid = np.asarray(config.time_edges)
    _, val_curves, _ = predict_survival(members, batch.index(torch.as_tensor(val_rows)))
    calibration = conformal.calibrate(
        cohort.times[fit_rows], cohort.events[fit_rows],
        cohort.times[val_rows], cohort.events[val_rows],
        conformal.model_intervals(grid, val_curves, CONFORMAL_ALPHA), CONFORMAL_ALPHA,
    )  # fmt: skip
    return TrainedEnsemble(
        config=config,
        members=members,
        batch=batch,
        fit_rows=fit_rows,
        val_rows=val_rows,
        split=split,
        calibration=calibration,
        seconds=time.perf_counter() - started,
        modalities=modalities,
    )


def serving_extras(ensemble: TrainedEnsemble, cohort: Cohort, data: Path) -> dict[str, Any]:
    """What the predictor needs besides weights: calibration, neighbour bank, OOD reference.

    Args:
        ensemble: trained ensemble.
        cohort: its cohort.
        data: shared data folder (hallmark compositions).

    Returns:
        Plain-container extras for the checkpoint.
    """
    train_rows = ensemble.split.train
    if len(train_rows) > NEIGHBOUR_BANK_LIMIT:
        rng = np.random.default_rng(0)
        train_rows = np.sort(rng.choice(train_rows, NEIGHBOUR_BANK_LIMIT, replace=False))
    _, _, embedding = predict_survival(
        ensemble.members, ensemble.batch.index(torch.as_tensor(train_rows))
    )
    mean = embedding.mean(axis=0)
    covariance = np.cov(embedding, rowvar=False) + 1e-3 * np.eye(embedding.shape[1])
    precision = np.linalg.inv(covariance)
    centred = embedding - mean
    distances = np.sqrt(np.einsum("nd,de,ne->n", centred, precision, centred))
    genes: set[str] = set()
    for spec in (ensemble.config.mutations, ensemble.config.copy_number):
        if spec is not None:
            genes.update(spec.names)
    if ensemble.config.expression is not None:
        genes.update(ensemble.config.expression.features.names)
    present_rate = ensemble.batch.present[torch.as_tensor(ensemble.split.train)].float().mean(0)
    return {
        "calibration": {
            "alpha": ensemble.calibration.alpha,
            "correction": ensemble.calibration.correction,
            "n_events": ensemble.calibration.n_events,
        },
        "neighbours": {
            "embedding": torch.as_tensor(embedding, dtype=torch.float16),
            "times": torch.as_tensor(cohort.times[train_rows], dtype=torch.float32),
            "events": torch.as_tensor(cohort.events[train_rows], dtype=torch.float32),
        },
        "ood": {
            "mean": torch.as_tensor(mean, dtype=torch.float32),
            "precision": torch.as_tensor(precision, dtype=torch.float32),
            "threshold": float(np.quantile(distances, 0.995)),
            "feature_z_limit": 6.0,
        },
        "trained_modalities": [m for m in ensemble.modalities if m != "treatment"],
        "configured_modalities": [
            m
            for m, on in zip(MODALITIES, ensemble.members[0].configured.tolist(), strict=True)
            if on
        ],
        "modality_presence_in_training": [float(v) for v in present_rate],
        "hallmarks": hallmark_membership(genes, data) if genes else {},
        "cohort": cohort.name,
        "outcome": cohort.outcome,
        "source": cohort.source,
        "n_train": int(len(ensemble.split.train)),
        "n_events_train": int(cohort.events[ensemble.split.train].sum()),
    }
