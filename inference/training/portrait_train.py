"""Train the portrait model across the harmonised cohorts.

``python -m inference.training.portrait_train [--data DIR] [--out PATH]`` splits every cohort
60/20/20 (train/validation/test, stratified by event, seed fixed per cohort), picks the
regularisation and MLP width on the validation parts, fits on the training parts and writes the
checkpoint with the test-split figures of each cancer type, then refits the chosen configuration
on bootstrap resamples of the training parts (the survival band) and calibrates the conformal
interval per cancer type (validation parts; coverage measured on the test parts).
"""

from __future__ import annotations

import argparse
import logging
import time
import zlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import torch

from inference.portrait.model import (
    MIN_STAGE_PATIENTS,
    SHIPPED_PATH,
    STRATUM,
    PortraitBundle,
    PortraitConfig,
    PortraitModel,
    PortraitNet,
    Replicates,
    Standardiser,
    bundle_to_checkpoint,
    cohort_of,
    stratum_key,
)
from inference.portrait.vocabulary import FEATURE_NAMES, apply_transforms
from inference.runtime import sha256_of
from inference.survival.losses import cox_partial_nll
from inference.training.portrait_cohorts import COHORTS, load_all

logger = logging.getLogger(__name__)
FloatArray = npt.NDArray[np.float64]

SPLIT_SEED = 16
BOOTSTRAP_SEED = 1616
#: Bootstrap refits stored for the survival band (about 4 s each on one CPU core).
REPLICATES = 20
GRID_MONTHS = np.round(np.arange(0.0, 240.25, 0.5), 2)
#: Per type: the cohort whose baseline the app uses (diagnosis-based, overall survival first).
REFERENCE_COHORT = {
    "BRCA": "metabric",
    "LUNG": "ncctg-lung",
    "COADREAD": "colon-trial",
    "PRAD": "prostate-byar",
    "SKCM": "melanoma-andersen",
    "OVARY": "ovarian-ova",
    "HCC": "hcc-li",
    "FL": "follicular",
    "OPHSC": "oropharynx-rtog",
    "HNSC": "tcga-hnsc",
    "BLCA": "tcga-blca",
    "STAD": "tcga-stad",
    "AML": "leukaemia-nw-england",
}
#: Main horizon per type (months): the clinical convention, within the cohorts' follow-up.
MAIN_HORIZON = {
    "BRCA": 60.0,
    "LUNG": 12.0,
    "COADREAD": 36.0,
    "PRAD": 36.0,
    "SKCM": 60.0,
    "OVARY": 36.0,
    "HCC": 36.0,
    "FL": 60.0,
    "OPHSC": 24.0,
    "HNSC": 36.0,
    "BLCA": 24.0,
    "STAD": 24.0,
    "AML": 12.0,
}


@dataclass(frozen=True)
class TrainSettings:
    """Optimisation and regularisation (tuned on the validation parts).

    Attributes:
        mlp_hidden: interaction MLP width (0 = additive model).
        type_shapes: type-specific deviations of the piecewise-linear shapes (same ridge).
        l2_deviation: ridge on the type-specific deviations (shrinks to the shared weights).
        l2_shared: ridge on the shared weights and hinges.
        l2_offset: ridge on the missingness offsets; where a feature is missing for a whole
            cohort the offset is not identifiable (the cohort stratum absorbs it) and the
            ridge keeps it at zero, so a missing field does not move an app patient's curve.
        epochs, lr: full-batch Adam.
        seed: torch seed.
    """

    mlp_hidden: int = 0
    type_shapes: bool = False
    l2_deviation: float = 0.05
    l2_shared: float = 0.001
    l2_offset: float = 0.1
    epochs: int = 300
    lr: float = 0.02
    seed: int = 0


def assign_splits(frame: pd.DataFrame, seed: int = SPLIT_SEED) -> pd.Series:
    """train / val / test per cohort (60/20/20), stratified by event, fixed by seed and name."""
    labels = pd.Series("train", index=frame.index, dtype=object)
    for cohort, rows in frame.groupby("cohort").groups.items():
        rng = np.random.default_rng(seed + zlib.crc32(str(cohort).encode()))
        for event in (0.0, 1.0):
            idx = np.array([i for i in rows if frame.at[i, "event"] == event])
            rng.shuffle(idx)
            n_test, n_val = round(0.2 * len(idx)), round(0.2 * len(idx))
            labels.loc[idx[:n_test]] = "test"
            labels.loc[idx[n_test : n_test + n_val]] = "val"
    return labels


def raw_features(frame: pd.DataFrame) -> FloatArray:
    """(N, F) transformed vocabulary features (NaN = missing)."""
    return apply_transforms(frame[list(FEATURE_NAMES)].to_numpy(dtype=np.float64))


def hinge_features(frame: pd.DataFrame) -> tuple[str, ...]:
    """Continuous features (more than six distinct observed values) get a piecewise shape."""
    return tuple(n for n in FEATURE_NAMES if frame[n].nunique() > 6)


def _stratified_nll(risk: torch.Tensor, times: torch.Tensor, events: torch.Tensor,
                    strata: list[torch.Tensor]) -> torch.Tensor:  # fmt: skip
    total = events.sum().clamp(min=1.0)
    loss = risk.sum() * 0.0
    for rows in strata:
        loss = loss + cox_partial_nll(risk[rows], times[rows], events[rows]) * events[rows].sum()
    return loss / total


def fit_net(
    train: pd.DataFrame,
    settings: TrainSettings,
    cancer_types: tuple[str, ...],
    *,
    like: PortraitModel | None = None,
) -> tuple[PortraitNet, Standardiser]:
    """Fit the network on ``train`` rows (Cox partial likelihood stratified by cohort).

    Args:
        train: training rows.
        settings: hyper-parameters.
        cancer_types: embedding order.
        like: a fitted model whose configuration and feature scaling to reuse (bootstrap
            refits), so that replicate weights mean the same thing as the main model's.
    """
    torch.manual_seed(settings.seed)
    x = raw_features(train)
    if like is None:
        standardiser = Standardiser.fit(x)
        config = PortraitConfig(
            cancer_types=cancer_types,
            hinge_features=hinge_features(train),
            mlp_hidden=settings.mlp_hidden,
            type_shapes=settings.type_shapes,
        )
    else:
        standardiser, config = like.bundle.standardiser, like.bundle.config
    net = PortraitNet(config)
    model = PortraitModel(
        PortraitBundle(config, standardiser, (0.0,), {}, {}), net
    )  # tensors() helper only
    z, mask, types = model.tensors(x, list(train["cancer_type"]))
    times = torch.tensor(train["time_months"].to_numpy(), dtype=torch.float32)
    events = torch.tensor(train["event"].to_numpy(), dtype=torch.float32)
    codes = train["cohort"].to_numpy()
    strata = [torch.as_tensor(np.nonzero(codes == c)[0]) for c in np.unique(codes)]
    mlp_params = list(net.mlp.parameters()) if net.mlp is not None else []
    groups: list[dict[str, Any]] = [
        {"params": [net.shared, net.hinge, net.deviation, net.missing_offset]},
        {"params": [net.hinge_deviation] if net.hinge_deviation is not None else []},
        {"params": mlp_params, "weight_decay": 1e-3},
    ]
    optimiser = torch.optim.Adam(groups, lr=settings.lr)
    net.train()
    for _ in range(settings.epochs):
        optimiser.zero_grad()
        loss = _stratified_nll(net(z, mask, types), times, events, strata)
        loss = loss + settings.l2_shared * (net.shared.square().sum() + net.hinge.square().sum())
        loss = loss + settings.l2_deviation * net.deviation.square().sum()
        loss = loss + settings.l2_offset * net.missing_offset.square().sum()
        if net.hinge_deviation is not None:
            loss = loss + settings.l2_deviation * net.hinge_deviation.square().sum()
        loss.backward()
        optimiser.step()
        net.project()
    net.eval()
    return net, standardiser


def breslow(
    times: FloatArray, events: FloatArray, risk: FloatArray, grid: FloatArray
) -> FloatArray:
    """Breslow cumulative baseline hazard at ``grid`` (held flat after the last event)."""
    order = np.argsort(times)
    times, events, hazard_ratio = times[order], events[order], np.exp(risk[order])
    at_risk = np.cumsum(hazard_ratio[::-1])[::-1]  # sum over T_j >= T_i
    event_times, deaths = np.unique(times[events > 0], return_counts=True)
    first = np.searchsorted(times, event_times, side="left")
    increments = deaths / at_risk[first]
    cumulative = np.concatenate([[0.0], np.cumsum(increments)])
    return cumulative[np.searchsorted(event_times, grid, side="right")]


def build_model(frame: pd.DataFrame, settings: TrainSettings) -> PortraitModel:
    """Fit on the rows of ``frame`` marked train; baselines from those rows per cohort."""
    train = frame[frame["split"] == "train"].reset_index(drop=True)
    cancer_types = tuple(sorted(frame["cancer_type"].unique()))
    net, standardiser = fit_net(train, settings, cancer_types)
    config = net.config
    shell = PortraitModel(PortraitBundle(config, standardiser, (0.0,), {}, {}), net)
    risk = shell.risk(raw_features(train), list(train["cancer_type"]))
    baselines = {
        key: tuple(float(v) for v in cumulative)
        for key, cumulative in _cohort_baselines(train, risk, strata=stage_strata(train)).items()
    }
    present = set(frame["cohort"])
    reference = {t: c for t, c in REFERENCE_COHORT.items() if c in present}
    for cancer_type in cancer_types:  # types trained without their reference cohort
        reference.setdefault(
            cancer_type, str(frame.loc[frame["cancer_type"] == cancer_type, "cohort"].iloc[0])
        )
    licences = {n: e.spec.non_commercial for n, e in COHORTS.items() if n in present}
    bundle = PortraitBundle(
        config=config,
        standardiser=standardiser,
        grid_months=tuple(float(v) for v in GRID_MONTHS),
        baselines=baselines,
        reference_cohort=reference,
        licences=licences,
        training_rows={str(c): int(n) for c, n in train.groupby("cohort").size().items()},
        stage_counts=stage_counts(train),
        cohort_facts=cohort_facts(frame),
    )
    return PortraitModel(bundle, net)


def stage_strata(train: pd.DataFrame) -> list[str]:
    """Stage strata with their own baseline: cohort and stage group with enough training rows."""
    counts = train.dropna(subset=["stage_group"]).groupby(["cohort", "stage_group"]).size()
    return [stratum_key(str(c), int(s)) for (c, s), n in counts.items() if n >= MIN_STAGE_PATIENTS]


def stage_counts(train: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Cohort -> stage group ("0"-"4") -> training patients with it (the baseline rule's input)."""
    out: dict[str, dict[str, int]] = {}
    for cohort, rows in train.groupby("cohort"):
        stages = rows["stage_group"].dropna().astype(int).value_counts()
        out[str(cohort)] = {str(s): int(n) for s, n in sorted(stages.items())}
    return out


def cohort_facts(frame: pd.DataFrame) -> dict[str, dict[str, str]]:
    """Cohort -> its type and, for registered cohorts, time zero and endpoint (for the page)."""
    out: dict[str, dict[str, str]] = {}
    for cohort, cancer_type in frame.groupby("cohort")["cancer_type"].first().items():
        facts = {"cancer_type": str(cancer_type)}
        entry = COHORTS.get(str(cohort))
        if entry is not None:
            outcome = entry.spec.outcome
            facts |= {
                "time_zero": outcome.time_zero,
                "time_zero_label": outcome.time_zero_label,
                "endpoint": outcome.endpoint,
            }
        out[str(cohort)] = facts
    return out


def _cohort_baselines(
    rows: pd.DataFrame, risk: FloatArray, strata: list[str] | None = None
) -> dict[str, FloatArray]:
    """Breslow cumulative baseline hazard on GRID_MONTHS of each cohort and the named strata.

    Args:
        rows: rows with ``cohort``, ``stage_group``, ``time_months`` and ``event``.
        risk: (N,) risks of ``rows``.
        strata: stage-stratum keys (:func:`stratum_key`) to add; a stratum without rows here
            (possible in a bootstrap resample) gets its cohort's baseline.
    """
    times, events = rows["time_months"].to_numpy(), rows["event"].to_numpy()
    out = {}
    for cohort, idx in rows.groupby("cohort").groups.items():
        part = rows.index.get_indexer(idx)
        out[str(cohort)] = breslow(times[part], events[part], risk[part], GRID_MONTHS)
    codes, stages = rows["cohort"].to_numpy(), rows["stage_group"].to_numpy()
    for key in strata or []:
        stage = float(key.split(STRATUM, 1)[1])
        part = np.nonzero((codes == cohort_of(key)) & (stages == stage))[0]
        out[key] = (
            breslow(times[part], events[part], risk[part], GRID_MONTHS)
            if len(part)
            else out[cohort_of(key)]
        )
    return out


def bootstrap_replicates(
    frame: pd.DataFrame, settings: TrainSettings, main: PortraitModel, count: int
) -> Replicates:
    """Refit the chosen configuration on ``count`` bootstrap resamples of the training parts.

    Each resample draws, within every cohort, as many training rows as the cohort has, with
    replacement (so every cohort keeps its size and its own baseline). A replicate keeps the main
    model's hyper-parameters and feature scaling, gets its own torch seed, and its own Breslow
    baseline of every cohort and stage stratum the main model has, from its resample (a case's
    curve may use any of them, see ``PortraitModel.baseline``).
    """
    train = frame[frame["split"] == "train"].reset_index(drop=True)
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    groups = sorted(train.groupby("cohort").groups.items())
    nets: list[PortraitNet] = []
    strata = [k for k in main.bundle.baselines if k != cohort_of(k)]
    hazards: dict[str, list[FloatArray]] = {k: [] for k in main.bundle.baselines}
    for b in range(count):
        picked = np.concatenate([rng.choice(np.asarray(idx), size=len(idx)) for _, idx in groups])
        sample = train.loc[picked].reset_index(drop=True)
        replicate_settings = replace(settings, seed=settings.seed + 1 + b)
        net, _ = fit_net(sample, replicate_settings, main.bundle.config.cancer_types, like=main)
        shell = PortraitModel(main.bundle, net)
        risk = shell.risk(raw_features(sample), list(sample["cancer_type"]))
        for key, cumulative in _cohort_baselines(sample, risk, strata).items():
            hazards[key].append(cumulative)
        nets.append(net)
        logger.info("bootstrap replicate %d/%d fitted", b + 1, count)
    return Replicates(tuple(nets), {t: np.stack(h) for t, h in hazards.items()})


def stratified_c(frame: pd.DataFrame, risk: FloatArray) -> float:
    """Harrell's C with pairs compared only within a cohort (endpoints differ between cohorts)."""
    concordant = total = 0.0
    for _, rows in frame.groupby("cohort").groups.items():
        part = frame.index.get_indexer(rows)
        t = frame["time_months"].to_numpy()[part]
        e = frame["event"].to_numpy()[part]
        r = risk[part]
        comparable = (e[:, None] > 0) & (
            (t[:, None] < t[None, :]) | ((t[:, None] == t[None, :]) & (e[None, :] == 0))
        )
        score = (r[:, None] > r[None, :]) + 0.5 * (r[:, None] == r[None, :])
        concordant += float((score * comparable).sum())
        total += float(comparable.sum())
    return concordant / total if total else float("nan")


def validation_score(model: PortraitModel, frame: pd.DataFrame, part: str) -> float:
    """Event-weighted mean over cancer types of the stratified C on one split part."""
    rows = frame[frame["split"] == part].reset_index(drop=True)
    risk = model.risk(raw_features(rows), list(rows["cancer_type"]))
    scores, weights = [], []
    for _, idx in rows.groupby("cancer_type").groups.items():
        sub = rows.loc[idx]
        scores.append(stratified_c(sub.reset_index(drop=True), risk[np.asarray(idx)]))
        weights.append(float(sub["event"].sum()))
    return float(np.average(scores, weights=weights))


CANDIDATES: tuple[TrainSettings, ...] = (
    TrainSettings(mlp_hidden=0, l2_deviation=0.01),
    TrainSettings(mlp_hidden=0, l2_deviation=0.1),
    TrainSettings(mlp_hidden=0, l2_deviation=1.0),
    TrainSettings(mlp_hidden=16, l2_deviation=0.1),
    TrainSettings(type_shapes=True, l2_deviation=0.01),
    TrainSettings(type_shapes=True, l2_deviation=0.1),
)


def tune(frame: pd.DataFrame) -> tuple[TrainSettings, list[dict[str, Any]]]:
    """Pick the candidate with the best validation score (test rows never used)."""
    results, scores = [], []
    for settings in CANDIDATES:
        model = build_model(frame, settings)
        score = validation_score(model, frame, "val")
        scores.append(score)
        results.append({"settings": settings.__dict__, "val_c": round(score, 4)})
        logger.info("candidate %s: validation C %.4f", settings, score)
    best = int(np.argmax(scores))
    return CANDIDATES[best], results


def save(model: PortraitModel, path: Path) -> str:
    """Write the checkpoint; returns its sha256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(bundle_to_checkpoint(model.bundle, model.net, model.replicates), path)
    return sha256_of(path)


def with_validation(model: PortraitModel, validation: dict[str, dict[str, Any]]) -> PortraitModel:
    return PortraitModel(replace(model.bundle, validation=validation), model.net, model.replicates)


def main(argv: list[str] | None = None) -> int:
    # Imported here: portrait_facts reuses the Q8 evaluation, which imports this module.
    from inference.training.portrait_facts import validation_facts

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=SHIPPED_PATH)
    parser.add_argument(
        "--commercial-only",
        action="store_true",
        help="leave out cohorts whose licence forbids commercial use (the TCGA SurvPath tables)",
    )
    parser.add_argument("--replicates", type=int, default=REPLICATES, help="bootstrap refits")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    torch.set_num_threads(1)
    started = time.perf_counter()
    names = tuple(
        n for n, e in COHORTS.items() if not (args.commercial_only and e.spec.non_commercial)
    )
    frame = load_all(args.data, names)
    frame["split"] = assign_splits(frame)
    settings, results = tune(frame)
    model = build_model(frame, settings)
    tuned = time.perf_counter()
    replicates = bootstrap_replicates(frame, settings, model, args.replicates)
    model = PortraitModel(model.bundle, model.net, replicates)
    bootstrapped = time.perf_counter()
    model = with_validation(model, validation_facts(model, frame))
    digest = save(model, args.out)
    logger.info("settings %s; tuning %s", settings, results)
    logger.info("wrote %s sha256 %s; validation %s", args.out, digest, model.bundle.validation)
    logger.info(
        "timings: tuning and main fit %.0f s, %d bootstrap refits %.0f s, facts %.0f s",
        tuned - started,
        args.replicates,
        bootstrapped - tuned,
        time.perf_counter() - bootstrapped,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
