"""Reference models on the same features and splits: lifelines CoxPH and scikit-survival RSF.

scikit-survival is GPL-3.0, so it is imported lazily here only; nothing on the serving path
imports this module.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from inference.training.cohorts import Cohort

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class BaselinePrediction:
    """Risk scores and survival curves of a baseline on the test rows.

    Attributes:
        name: ``coxph`` or ``rsf``.
        risk: (N,) higher = worse.
        survival: (N, G) S at the model grid.
        seconds: fit + predict time.
    """

    name: str
    risk: FloatArray
    survival: FloatArray
    seconds: float


def design_matrix(
    cohort: Cohort, modalities: tuple[str, ...], train_rows: IntArray
) -> tuple[FloatArray, list[str]]:
    """Covariates for the baselines: the raw tabular features (mean-imputed, standardised on the
    training rows), one-hot cancer type and the treatment columns.

    Args:
        cohort: the cohort.
        modalities: tabular modalities to include (and ``"treatment"``).
        train_rows: rows whose statistics are used for imputation and scaling.

    Returns:
        (N, P) matrix and column names.
    """
    blocks, names = [], []
    for modality in ("clinical", "labs", "mutations", "copy_number", "expression"):
        if modality in modalities and modality in cohort.tabular:
            values = cohort.tabular[modality].copy()
            logged = set(cohort.log1p.get(modality, ()))
            for j, name in enumerate(cohort.names[modality]):
                if name in logged:
                    values[:, j] = np.sign(values[:, j]) * np.log1p(np.abs(values[:, j]))
            blocks.append(values)
            names += [f"{modality}:{n}" for n in cohort.names[modality]]
    if "clinical" in modalities and cohort.cancer_types is not None:
        codes = sorted({c for c in cohort.cancer_types[train_rows] if c})
        for code in codes[1:]:  # first code is the reference level
            blocks.append((cohort.cancer_types == code).astype(np.float64)[:, None])
            names.append(f"cancer_type:{code}")
    if "treatment" in modalities and cohort.treatment is not None:
        blocks.append(cohort.treatment)
        names += [f"treatment:{t}" for t in cohort.treatments]
    matrix = np.concatenate(blocks, axis=1)
    mean = np.nanmean(matrix[train_rows], axis=0)
    matrix = np.where(np.isfinite(matrix), matrix, mean)
    std = matrix[train_rows].std(axis=0)
    keep = std > 1e-8
    matrix = (matrix[:, keep] - matrix[train_rows][:, keep].mean(axis=0)) / std[keep]
    return matrix, [n for n, k in zip(names, keep, strict=True) if k]


def coxph(
    x: FloatArray,
    times: FloatArray,
    events: FloatArray,
    train_rows: IntArray,
    test_rows: IntArray,
    grid: FloatArray,
    penalizer: float = 0.0,
) -> BaselinePrediction:
    """lifelines Cox proportional hazards.

    Args:
        x: (N, P) design matrix.
        times, events: outcomes.
        train_rows, test_rows: split.
        grid: (G,) times for the survival curves.
        penalizer: lifelines L2 penalizer (0 = the unpenalised reference).

    Returns:
        Test predictions.
    """
    from lifelines import CoxPHFitter

    started = time.perf_counter()
    columns = [f"x{j}" for j in range(x.shape[1])]
    frame = pd.DataFrame(x[train_rows], columns=columns)
    frame["T"], frame["E"] = times[train_rows], events[train_rows]
    model = CoxPHFitter(penalizer=penalizer)
    model.fit(frame, duration_col="T", event_col="E")
    test = pd.DataFrame(x[test_rows], columns=columns)
    risk = model.predict_log_partial_hazard(test).to_numpy(dtype=np.float64)
    survival = model.predict_survival_function(test, times=grid).to_numpy(dtype=np.float64).T
    return BaselinePrediction("coxph", risk, survival, time.perf_counter() - started)


def random_survival_forest(
    x: FloatArray,
    times: FloatArray,
    events: FloatArray,
    train_rows: IntArray,
    test_rows: IntArray,
    grid: FloatArray,
    seed: int = 0,
) -> BaselinePrediction:
    """scikit-survival random survival forest with 100 trees.

    Args:
        x: (N, P) design matrix.
        times, events: outcomes.
        train_rows, test_rows: split.
        grid: (G,) times for the survival curves.
        seed: forest seed.

    Returns:
        Test predictions.
    """
    from sksurv.ensemble import RandomSurvivalForest
    from sksurv.util import Surv

    started = time.perf_counter()
    target = Surv.from_arrays(event=events[train_rows] > 0, time=times[train_rows])
    forest = RandomSurvivalForest(
        n_estimators=100, min_samples_leaf=15, max_features="sqrt", n_jobs=2, random_state=seed
    )
    forest.fit(x[train_rows], target)
    risk = forest.predict(x[test_rows])
    functions = forest.predict_survival_function(x[test_rows])
    survival = np.stack([fn(np.clip(grid, fn.x[0], fn.x[-1])) for fn in functions])
    survival[:, grid < functions[0].x[0]] = 1.0
    return BaselinePrediction("rsf", risk, survival, time.perf_counter() - started)
