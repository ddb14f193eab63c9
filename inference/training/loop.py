"""Fitting one model and an ensemble on a cohort split (deterministic with a seed).

Early stopping watches an inner validation split carved from the training rows only; the test rows
of a split are never seen here.
"""

from __future__ import annotations

import copy
import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch

from inference.models.batch import ModalityBatch
from inference.models.config import (
    ExpressionSpec,
    ModelConfig,
    PathwayGroup,
    default_imaging_spec,
)
from inference.models.multimodal import MultimodalSurvival
from inference.runtime import choose_device, eval_mode, seed_everything
from inference.schema import MODALITIES
from inference.survival.losses import bin_targets, cox_partial_nll, piecewise_exponential_nll
from inference.tabular.features import RawArrays, batch_from_arrays, fit_spec
from inference.training.cohorts import Cohort, gene_groups

logger = logging.getLogger(__name__)

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings.

    Attributes:
        epochs: maximum epochs.
        batch_size: mini-batch size.
        lr: AdamW learning rate.
        weight_decay: AdamW weight decay.
        patience: epochs without validation improvement before stopping.
        cox_weight: weight of the auxiliary Cox partial likelihood on the PH risk term.
        val_fraction: share of training rows held out for early stopping and calibration.
        dim: token width.
        dropout: dropout rate.
        modality_dropout: modality dropout rate.
        min_prevalence: mutations seen in fewer training cases than this share are dropped.
        members: ensemble size.
        seed: base seed.
    """

    epochs: int = 200
    batch_size: int = 256
    lr: float = 2e-3
    weight_decay: float = 1e-2
    patience: int = 20
    cox_weight: float = 1.0
    val_fraction: float = 0.2
    dim: int = 32
    dropout: float = 0.2
    modality_dropout: float = 0.25
    min_prevalence: float = 0.02
    members: int = 5
    seed: int = 0


def inner_split(
    events: npt.NDArray[np.float64], rows: IntArray, fraction: float, seed: int
) -> tuple[IntArray, IntArray]:
    """Stratified (by event) random split of training rows into fit and validation rows.

    Args:
        events: (N,) events of the whole cohort.
        rows: training rows.
        fraction: validation share.
        seed: seed.

    Returns:
        Fit rows and validation rows, sorted.
    """
    rng = np.random.default_rng(seed)
    fit, val = [], []
    for flag in (0.0, 1.0):
        group = rows[events[rows] == flag]
        group = rng.permutation(group)
        n_val = int(round(len(group) * fraction))
        val.append(group[:n_val])
        fit.append(group[n_val:])
    return np.sort(np.concatenate(fit)), np.sort(np.concatenate(val))


def build_config(
    cohort: Cohort,
    train_rows: IntArray,
    modalities: tuple[str, ...],
    train: TrainConfig,
    data: Path,
    *,
    name: str,
) -> tuple[ModelConfig, dict[str, IntArray]]:
    """Fit the feature vocabulary and standardisation on training rows.

    Args:
        cohort: the cohort.
        train_rows: rows to learn standardisation from.
        modalities: modalities to use (others are left unconfigured, except that slide and imaging
            branches are always present so site data can flow through them).
        train: training settings.
        data: shared data folder (gene-family signatures).
        name: model name.

    Returns:
        The config and, per tabular modality, the selected column indices of the cohort arrays.
    """
    columns: dict[str, IntArray] = {}
    specs = {}
    for modality in ("clinical", "labs", "mutations", "copy_number", "expression"):
        if modality not in modalities or modality not in cohort.tabular:
            continue
        values = cohort.tabular[modality][train_rows]
        keep = np.arange(values.shape[1])
        if modality == "mutations":
            prevalence = np.nanmean(values > 0, axis=0)
            keep = np.nonzero(prevalence >= train.min_prevalence)[0]
        elif modality in ("copy_number", "expression"):
            keep = np.nonzero(np.nanstd(values, axis=0) > 1e-6)[0]
        names = tuple(cohort.names[modality][i] for i in keep)
        columns[modality] = keep
        specs[modality] = fit_spec(names, values[:, keep], log1p=cohort.log1p.get(modality, ()))
    expression = None
    if "expression" in specs:
        groups = gene_groups(specs["expression"].names, data)
        expression = ExpressionSpec(
            features=specs["expression"],
            groups=tuple(PathwayGroup(name=g, members=tuple(m)) for g, m in groups),
        )
    cancer_types: tuple[str, ...] = ()
    if cohort.cancer_types is not None and "clinical" in specs:
        cancer_types = tuple(sorted({c for c in cohort.cancer_types[train_rows] if c}))
    config = ModelConfig(
        name=name,
        time_edges=cohort.time_edges,
        dim=train.dim,
        dropout=train.dropout,
        modality_dropout=train.modality_dropout if len(specs) > 1 else 0.0,
        clinical=specs.get("clinical"),
        cancer_types=cancer_types,
        labs=specs.get("labs"),
        mutations=specs.get("mutations"),
        copy_number=specs.get("copy_number"),
        expression=expression,
        imaging=default_imaging_spec(),
        treatments=cohort.treatments if "treatment" in modalities else (),
    )
    return config, columns


def cohort_batch(
    cohort: Cohort, config: ModelConfig, columns: dict[str, IntArray]
) -> ModalityBatch:
    """Tensor batch of the whole cohort under a config.

    Args:
        cohort: the cohort.
        config: from :func:`build_config`.
        columns: selected columns per modality.

    Returns:
        The batch (all rows).
    """
    raw = RawArrays(n=len(cohort.ids))
    for modality, keep in columns.items():
        values = cohort.tabular[modality]
        # Index -1 (a feature the cohort lacks) picks the appended all-NaN column: masked.
        padded = np.concatenate([values, np.full((len(values), 1), np.nan, values.dtype)], axis=1)
        raw.tabular[modality] = padded[:, keep]
    if cohort.cancer_types is not None and config.cancer_types:
        index = {c: i for i, c in enumerate(config.cancer_types)}
        raw.cancer_type = np.array([index.get(c, -1) for c in cohort.cancer_types], dtype=np.int64)
    if config.treatments and cohort.treatment is not None:
        raw.treatment = cohort.treatment
    return batch_from_arrays(config, raw)


@dataclass(frozen=True)
class FitResult:
    """A trained member and how training went."""

    model: MultimodalSurvival
    best_epoch: int
    best_val_loss: float
    seconds: float


def fit_model(
    config: ModelConfig,
    batch: ModalityBatch,
    times: npt.NDArray[np.float64],
    events: npt.NDArray[np.float64],
    fit_rows: IntArray,
    val_rows: IntArray,
    train: TrainConfig,
    *,
    seed: int,
    device: torch.device | None = None,
) -> FitResult:
    """Train one member with early stopping on ``val_rows``.

    Args:
        config: model config.
        batch: inputs of the whole cohort.
        times, events: outcomes of the whole cohort (months).
        fit_rows: rows to fit.
        val_rows: rows for early stopping.
        train: settings.
        seed: member seed.
        device: compute device (default: :func:`choose_device`).

    Returns:
        The best model (on CPU) and training facts.
    """
    started = time.perf_counter()
    generator = seed_everything(seed)
    device = device or choose_device()
    model = MultimodalSurvival(config).to(device)
    optimiser = torch.optim.AdamW(model.parameters(), lr=train.lr, weight_decay=train.weight_decay)
    targets = bin_targets(times, events, config.time_edges)
    all_times = torch.tensor(np.array(times), dtype=torch.float32)
    fit_batch = batch.index(torch.as_tensor(fit_rows)).to(device)
    val_batch = batch.index(torch.as_tensor(val_rows)).to(device)

    def loss_of(model_batch: ModalityBatch, rows: IntArray) -> torch.Tensor:
        index = torch.as_tensor(rows)
        sub = type(targets)(
            bin_index=targets.bin_index[index].to(device),
            fraction=targets.fraction[index].to(device),
            event=targets.event[index].to(device),
            log_width=targets.log_width[index].to(device),
        )
        embedding, _ = model.forward_features(model_batch)
        log_hazard = model.forward_head(
            embedding, model_batch.treatment, model_batch.treatment_known
        )
        loss = piecewise_exponential_nll(log_hazard, sub)
        if train.cox_weight > 0:
            # The mean log hazard is the proportional-hazards part of the head; ranking it with
            # the partial likelihood sharpens discrimination on small cohorts.
            risk = log_hazard.mean(dim=1)
            loss = loss + train.cox_weight * cox_partial_nll(
                risk, all_times[index].to(device), sub.event
            )
        return loss

    best_state = copy.deepcopy(model.state_dict())
    best_loss, best_epoch, stale = float("inf"), 0, 0
    n = len(fit_rows)
    # Large cohorts (SUPPORT) get at most ~8 steps per epoch: on shared CPUs the per-step overhead,
    # not the arithmetic, dominates, and bigger batches give the same curves in a fraction of it.
    batch_size = max(train.batch_size, -(-n // 8))
    for epoch in range(train.epochs):
        model.train()
        order = torch.randperm(n, generator=generator)
        for start in range(0, n, batch_size):
            chunk = order[start : start + batch_size]
            if len(chunk) < 2:
                continue
            optimiser.zero_grad()
            loss = loss_of(fit_batch.index(chunk.to(device)), fit_rows[chunk.numpy()])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            optimiser.step()
        with eval_mode(model):
            val_loss = float(loss_of(val_batch, val_rows))
        if val_loss < best_loss - 1e-4:
            best_loss, best_epoch, stale = val_loss, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            stale += 1
            if stale >= train.patience:
                break
    model.load_state_dict(best_state)
    model = model.cpu()
    model.eval()
    return FitResult(model, best_epoch, best_loss, time.perf_counter() - started)


def predict_survival(
    members: list[MultimodalSurvival], batch: ModalityBatch
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ensemble prediction.

    Args:
        members: trained models.
        batch: inputs.

    Returns:
        Member curves (E, N, G), mean curve (N, G) and mean embedding of the first member (N, D).
    """
    curves, embedding = [], None
    with eval_mode(*members):
        for i, member in enumerate(members):
            output = member(batch)
            curves.append(output.survival.double().numpy())
            if i == 0:
                embedding = output.embedding.double().numpy()
    stacked = np.stack(curves)
    assert embedding is not None
    return stacked, stacked.mean(axis=0), embedding


def with_modalities(batch: ModalityBatch, keep: tuple[str, ...]) -> ModalityBatch:
    """Same batch with every modality outside ``keep`` marked absent (for ablations).

    Args:
        batch: inputs.
        keep: modalities to keep.

    Returns:
        The masked batch.
    """
    mask = torch.tensor([m in keep for m in MODALITIES])
    return batch.with_present(batch.present & mask)


def quick_settings(train: TrainConfig) -> TrainConfig:
    """Smaller settings for smoke runs."""
    return replace(train, epochs=min(train.epochs, 30), members=min(train.members, 2))
