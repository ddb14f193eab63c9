"""Benchmark G4: are generated tumour profiles distinguishable from real held-out ones?

Per cancer type and fold, the model draws as many unconditional profiles (clinical facts,
mutations, copy number, RNA) as the held-out part has cases, and a classifier two-sample test
(C2ST) tries to tell them from the real held-out profiles: 5-fold cross-validated AUC of a
logistic regression and of a random forest on one representation of a profile (age, sex,
mutation burden and the type's 20 most frequent mutations, 10 copy-number and 20 RNA principal
components fitted on the real training part, and the 50 hallmark scores). The stricter
(higher) of the two AUCs counts. AUC 0.5 = indistinguishable. As a noise floor the same test
runs between real training rows and the real held-out rows.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.decomposition import PCA
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from inference.generative.data import (
    MODALITIES,
    FloatArray,
    IntArray,
    MultiOmicsTable,
    folds_split,
    load_cohorts,
)
from inference.generative.model import GenerativeModel
from inference.training.generative_eval import (
    hallmarks_of,
    model_for_fold,
    nanmean0,
    parse_cohorts,
    parse_folds,
    rows_of,
)

logger = logging.getLogger(__name__)
GOAL = 0.65
TOP_MUTATIONS = 20
PCS = {"cnv": 10, "rna": 20}
QUICK_COHORTS = ("blca", "luad")


class Representation:
    """A fixed-length profile representation fitted on one type's real training rows."""

    def __init__(
        self, model: GenerativeModel, table: MultiOmicsTable, train_rows: IntArray
    ) -> None:
        self.model = model
        k = model.type_index(str(table.cancer_type[train_rows[0]]))
        self.carried = {m: model.carried[m][k] for m in MODALITIES}
        train = model.arrays_of(table, train_rows)
        mut = train["mutation"][:, self.carried["mutation"]]
        self.top = np.argsort(-np.nan_to_num(nanmean0(mut)))[:TOP_MUTATIONS]
        self.pcas: dict[str, tuple[FloatArray, PCA]] = {}
        for m, n in PCS.items():
            x = train[m][:, self.carried[m]]
            if x.shape[1] >= n and len(x) > n:
                fill = np.nan_to_num(nanmean0(x))
                self.pcas[m] = (fill, PCA(n, random_state=0).fit(np.where(np.isnan(x), fill, x)))
        self.clinical_fill = np.nan_to_num(nanmean0(train["clinical"]))

    def __call__(self, profile: dict[str, FloatArray]) -> FloatArray:
        parts = [np.where(np.isnan(profile["clinical"]), self.clinical_fill, profile["clinical"])]
        mut = np.nan_to_num(profile["mutation"][:, self.carried["mutation"]])
        parts += [mut.mean(1, keepdims=True), mut[:, self.top]]
        for m, (fill, pca) in self.pcas.items():
            x = profile[m][:, self.carried[m]]
            parts.append(pca.transform(np.where(np.isnan(x), fill, x)))
        if self.carried["rna"].any():
            _, scores = hallmarks_of(self.model, profile["rna"])
            parts.append(np.nan_to_num(scores))
        return np.hstack(parts)


def c2st(real: FloatArray, other: FloatArray, seed: int = 0) -> dict[str, float]:
    """Cross-validated AUC of two classifiers telling ``real`` (0) from ``other`` (1)."""
    x = np.vstack([real, other])
    y = np.r_[np.zeros(len(real)), np.ones(len(other))]
    folds = StratifiedKFold(5, shuffle=True, random_state=seed)
    classifiers = {
        "logistic": make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000)),
        "forest": RandomForestClassifier(300, min_samples_leaf=2, random_state=seed, n_jobs=1),
    }
    out = {}
    for name, clf in classifiers.items():
        p = cross_val_predict(clf, x, y, cv=folds, method="predict_proba")[:, 1]
        out[name] = float(roc_auc_score(y, p))
    out["auc"] = max(out["logistic"], out["forest"])
    return out


def realism_for_fold(
    model: GenerativeModel,
    table: MultiOmicsTable,
    train: IntArray,
    test: IntArray,
    fold: int,
    cohorts: tuple[str, ...] | None = None,
) -> dict[str, dict[str, float]]:
    """Per cancer type: C2ST AUC of generated vs real held-out, and real training vs held-out."""
    out: dict[str, dict[str, float]] = {}
    rng = np.random.default_rng(fold)
    for cohort in cohorts or model.config.cancer_types:
        test_rows, train_rows = rows_of(table, test, cohort), rows_of(table, train, cohort)
        if len(test_rows) < 10:
            continue
        represent = Representation(model, table, train_rows)
        real = represent(model.arrays_of(table, test_rows))
        drawn = model.impute({}, [cohort] * len(test_rows), n_samples=1, seed=1000 + fold)
        generated = represent({m: v[0] for m, v in drawn.items()})
        floor_rows = rng.choice(
            train_rows, size=min(len(test_rows), len(train_rows)), replace=False
        )
        floor = represent(model.arrays_of(table, floor_rows))
        result = c2st(real, generated, seed=fold)
        out[cohort] = {
            **result,
            "n_held_out": float(len(test_rows)),
            "real_vs_real_auc": c2st(real, floor, seed=fold)["auc"],
        }
        logger.info("fold %d %s: AUC %.3f", fold, cohort, result["auc"])
    return out


def run_g4(
    data: Path, folds_arg: str | None, quick: bool, cohorts_arg: str | None = None
) -> dict[str, Any]:
    """The G4 result (keys of ``benchmarks.common.result_line``); ``quick``: BLCA and LUAD."""
    start = time.perf_counter()
    folds = parse_folds(folds_arg)
    cohorts = parse_cohorts(cohorts_arg, QUICK_COHORTS if quick else None)
    table = load_cohorts(data, cohorts)
    per_fold: dict[int, dict[str, dict[str, float]]] = {}
    sources: dict[int, str] = {}
    for fold in folds:
        model, sources[fold] = model_for_fold(table, fold, data)
        train, test = folds_split(table, fold, data_dir=data)
        per_fold[fold] = realism_for_fold(model, table, train, test, fold, cohorts)
    scored = sorted({c for r in per_fold.values() for c in r})
    per_type = {
        c: {
            key: float(np.mean([per_fold[f][c][key] for f in folds if c in per_fold[f]]))
            for key in ("auc", "logistic", "forest", "real_vs_real_auc", "n_held_out")
        }
        for c in scored
    }
    _print(per_type)
    mean_auc = float(np.mean([v["auc"] for v in per_type.values()]))
    floor = float(np.mean([v["real_vs_real_auc"] for v in per_type.values()]))
    worst = max(per_type.values(), key=lambda v: v["auc"])["auc"]
    met_types = [c for c, v in per_type.items() if v["auc"] <= GOAL]
    return {
        "id": "G4",
        "metric": "c2st_auc_generated_vs_real_held_out (max of logistic, forest; mean over types)",
        "ours": round(mean_auc, 3),
        "baseline": round(floor, 3),
        "ratio": round(mean_auc / floor, 3) if floor else None,
        "goal": f"C2ST AUC <= {GOAL} per cancer type",
        "met": len(met_types) == len(per_type),
        "worst_type_auc": round(worst, 3),
        "types_meeting_goal": f"{len(met_types)}/{len(per_type)}",
        "folds": list(folds),
        "cohorts": list(cohorts) if cohorts else "all",
        "models": {str(f): s for f, s in sources.items()},
        "baseline_is": "the same C2ST between real training rows and the real held-out rows",
        "per_type": {c: {k: round(v, 3) for k, v in d.items()} for c, d in per_type.items()},
        "seconds": round(time.perf_counter() - start, 1),
        "quick": quick,
    }


def _print(per_type: dict[str, dict[str, float]]) -> None:
    print(f"{'type':9} {'n':>4} {'AUC':>6} {'logit':>6} {'forest':>6} {'real/real':>9}")
    for c, v in per_type.items():
        print(
            f"{c:9} {v['n_held_out']:4.0f} {v['auc']:6.3f} {v['logistic']:6.3f} "
            f"{v['forest']:6.3f} {v['real_vs_real_auc']:9.3f}"
        )
