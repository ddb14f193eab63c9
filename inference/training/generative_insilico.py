"""Benchmark G5: do in-silico mutation effects on the hallmarks match what held-out data show?

For each common driver and cancer type with at least ``MIN_MUTANTS`` mutant and as many
wild-type cases in a fold's held-out part (and RNA in the type): the model's in-silico effect is
the mean shift of the 50 hallmark scores when the held-out cases, conditioned on their clinical
facts and mutations, have the driver set from 0 to 1 (``GenerativeModel.intervene``, paired
samples). The observed effect is the held-out mutant minus wild-type difference of the measured
hallmark scores. The score is the Pearson correlation across hallmarks of the two, averaged over
(driver, type) pairs. Baseline: a linear model (ridge regression of the hallmark scores on the
mutation vector, age and sex, fitted per type on the training part; its effect is the driver's
coefficient). For context, the training part's own mutant - wild-type difference is scored too.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import RidgeCV

from inference.generative.data import FloatArray, IntArray, MultiOmicsTable, folds_split
from inference.generative.intervention import (
    carried_drivers,
    corr,
    in_silico_effect,
    observed_difference,
)
from inference.generative.model import GenerativeModel
from inference.training.generative_eval import (
    hallmarks_of,
    load_table,
    model_for_fold,
    nanmean0,
    parse_cohorts,
    parse_folds,
    rows_of,
)

logger = logging.getLogger(__name__)
GOAL = 0.5
MIN_MUTANTS = 8
QUICK_COHORTS = ("brca", "luad")


def _design(table: MultiOmicsTable, rows: IntArray, columns: np.ndarray) -> FloatArray:
    clinical = table.clinical[rows]
    clinical = np.where(np.isnan(clinical), np.nan_to_num(nanmean0(clinical)), clinical)
    return np.hstack([np.nan_to_num(table.mutation[rows][:, columns]), clinical])


def linear_effects(
    model: GenerativeModel, table: MultiOmicsTable, train_rows: IntArray
) -> tuple[np.ndarray, FloatArray]:
    """Ridge coefficients (carried mutation columns x hallmarks) fitted on the training part."""
    k = model.type_index(str(table.cancer_type[train_rows[0]]))
    columns = np.nonzero(model.carried["mutation"][k])[0]
    _, y = hallmarks_of(model, table.rna[train_rows])
    keep = np.isfinite(y).all(1)
    ridge = RidgeCV(alphas=np.logspace(-1, 4, 12)).fit(
        _design(table, train_rows[keep], columns), y[keep]
    )
    return columns, ridge.coef_[:, : len(columns)].T


def consistency_for_fold(
    model: GenerativeModel,
    table: MultiOmicsTable,
    train: IntArray,
    test: IntArray,
    fold: int,
    cohorts: tuple[str, ...] | None = None,
) -> list[dict[str, Any]]:
    """One record per (driver, type) pair that qualifies in this fold."""
    if any(table.names(m) != model.names[m] for m in ("mutation", "rna")):
        raise ValueError("G5 needs the table of all cohorts (the model's feature order)")
    records = []
    for cohort in cohorts or model.config.cancer_types:
        k = model.type_index(cohort)
        if not model.carried["rna"][k].any():
            continue
        test_rows, train_rows = rows_of(table, test, cohort), rows_of(table, train, cohort)
        test_rows = test_rows[(~np.isnan(table.rna[test_rows])).any(1)]
        linear: tuple[np.ndarray, FloatArray] | None = None
        for gene, column in carried_drivers(model, k):
            n_mut, n_wt, observed = observed_difference(model, table, test_rows, column)
            if min(n_mut, n_wt) < MIN_MUTANTS:
                continue
            linear = linear or linear_effects(model, table, train_rows)
            columns, coef = linear
            ours = in_silico_effect(model, table, test_rows, gene, seed=fold)
            alone = in_silico_effect(model, table, test_rows, gene, seed=fold, driver_only=True)
            lin = coef[list(columns).index(column)]
            _, _, train_diff = observed_difference(model, table, train_rows, column)
            records.append(
                {
                    "fold": fold,
                    "type": cohort,
                    "gene": gene,
                    "mutants": n_mut,
                    "ours": corr(ours, observed),
                    "driver_only": corr(alone, observed),
                    "linear": corr(lin, observed),
                    "train_difference": corr(train_diff, observed),
                }
            )
            logger.info("fold %d %s %s: r %.2f", fold, cohort, gene, records[-1]["ours"])
    return records


def run_g5(
    data: Path, folds_arg: str | None, quick: bool, cohorts_arg: str | None = None
) -> dict[str, Any]:
    """The G5 result (keys of ``benchmarks.common.result_line``); ``quick``: BRCA and LUAD."""
    start = time.perf_counter()
    folds = parse_folds(folds_arg)
    cohorts = parse_cohorts(cohorts_arg, QUICK_COHORTS if quick else None)
    table = load_table(data)
    records: list[dict[str, Any]] = []
    sources = {}
    for fold in folds:
        model, sources[fold] = model_for_fold(table, fold, data)
        train, test = folds_split(table, fold, data_dir=data)
        records += consistency_for_fold(model, table, train, test, fold, cohorts)
    print(
        f"{'fold':>4} {'type':9} {'gene':7} {'mut':>4} {'ours':>6} {'alone':>6} {'linear':>6} "
        f"{'train':>6}"
    )
    for r in records:
        print(
            f"{r['fold']:4d} {r['type']:9} {r['gene']:7} {r['mutants']:4d} {r['ours']:6.3f} "
            f"{r['driver_only']:6.3f} {r['linear']:6.3f} {r['train_difference']:6.3f}"
        )
    mean = {
        key: float(np.nanmean([r[key] for r in records])) if records else float("nan")
        for key in ("ours", "driver_only", "linear", "train_difference")
    }
    return {
        "id": "G5",
        "metric": "mean Pearson r across hallmarks, in-silico vs observed held-out mutant-wt shift",
        "ours": round(mean["ours"], 3),
        "baseline": round(mean["linear"], 3),
        "ratio": round(mean["ours"] / mean["linear"], 3) if mean["linear"] else None,
        "goal": f"r >= {GOAL} (beside a linear model)",
        "met": bool(mean["ours"] >= GOAL),
        "pairs": len(records),
        "driver_only_r": round(mean["driver_only"], 3),
        "train_difference_r": round(mean["train_difference"], 3),
        "folds": list(folds),
        "cohorts": list(cohorts) if cohorts else "all with RNA",
        "models": {str(f): s for f, s in sources.items()},
        "min_mutants_held_out": MIN_MUTANTS,
        "per_pair": [
            {k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()} for r in records
        ],
        "seconds": round(time.perf_counter() - start, 1),
        "quick": quick,
    }
