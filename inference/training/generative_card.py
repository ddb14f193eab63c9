"""Held-out figures for the generative model card (G1-style, the shipped model on its fold).

    nice -n 10 python -m inference.training.generative_card --fold 0

Per cohort with RNA, on the fold's held-out rows: RNA (then copy number) masked and imputed from
the other modalities; Pearson r per gene (averaged over genes) and per hallmark programme, the
coverage of the 80% intervals (``interval_coverage``, the function the tests use), and a ridge
regression from the same inputs (fitted on the cohort's training rows) beside it. The full
comparison with all baselines is benchmark G1.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.linear_model import RidgeCV

from inference.generative.data import (
    MODALITIES,
    FloatArray,
    IntArray,
    default_data_dir,
    folds_split,
)
from inference.generative.metrics import interval_coverage
from inference.generative.model import GenerativeModel, load_generative
from inference.generative.programmes import hallmark_samples, membership_of
from inference.hallmarks.gene_sets import hallmark_scores
from inference.training.generative_eval import load_table, model_for_fold, nanmean0, rows_of

SAMPLES = 50


def pearson_columns(truth: FloatArray, prediction: FloatArray) -> FloatArray:
    """Pearson r per column, NaN for a constant column."""
    t = truth - nanmean0(truth)
    p = prediction - nanmean0(prediction)
    with np.errstate(invalid="ignore", divide="ignore"):
        r: FloatArray = np.nansum(t * p, 0) / np.sqrt(np.nansum(t**2, 0) * np.nansum(p**2, 0))
    return r


def _inputs(x: dict[str, FloatArray], target: str) -> FloatArray:
    parts = [np.nan_to_num(x[m] - nanmean0(x[m])) for m in MODALITIES if m != target]
    return np.hstack(parts)


def ridge_prediction(
    model: GenerativeModel, table: Any, train: IntArray, test: IntArray, target: str
) -> FloatArray:
    """Ridge from the other modalities (fitted on the training rows; NaN-free columns)."""
    k = model.type_index(str(table.cancer_type[test[0]]))
    columns = model.carried[target][k]
    both = np.concatenate([train, test])
    x = model.arrays_of(table, both)
    features = _inputs(x, target)
    keep = np.isfinite(x[target][: len(train)][:, columns]).all(1)
    y = x[target][: len(train)][:, columns][keep]
    ridge = RidgeCV(alphas=np.logspace(0, 5, 11)).fit(features[: len(train)][keep], y)
    out = np.full((len(test), model.config.dims[target]), np.nan)
    out[:, columns] = ridge.predict(features[len(train) :])
    return out


def cohort_figures(
    model: GenerativeModel, table: Any, train: IntArray, test: IntArray, target: str
) -> dict[str, float]:
    x = model.arrays_of(table, test)
    truth = x[target]
    observed = {m: v for m, v in x.items() if m != target}
    kinds = table.cancer_type[test].tolist()
    draws = model.impute(observed, kinds, n_samples=SAMPLES, seed=0, only=(target,))[target]
    mean = nanmean0(draws)
    ridge = ridge_prediction(model, table, train, test, target)
    out = {
        "r_gene": float(np.nanmean(pearson_columns(truth, mean))),
        "r_gene_ridge": float(np.nanmean(pearson_columns(truth, ridge))),
        "coverage_gene": interval_coverage(draws, truth),
    }
    if target == "rna":
        membership = membership_of(model.names["rna"])
        h_true = hallmark_scores(truth, membership)
        h_draws = hallmark_samples(draws, membership, model.calibration.get("hallmark", 1.0))
        out["r_hallmark"] = float(np.nanmean(pearson_columns(h_true, nanmean0(h_draws))))
        out["r_hallmark_ridge"] = float(
            np.nanmean(pearson_columns(h_true, hallmark_scores(ridge, membership)))
        )
        out["coverage_hallmark"] = interval_coverage(h_draws, h_true)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m inference.training.generative_card")
    parser.add_argument("--fold", type=int, default=0)
    parser.add_argument("--data", type=Path, default=default_data_dir())
    parser.add_argument(
        "--checkpoint", type=Path, default=None, help="a candidate checkpoint trained on --fold"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    table = load_table(args.data)
    if args.checkpoint is not None:
        model, source = load_generative(args.checkpoint), f"candidate {args.checkpoint}"
    else:
        model, source = model_for_fold(table, args.fold, args.data)
    train, test = folds_split(table, args.fold, data_dir=args.data)
    result: dict[str, Any] = {"model": source, "fold": args.fold}
    for target in ("rna", "cnv"):
        per: dict[str, dict[str, float]] = {}
        for cohort in model.config.cancer_types:
            k = model.type_index(cohort)
            if model.carried[target][k].sum() < 20:
                continue
            per[cohort] = cohort_figures(
                model, table, rows_of(table, train, cohort), rows_of(table, test, cohort), target
            )
        keys = sorted({key for v in per.values() for key in v})
        result[target] = {
            "mean": {key: round(float(np.mean([v[key] for v in per.values()])), 3) for key in keys},
            "per_cohort": {c: {k: round(v, 3) for k, v in d.items()} for c, d in per.items()},
        }
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
