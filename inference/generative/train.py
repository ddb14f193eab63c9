"""Training of the generative model on a table's training rows (CPU, minutes).

The training rows are split once more into a fitting part and an inner validation part
(stratified by cancer type): the inner part chooses the stopping epoch and calibrates the
interval scales; the held-out fold of the published split is never seen here.
"""

from __future__ import annotations

import copy
import functools
import logging
import warnings
from dataclasses import replace

import numpy as np
import torch

from inference.generative.calibration import fit_spread
from inference.generative.data import (
    MODALITIES,
    FloatArray,
    IntArray,
    MultiOmicsTable,
    inner_split,
)
from inference.generative.intervention import choose_penalty
from inference.generative.linear import (
    MIXTURES,
    SHRINKS,
    fit_linear,
    half,
    joint_features,
    masked_accuracy,
    mixed,
    shared_loadings,
)
from inference.generative.metrics import LEVEL, interval_coverage
from inference.generative.model import GenerativeModel, Standardiser
from inference.generative.network import GenerativeConfig, GenerativeNet, kl_to_prior
from inference.generative.programmes import hallmark_samples, membership_of
from inference.generative.residuals import fit_factors, standardised_residuals
from inference.hallmarks.gene_sets import hallmark_scores
from inference.runtime import seed_everything

logger = logging.getLogger(__name__)
CALIBRATED = ("clinical", "cnv", "rna")
CHUNK = 128
CAL_SAMPLES = 40
#: At most this many inner-validation rows calibrate (per modality), for time and memory.
CAL_ROWS = 400


def default_config(
    table: MultiOmicsTable, train_idx: IntArray, **overrides: object
) -> GenerativeConfig:
    """The configuration for a table: its trained types, dimensions and binary columns."""
    types = tuple(dict.fromkeys(table.cancer_type[train_idx].tolist()))
    dims = {m: len(table.names(m)) for m in MODALITIES}
    binary = {"clinical": (1,), "mutation": tuple(range(dims["mutation"]))}
    return replace(GenerativeConfig(types, dims, binary), **overrides)  # type: ignore[arg-type]


def _standardiser(table: MultiOmicsTable, rows: IntArray, config: GenerativeConfig) -> Standardiser:
    center, scale = {}, {}
    for m in MODALITIES:
        x = table.modality(m)[rows]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            c = np.nan_to_num(np.nanmean(x, axis=0))
            s = np.nan_to_num(np.nanstd(x, axis=0), nan=1.0)
        s = np.where(s < 1e-3, 1.0, s)
        binary = list(config.binary.get(m, ()))
        c[binary], s[binary] = 0.0, 1.0
        center[m], scale[m] = c, s
    return Standardiser(center, scale)


def _carried(
    table: MultiOmicsTable, rows: IntArray, types: tuple[str, ...]
) -> dict[str, np.ndarray]:
    out = {}
    for m in MODALITIES:
        x = table.modality(m)[rows]
        kinds = table.cancer_type[rows]
        out[m] = np.stack([(~np.isnan(x[kinds == t])).any(0) for t in types])
    return out


def _tensors(
    table: MultiOmicsTable, rows: IntArray, std: Standardiser, types: tuple[str, ...]
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor], torch.Tensor]:
    values, masks = {}, {}
    for m in MODALITIES:
        x = table.modality(m)[rows]
        masks[m] = torch.as_tensor(~np.isnan(x))
        values[m] = torch.as_tensor(np.nan_to_num(std.forward(m, x)), dtype=torch.float32)
    index = {t: i for i, t in enumerate(types)}
    kinds = torch.as_tensor([index[t] for t in table.cancer_type[rows]], dtype=torch.long)
    return values, masks, kinds


def _loss(
    net: GenerativeNet,
    values: dict[str, torch.Tensor],
    masks: dict[str, torch.Tensor],
    kinds: torch.Tensor,
    shown_masks: dict[str, torch.Tensor],
    *,
    sample: bool,
) -> torch.Tensor:
    shown = {m: shown_masks[m].any(1) for m in MODALITIES}
    mu, logvar = net.posterior(values, shown_masks, shown, kinds)
    z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu) if sample else mu
    outs = net.decode(z, kinds)
    nll = torch.stack([net.nll(m, outs[m], values[m], masks[m], kinds) for m in MODALITIES])
    kl = kl_to_prior(mu, logvar, net.prior_mu[kinds], net.prior_logvar[kinds].clamp(-6.0, 6.0))
    return (nll.sum(0) + kl).mean()


def _dropout(
    masks: dict[str, torch.Tensor], config: GenerativeConfig, generator: torch.Generator
) -> dict[str, torch.Tensor]:
    """Random modality subsets (and thinned panels) shown to the encoders."""
    out = {}
    for m in MODALITIES:
        mask = masks[m]
        n = mask.shape[0]
        keep = torch.rand(n, generator=generator) < config.keep_modality
        thin = torch.rand(n, generator=generator) < config.thin_modality
        share = torch.rand(n, 1, generator=generator).clamp(min=0.02)
        features = torch.rand(mask.shape, generator=generator) < share
        features = torch.where(thin.unsqueeze(1), features, torch.ones_like(features))
        out[m] = mask & keep.unsqueeze(1) & features
    return out


def _validation_loss(
    net: GenerativeNet,
    values: dict[str, torch.Tensor],
    masks: dict[str, torch.Tensor],
    kinds: torch.Tensor,
) -> float:
    """Imputation loss: each molecular modality predicted from the others (posterior mean)."""
    total = 0.0
    with torch.no_grad():
        for target in ("mutation", "cnv", "rna"):
            shown = {m: masks[m] if m != target else torch.zeros_like(masks[m]) for m in MODALITIES}
            mu, _ = net.posterior(values, shown, {m: s.any(1) for m, s in shown.items()}, kinds)
            out = net.decode(mu, kinds)[target]
            total += float(net.nll(target, out, values[target], masks[target], kinds).mean())
    return total


def _fit(
    net: GenerativeNet,
    fit: tuple[dict[str, torch.Tensor], dict[str, torch.Tensor], torch.Tensor],
    val: tuple[dict[str, torch.Tensor], dict[str, torch.Tensor], torch.Tensor],
    config: GenerativeConfig,
    generator: torch.Generator,
) -> dict[str, float]:
    values, masks, kinds = fit
    # The type priors learn 10x faster and without decay: they must match the aggregate
    # posterior for unconditional samples to spread like real tumours.
    priors = [net.prior_mu, net.prior_logvar]
    others = [p for n, p in net.named_parameters() if not n.startswith("prior_")]
    optimiser = torch.optim.AdamW(
        [
            {"params": others, "weight_decay": config.weight_decay},
            {"params": priors, "weight_decay": 0.0, "lr": 10 * config.lr},
        ],
        lr=config.lr,
    )
    best, best_state, best_epoch, stale = float("inf"), copy.deepcopy(net.state_dict()), 0, 0
    n = len(kinds)
    for epoch in range(config.epochs):
        net.train()
        order = torch.randperm(n, generator=generator)
        for start in range(0, n, config.batch_size):
            rows = order[start : start + config.batch_size]
            v = {m: values[m][rows] for m in MODALITIES}
            k = {m: masks[m][rows] for m in MODALITIES}
            loss = _loss(net, v, k, kinds[rows], _dropout(k, config, generator), sample=True)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        net.eval()
        score = _validation_loss(net, *val)
        if score < best - 1e-3:
            best, best_state, best_epoch, stale = score, copy.deepcopy(net.state_dict()), epoch, 0
        else:
            stale += 1
            if stale >= config.patience:
                break
        logger.info("epoch %d inner-validation imputation loss %.2f", epoch, score)
    net.load_state_dict(best_state)
    return {"best_epoch": float(best_epoch), "inner_val_loss": best}


def _masked_samples(
    model: GenerativeModel, table: MultiOmicsTable, rows: IntArray, target: str, seed: int
) -> FloatArray:
    """Samples of ``target`` given the other modalities, in row chunks (memory)."""
    parts = []
    for start in range(0, len(rows), CHUNK):
        part = rows[start : start + CHUNK]
        observed = {m: table.modality(m)[part] for m in MODALITIES if m != target}
        kinds = table.cancer_type[part].tolist()
        parts.append(model.impute(observed, kinds, CAL_SAMPLES, seed, only=(target,))[target])
    return np.concatenate(parts, axis=1)


def _coverage_at(
    model: GenerativeModel,
    table: MultiOmicsTable,
    rows: IntArray,
    modality: str,
    columns: np.ndarray,
    seed: int,
    scale: float,
) -> float:
    """Coverage of the modality's continuous columns, imputed from the others, at ``scale``."""
    model.calibration[modality] = scale
    draws = _masked_samples(model, table, rows, modality, seed)
    return interval_coverage(draws[..., columns], table.modality(modality)[rows][:, columns])


def _subset(rows: IntArray, seed: int) -> IntArray:
    if len(rows) <= CAL_ROWS:
        return rows
    return np.sort(np.random.default_rng(seed).choice(rows, CAL_ROWS, replace=False))


def _solve_scale(coverage_at: object, lo: float = 0.3, hi: float = 4.0, steps: int = 8) -> float:
    """Bisection for the scale whose coverage is the nominal level (coverage rises with it)."""
    assert callable(coverage_at)
    for _ in range(steps):
        mid = (lo + hi) / 2.0
        if coverage_at(mid) < LEVEL:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2.0


def calibrate(
    model: GenerativeModel, table: MultiOmicsTable, rows: IntArray, seed: int
) -> dict[str, float]:
    """Scale of the residual noise per modality (and of hallmark spread) for honest 80% intervals.

    Each modality is masked in turn on the inner validation rows and imputed from the others.
    """
    report: dict[str, float] = {}
    for m in CALIBRATED:
        has = _subset(rows[(~np.isnan(table.modality(m)[rows])).any(1)], seed)
        if len(has) == 0:
            continue
        continuous = np.ones(model.config.dims[m], dtype=bool)
        continuous[list(model.config.binary.get(m, ()))] = False

        coverage_at = functools.partial(_coverage_at, model, table, has, m, continuous, seed)
        report[f"raw_coverage_{m}"] = coverage_at(1.0)
        model.calibration[m] = _solve_scale(coverage_at)
        report[f"calibrated_coverage_{m}"] = coverage_at(model.calibration[m])
    if model.linear is not None:
        report.update(fit_spread(model, table, rows))
        for m in model.linear.drawn:
            has = _subset(rows[(~np.isnan(table.modality(m)[rows])).any(1)], seed)
            columns = np.ones(model.config.dims[m], dtype=bool)
            scale = model.calibration.get(m, 1.0)
            report[f"conformal_coverage_{m}"] = _coverage_at(
                model, table, has, m, columns, seed, scale
            )
    report.update(calibrate_hallmark(model, table, rows, seed))
    return report


def calibrate_hallmark(
    model: GenerativeModel, table: MultiOmicsTable, rows: IntArray, seed: int
) -> dict[str, float]:
    """The hallmark spread multiplier (averaging sampled genes under-states programme spread)."""
    report: dict[str, float] = {}
    has = _subset(rows[(~np.isnan(table.rna[rows])).any(1)], seed)
    membership = membership_of(model.names["rna"])
    rna = _masked_samples(model, table, has, "rna", seed)
    truth_h = hallmark_scores(table.rna[has], membership)

    def hallmark_at(widen: float) -> float:
        return interval_coverage(hallmark_samples(rna, membership, widen), truth_h)

    report["raw_coverage_hallmark"] = hallmark_at(1.0)
    model.calibration["hallmark"] = _solve_scale(hallmark_at, 0.5, 12.0, 10)
    report["calibrated_coverage_hallmark"] = hallmark_at(model.calibration["hallmark"])
    return report


def _joint(model: GenerativeModel, table: MultiOmicsTable, rows: IntArray) -> FloatArray:
    x = model.arrays_of(table, rows)
    standardised = {m: model.standardiser.forward(m, x[m]) for m in MODALITIES}
    return joint_features(standardised, len(rows), model.config.dims)


def add_linear(
    model: GenerativeModel, table: MultiOmicsTable, fit_rows: IntArray, val_rows: IntArray
) -> dict[str, float]:
    """Fit the linear-Gaussian component on ``fit_rows``, its shrinkage chosen on ``val_rows``
    (accuracy of masked copy number and RNA), and attach it to the model."""
    z_fit, z_val = _joint(model, table, fit_rows), _joint(model, table, val_rows)
    k_fit = np.array([model.type_index(t) for t in table.cancer_type[fit_rows]])
    k_val = np.array([model.type_index(t) for t in table.cancer_type[val_rows]])
    n_types, dims = len(model.config.cancer_types), model.config.dims
    report: dict[str, float] = {}
    own = {shrink: fit_linear(z_fit, k_fit, n_types, dims, shrink=shrink) for shrink in SHRINKS}
    shared = shared_loadings(z_fit, k_fit, own[SHRINKS[0]].mean)
    candidates = [(1.0, shrink) for shrink in SHRINKS] + list(MIXTURES)
    best, best_score = candidates[0], -np.inf
    for weight, shrink in dict.fromkeys(candidates):
        if shrink not in own:
            own[shrink] = fit_linear(z_fit, k_fit, n_types, dims, shrink=shrink)
        candidate = mixed(own[shrink], shared, weight)
        score = masked_accuracy(candidate, z_val, k_val)
        report[f"linear_inner_val_r_weight_{weight:g}_shrink_{shrink:g}"] = score
        logger.info(
            "linear component, own weight %g, shrink %g: inner-validation r %.3f",
            weight,
            shrink,
            score,
        )
        if score > best_score:
            best, best_score = (weight, shrink), score
    model.linear = half(mixed(own[best[1]], shared, best[0]))
    report["linear_own_weight"], report["linear_shrink"] = best
    return report


def train_generative(
    table: MultiOmicsTable,
    train_idx: IntArray,
    config: GenerativeConfig | None = None,
    seed: int = 0,
) -> GenerativeModel:
    """Fit the model on ``train_idx`` (an inner validation part is carved from it).

    Args:
        table: the multi-omics table.
        train_idx: the training rows (the published split's ``train`` part).
        config: architecture and training settings; default from :func:`default_config`.
        seed: seeds the split, initialisation, batches and dropout draws.

    Returns:
        The trained, calibrated model (unsaved: ``weights_sha256`` is '').
    """
    train_idx = np.asarray(train_idx, dtype=np.int64)
    config = config or default_config(table, train_idx)
    generator = seed_everything(seed)
    fit_rows, val_rows = inner_split(
        train_idx, table.cancer_type, fraction=config.inner_val_fraction, seed=seed
    )
    standardiser = _standardiser(table, fit_rows, config)
    net = GenerativeNet(config)
    fit_tensors = _tensors(table, fit_rows, standardiser, config.cancer_types)
    history = _fit(
        net,
        fit_tensors,
        _tensors(table, val_rows, standardiser, config.cancer_types),
        config,
        generator,
    )
    model = GenerativeModel(
        config=config,
        net=net.eval(),
        names={m: table.names(m) for m in MODALITIES},
        standardiser=standardiser,
        carried=_carried(table, train_idx, config.cancer_types),
    )
    # Round-trip through float16 now, so calibration sees the weights that will be shipped.
    state = {k: v.to(torch.float16).to(torch.float32) for k, v in net.state_dict().items()}
    net.load_state_dict(state)
    residuals = standardised_residuals(net, *fit_tensors)
    for m, r in residuals.items():
        w, u = fit_factors(r)
        model.factors[m] = w.astype(np.float16).astype(np.float64)
        model.uniqueness[m] = u.astype(np.float16).astype(np.float64)
    linear_report = add_linear(model, table, fit_rows, val_rows)
    report = calibrate(model, table, val_rows, seed)
    report.update(choose_penalty(model, table, val_rows, seed))
    model.validation = {
        **history,
        **linear_report,
        **report,
        "training_rows": int(len(fit_rows)),
        "inner_validation_rows": int(len(val_rows)),
        "seed": seed,
    }
    return model


def refit_linear(
    model: GenerativeModel, table: MultiOmicsTable, train_idx: IntArray, seed: int = 0
) -> GenerativeModel:
    """Give a trained model (the network kept as it is) a linear-Gaussian component and
    recalibrate its intervals, on the same fitting / inner-validation split it was trained on."""
    fit_rows, val_rows = inner_split(
        np.asarray(train_idx, dtype=np.int64),
        table.cancer_type,
        fraction=model.config.inner_val_fraction,
        seed=seed,
    )
    linear_report = add_linear(model, table, fit_rows, val_rows)
    report = calibrate(model, table, val_rows, seed)
    report.update(choose_penalty(model, table, val_rows, seed))
    model.validation = {**model.validation, **linear_report, **report}
    return model


def recalibrate(
    model: GenerativeModel, table: MultiOmicsTable, train_idx: IntArray, seed: int = 0
) -> GenerativeModel:
    """Refit only the calibration of a trained model on its inner-validation rows: interval
    scales (with the per-type and per-feature conformal spread) and the in-silico experiments'
    penalty (``inference.generative.intervention``); network and linear component kept."""
    _, val_rows = inner_split(
        np.asarray(train_idx, dtype=np.int64),
        table.cancer_type,
        fraction=model.config.inner_val_fraction,
        seed=seed,
    )
    report = calibrate(model, table, val_rows, seed)
    report.update(choose_penalty(model, table, val_rows, seed))
    model.validation = {**model.validation, **report}
    return model
