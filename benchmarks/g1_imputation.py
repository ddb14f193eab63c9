"""G1: masked-modality imputation on TCGA test folds, the generative model against five baselines.

Run with ``python -m benchmarks G1 [--quick] [--data DIR] [--folds 0,1] [--cohorts blca,luad]``.
Needs the training extras (scikit-learn, miceforest, mofapy2; ``requirements-train.txt``).

For each published PORPOISE fold (its ``val`` part is the test fold), the generative model is
trained on the training rows of the chosen cohorts (``inference.generative.train``; it tunes and
calibrates only on an inner part of those rows) and every baseline of
``inference.generative.baselines`` is fitted on the same rows. On the test rows the RNA modality,
and separately the copy-number modality, is masked and imputed from the remaining modalities
(clinical facts, cancer type, mutations and the other of RNA / CNV). Scored per cohort on its test
rows, then averaged over cohorts and folds:

* Pearson r per gene, over the cohort's 2,000 most variable genes in its training rows (all the
  genes it carries when fewer), averaged over genes;
* Pearson r per MSigDB hallmark programme score (``inference.hallmarks.gene_sets``; RNA only);
* coverage of the central 80% interval of the samples (``inference.generative.metrics.
  interval_coverage``, the function the tests use) for every method that gives samples.

Goal (BENCHMARKS.md): r per gene and per hallmark >= best baseline - 0.01 and above MOFA+, and
coverage within 3 points of 80%. ``--quick`` scores the shipped generative checkpoint (trained on
fold 0's training rows of all cohorts) on fold 0 of BLCA against the fast baselines only.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import math
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import BenchmarkResult, result_line
from inference.generative.baselines import BASELINES, BaselineImputation, ImputationInputs
from inference.generative.data import MODALITIES, MultiOmicsTable, folds_split, load_cohorts

logger = logging.getLogger(__name__)

ID = "G1"
TITLE = "Generative imputation of masked RNA / CNV on TCGA test folds vs five baselines"
GOAL = (
    "r per gene and per hallmark >= best baseline - 0.01 and > MOFA+; 80% interval coverage "
    "within 3 points"
)
#: The MCAT cohorts that carry RNA (UCEC has none): the default set of a full run.
DEFAULT_COHORTS = ("blca", "brca", "gbmlgg", "luad")
QUICK_COHORTS = ("blca",)
QUICK_BASELINES = ("cohort_mean", "knn", "ridge")
TARGETS = ("rna", "cnv")
TOP_GENES = 2000
N_SAMPLES = 100
SEED = 0
TOLERANCE = 0.01
NOMINAL = 0.8
COVERAGE_SLACK = 0.03
CACHE = Path(__file__).resolve().parent / "results" / "generative-cache"
GENERATIVE = "generative"


def selection(args: argparse.Namespace) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """Cohorts and folds from ``--cohorts`` / ``--folds`` (defaults: the MCAT RNA cohorts,
    fold 0; ``--quick``: BLCA, fold 0)."""
    quick = bool(getattr(args, "quick", False))
    cohorts_arg = getattr(args, "cohorts", None)
    folds_arg = getattr(args, "folds", None)
    cohorts = (
        tuple(c.strip().lower() for c in cohorts_arg.split(",") if c.strip())
        if cohorts_arg
        else (QUICK_COHORTS if quick else DEFAULT_COHORTS)
    )
    folds = tuple(int(f) for f in folds_arg.split(",")) if folds_arg else (0,)
    bad = [f for f in folds if f not in range(5)]
    if bad:
        raise SystemExit(f"--folds must be in 0..4, got {bad}")
    return cohorts, folds


def _code_digest() -> str:
    """A digest of the generative model's code, so a cached fold model is retrained after it
    changes."""
    root = Path(__file__).resolve().parent.parent / "inference" / "generative"
    digest = hashlib.sha256()
    for name in ("network.py", "train.py", "model.py", "data.py"):
        path = root / name
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def generative_for_fold(
    table: MultiOmicsTable, cohorts: Sequence[str], fold: int, train_idx: np.ndarray
) -> Any:
    """The generative model trained on a fold's training rows (cached in benchmarks/results so
    G1, G2 and G3 share one training run per fold)."""
    from inference.generative.model import load_generative, save_generative
    from inference.generative.train import train_generative
    from inference.runtime import sha256_of

    path = CACHE / f"{'-'.join(cohorts)}-fold{fold}-seed{SEED}-{_code_digest()}.pt"
    if path.is_file():
        return load_generative(path, expected_sha256=sha256_of(path))
    started = time.perf_counter()
    model = train_generative(table, train_idx, seed=SEED)
    save_generative(model, path)
    logger.info("trained the fold %d model in %.0f s", fold, time.perf_counter() - started)
    return model


def imputation_inputs(
    table: MultiOmicsTable, train_idx: np.ndarray, test_idx: np.ndarray, target: str
) -> ImputationInputs:
    """The same inputs for every method: all modalities on training rows, all but the target on
    test rows."""
    return ImputationInputs(
        train={m: table.modality(m)[train_idx] for m in MODALITIES},
        train_types=tuple(str(t) for t in table.cancer_type[train_idx]),
        test={m: table.modality(m)[test_idx] for m in MODALITIES if m != target},
        test_types=tuple(str(t) for t in table.cancer_type[test_idx]),
        target=target,
    )


def generative_imputation(
    model: Any, inputs: ImputationInputs, n_samples: int = N_SAMPLES, seed: int = SEED
) -> BaselineImputation:
    """The generative model's samples of the target, given the test rows' other modalities."""
    samples = model.impute(
        dict(inputs.test), inputs.test_types, n_samples, seed, only=(inputs.target,)
    )[inputs.target]
    with warnings.catch_warnings():  # features the model never learnt for a type are NaN
        warnings.simplefilter("ignore", category=RuntimeWarning)
        mean = np.nanmean(samples, axis=0)
    return BaselineImputation(GENERATIVE, mean, samples, model.version)


def _pearson_columns(truth: np.ndarray, prediction: np.ndarray) -> np.ndarray:
    """Pearson r per column (rows = patients); NaN where the truth is constant, and 0 where
    only the prediction is (a constant guess such as the cohort mean carries no ranking)."""
    t = truth - truth.mean(0)
    p = prediction - prediction.mean(0)
    t_norm, p_norm = (t**2).sum(0), (p**2).sum(0)
    with np.errstate(all="ignore"):
        r = np.where(p_norm > 1e-12, (t * p).sum(0) / np.sqrt(t_norm * p_norm), 0.0)
    return np.where(t_norm > 1e-12, r, np.nan)


def evaluated_genes(
    table: MultiOmicsTable,
    train_idx: np.ndarray,
    test_idx: np.ndarray,
    cohort: str,
    target: str,
) -> np.ndarray:
    """The cohort's most variable target features in its training rows (at most TOP_GENES),
    among those measured in every one of its training and test rows."""
    values = table.modality(target)
    train = values[train_idx[table.cancer_type[train_idx] == cohort]]
    test = values[test_idx[table.cancer_type[test_idx] == cohort]]
    carried = np.isfinite(train).all(0) & np.isfinite(test).all(0)
    variance = np.where(carried, np.nan_to_num(train.var(0)), -1.0)
    order = np.argsort(-variance)
    return np.sort(order[: min(TOP_GENES, int((variance > 1e-12).sum()))])


def score(
    table: MultiOmicsTable,
    train_idx: np.ndarray,
    test_idx: np.ndarray,
    target: str,
    imputation: BaselineImputation,
) -> dict[str, dict[str, float]]:
    """Per cohort: mean r per gene, mean r per hallmark (RNA), 80% coverage (with samples)."""
    from inference.generative.metrics import interval_coverage
    from inference.hallmarks.gene_sets import hallmark_membership, hallmark_scores

    truth_all = table.modality(target)[test_idx]
    names = table.names(target)
    out: dict[str, dict[str, float]] = {}
    for cohort in dict.fromkeys(table.cancer_type[test_idx].tolist()):
        rows = np.flatnonzero(table.cancer_type[test_idx] == cohort)
        genes = evaluated_genes(table, train_idx, test_idx, cohort, target)
        if len(rows) < 5 or len(genes) == 0:
            continue
        truth = truth_all[np.ix_(rows, genes)]
        prediction = imputation.mean[np.ix_(rows, genes)]
        entry = {"r_gene": float(np.nanmean(_pearson_columns(truth, prediction)))}
        entry["n_genes"] = float(len(genes))
        if target == "rna":
            membership = hallmark_membership([names[g] for g in genes])
            h_truth = hallmark_scores(truth, membership)
            h_pred = hallmark_scores(prediction, membership)
            entry["r_hallmark"] = float(np.nanmean(_pearson_columns(h_truth, h_pred)))
        if imputation.samples is not None:
            samples = imputation.samples[:, rows][:, :, genes]
            entry["coverage"] = interval_coverage(samples, truth, NOMINAL)
            if target == "rna":
                h_samples = hallmark_scores(samples, membership)
                entry["coverage_hallmark"] = interval_coverage(h_samples, h_truth, NOMINAL)
        out[str(cohort)] = entry
    return out


def _average(per_fold: list[dict[str, dict[str, float]]], key: str) -> float:
    values = [entry[key] for fold in per_fold for entry in fold.values() if key in entry]
    return float(np.mean(values)) if values else math.nan


def _print_table(summary: dict[str, dict[str, dict[str, float]]]) -> None:
    print(f"{'target':6} {'method':12} {'r gene':>7} {'r hallm':>7} {'cov80':>6} {'cov80 h':>7}")
    for target, methods in summary.items():
        for method, figures in methods.items():
            cells = [
                f"{figures.get(k, math.nan):7.3f}"
                for k in ("r_gene", "r_hallmark", "coverage", "coverage_hallmark")
            ]
            print(f"{target:6} {method:12} {' '.join(cells)}")


def _goal(methods: dict[str, dict[str, float]], key: str) -> dict[str, Any]:
    ours = methods[GENERATIVE].get(key, math.nan)
    baselines = {m: f[key] for m, f in methods.items() if m != GENERATIVE and key in f}
    best = max(baselines, key=lambda m: baselines[m]) if baselines else ""
    best_r = baselines.get(best, math.nan)
    mofa = baselines.get("mofa", -math.inf)
    return {
        "ours": ours,
        "best_baseline": best,
        "best_r": best_r,
        "met": bool(ours >= best_r - TOLERANCE and ours > mofa),
    }


def run(args: argparse.Namespace) -> BenchmarkResult:
    """Run the benchmark and return its result dictionary."""
    import torch

    torch.set_num_threads(1)
    quick = bool(args.quick)
    cohorts, folds = selection(args)
    if quick:
        from inference.generative.model import load_generative

        table = load_cohorts(args.data)
        shipped = load_generative()
    else:
        table = load_cohorts(args.data, cohorts)
    methods = QUICK_BASELINES if quick else tuple(BASELINES)
    per_fold: dict[str, dict[str, list[dict[str, dict[str, float]]]]] = {
        t: {m: [] for m in (GENERATIVE, *methods)} for t in TARGETS
    }
    seconds: dict[str, float] = {}
    notes: dict[str, str] = {}
    for fold in folds:
        train_idx, test_idx = folds_split(table, fold, data_dir=args.data)
        if quick:
            keep = np.isin(table.cancer_type[test_idx], cohorts)
            test_idx = test_idx[keep]
            train_idx = train_idx[np.isin(table.cancer_type[train_idx], cohorts)]
            model = shipped
        else:
            started = time.perf_counter()
            model = generative_for_fold(table, cohorts, fold, train_idx)
            seconds[f"train_generative_fold{fold}"] = time.perf_counter() - started
        for target in TARGETS:
            inputs = imputation_inputs(table, train_idx, test_idx, target)
            started = time.perf_counter()
            imputations = [generative_imputation(model, inputs)]
            seconds[f"{GENERATIVE}_{target}"] = time.perf_counter() - started
            for method in methods:
                started = time.perf_counter()
                imputations.append(BASELINES[method](inputs, seed=SEED))
                seconds[f"{method}_{target}"] = (
                    seconds.get(f"{method}_{target}", 0.0) + time.perf_counter() - started
                )
            for imputation in imputations:
                notes[f"{imputation.method}_{target}_fold{fold}"] = imputation.note
                per_fold[target][imputation.method].append(
                    score(table, train_idx, test_idx, target, imputation)
                )
    keys = ("r_gene", "r_hallmark", "coverage", "coverage_hallmark")
    summary = {
        target: {
            method: {k: _average(folds_scores, k) for k in keys}
            for method, folds_scores in by_method.items()
        }
        for target, by_method in per_fold.items()
    }
    for methods_summary in summary.values():
        for figures in methods_summary.values():
            for k in [k for k, v in figures.items() if math.isnan(v)]:
                del figures[k]
    _print_table(summary)
    goals = {
        "rna_gene": _goal(summary["rna"], "r_gene"),
        "rna_hallmark": _goal(summary["rna"], "r_hallmark"),
        "cnv_gene": _goal(summary["cnv"], "r_gene"),
    }
    coverage = {t: summary[t][GENERATIVE].get("coverage", math.nan) for t in TARGETS}
    coverage_ok = all(abs(c - NOMINAL) <= COVERAGE_SLACK for c in coverage.values())
    met = all(g["met"] for g in goals.values()) and coverage_ok
    rna = goals["rna_gene"]
    return result_line(
        id=ID,
        metric="pearson_r_per_gene_masked_rna",
        ours=round(rna["ours"], 4),
        baseline=round(rna["best_r"], 4),
        ratio=round(rna["ours"] / rna["best_r"], 3) if rna["best_r"] > 0 else None,
        goal=GOAL,
        met=met,
        cohorts=list(cohorts),
        folds=list(folds),
        quick=quick,
        goals=goals,
        coverage_80=coverage,
        summary=summary,
        per_cohort=per_fold,
        seconds={k: round(v, 1) for k, v in seconds.items()},
        notes=notes,
    )
