"""G2: prognosis under multiple imputation of the RNA profile, on the fold-0 test patients.

Run with ``python -m benchmarks G2 [--quick] [--data DIR] [--cohorts blca,luad]``.

The survival model is the shipped pan-cancer fusion model (``inference.load_model()``), which
reads age, sex, OncoTree code, mutations, copy number and RNA. It was trained on the fold-0
training rows of the MCAT cohorts (BLCA, BRCA, GBMLGG, LUAD, UCEC), so only fold 0 of those
cohorts is a fair test (UCEC carries no RNA); any other fold is refused. The generative model is
the shipped checkpoint, the one the app uses, trained on fold 0's training rows of every cohort
(refused if its checkpoint says otherwise). ``--quick``: BLCA only, fewer imputations.

Each test patient is scored three ways: RNA measured; RNA masked (the survival model's own
missing-modality path); RNA imputed ``N_SAMPLES`` times by the generative model, every imputed
profile scored by every ensemble member and the curves pooled
(``inference.generative.prognosis_imputation``). Reported: Harrell C, the mean width of the 80%
band at 36 months, and the coverage of the calibrated 80% survival-time interval read off the
pooled curve (the survival model's conformal widening; coverage by IPCW over test events, as in
its model card). Goal: C(imputed) >= C(masked) and coverage within 3 points of 80%.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import BenchmarkResult, result_line
from benchmarks.g1_imputation import SEED, selection
from inference.generative.data import MODALITIES, folds_split, load_cohorts

ID = "G2"
TITLE = "Prognosis under multiple imputation of RNA: C and band coverage vs RNA masked"
GOAL = "C(imputed RNA) >= C(RNA masked); 80% band coverage within 3 points"
SURVIVAL_COHORTS = ("blca", "brca", "gbmlgg", "luad")
N_SAMPLES = 30
QUICK_SAMPLES = 8
NOMINAL = 0.8
SLACK = 0.03


def fold0_cohorts(args: argparse.Namespace, benchmark_id: str) -> tuple[str, ...]:
    """The cohorts asked for (by default the survival model's, BLCA alone when quick); fold 0 only,
    as the shipped survival model trained on it."""
    cohorts, folds = selection(args)
    if folds != (0,):
        raise SystemExit(
            f"{benchmark_id} runs on fold 0 only: the shipped survival model trained on fold 0"
        )
    if not getattr(args, "cohorts", None):
        cohorts = ("blca",) if args.quick else SURVIVAL_COHORTS
    return cohorts


def shipped_fold0(data: Path, cohorts: tuple[str, ...]) -> tuple[Any, Any, np.ndarray, np.ndarray]:
    """The shipped generative model, the table it was trained on, and fold 0's training and test
    rows of ``cohorts``; refuses a checkpoint not trained on fold 0's training part."""
    from inference.generative.model import load_generative

    generative = load_generative()
    fold = generative.validation.get("fold")
    if fold != 0:
        raise SystemExit(f"the shipped generative model was trained on fold {fold}, not fold 0")
    table = load_cohorts(data, generative.validation.get("cohorts") or None)
    train_idx, test_idx = folds_split(table, 0, data_dir=data)
    return (
        table,
        generative,
        train_idx[np.isin(table.cancer_type[train_idx], cohorts)],
        test_idx[np.isin(table.cancer_type[test_idx], cohorts)],
    )


def _conditions(
    predictor: Any,
    generative: Any,
    table: Any,
    test_idx: np.ndarray,
    n_samples: int,
) -> dict[str, Any]:
    from inference.generative.prognosis_imputation import imputed_curves, member_curves, pool

    names = {m: table.names(m) for m in MODALITIES}
    codes = [str(c) for c in table.oncotree_code[test_idx]]
    measured = {m: table.modality(m)[test_idx] for m in MODALITIES}
    masked = {m: v for m, v in measured.items() if m != "rna"}
    types = [str(t) for t in table.cancer_type[test_idx]]
    drawn = generative.impute(masked, types, n_samples, SEED, only=("rna",))
    return {
        "measured": pool(predictor.grid, member_curves(predictor, measured, names, codes)),
        "masked": pool(predictor.grid, member_curves(predictor, masked, names, codes)),
        "imputed": pool(predictor.grid, imputed_curves(predictor, masked, drawn, names, codes)),
    }


def run(args: argparse.Namespace) -> BenchmarkResult:
    """Run the benchmark and return its result dictionary."""
    import torch

    import inference
    from inference.generative.prognosis_imputation import REFERENCE_MONTHS, calibrated_intervals
    from inference.survival import conformal
    from inference.survival.curves import survival_at_months
    from inference.training.scoring import score

    torch.set_num_threads(1)
    quick = bool(args.quick)
    cohorts = fold0_cohorts(args, "G2")
    outside = [c for c in cohorts if c not in SURVIVAL_COHORTS]
    if outside:
        raise SystemExit(f"G2 needs cohorts the survival model was tested on: not {outside}")
    predictor = inference.load_model()
    started = time.perf_counter()
    table, generative, train_idx, test_idx = shipped_fold0(args.data, cohorts)
    loaded_s = time.perf_counter() - started
    test_idx = test_idx[np.isfinite(table.rna[test_idx]).any(1)]
    n_samples = QUICK_SAMPLES if quick else N_SAMPLES
    started = time.perf_counter()
    pooled = _conditions(predictor, generative, table, test_idx, n_samples)
    scored_s = time.perf_counter() - started
    times, events = table.survival_months[test_idx], table.event[test_idx]
    train_times, train_events = table.survival_months[train_idx], table.event[train_idx]
    rows: dict[str, dict[str, float]] = {}
    for name, curves in pooled.items():
        figures = score(curves.grid, curves.survival, times, events, train_times, train_events)
        width = [
            (survival_at_months(curves.grid, hi, REFERENCE_MONTHS) or math.nan)
            - (survival_at_months(curves.grid, lo, REFERENCE_MONTHS) or math.nan)
            for lo, hi in zip(curves.lower, curves.upper, strict=True)
        ]
        intervals = calibrated_intervals(predictor, curves)
        coverage = (
            conformal.measured_coverage(train_times, train_events, times, events, intervals)
            if intervals is not None
            else math.nan
        )
        rows[name] = {
            "c_index": round(float(figures["c_index"]), 4),
            "ibs": round(float(figures["ibs"]), 4),
            "band_width_36mo": round(float(np.nanmean(width)), 4),
            "coverage_80": round(float(coverage), 4),
            "curves_pooled": curves.n_curves,
        }
    print(f"{'RNA':9} {'C':>6} {'IBS':>6} {'band36':>7} {'cov80':>6} {'curves':>6}")
    for name, r in rows.items():
        print(
            f"{name:9} {r['c_index']:6.3f} {r['ibs']:6.3f} {r['band_width_36mo']:7.3f} "
            f"{r['coverage_80']:6.3f} {r['curves_pooled']:6d}"
        )
    c_ok = rows["imputed"]["c_index"] >= rows["masked"]["c_index"]
    coverage_ok = abs(rows["imputed"]["coverage_80"] - NOMINAL) <= SLACK
    return result_line(
        id=ID,
        metric="harrell_c_imputed_rna",
        ours=rows["imputed"]["c_index"],
        baseline=rows["masked"]["c_index"],
        ratio=round(rows["imputed"]["c_index"] / rows["masked"]["c_index"], 4),
        goal=GOAL,
        met=bool(c_ok and coverage_ok),
        cohorts=list(cohorts),
        fold=0,
        quick=quick,
        n_test=int(len(test_idx)),
        events_test=int(events.sum()),
        n_samples=n_samples,
        conditions=rows,
        survival_model=f"{predictor.info.name} {predictor.info.version}".strip(),
        generative_model=generative.version,
        seconds={"loading": round(loaded_s, 1), "scoring": round(scored_s, 1)},
    )
