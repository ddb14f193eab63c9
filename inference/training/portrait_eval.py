"""Per-cancer-type validation of the portrait model against CoxPH and RSF (benchmark Q8).

For each cancer type, on its test rows: Harrell C (pairs compared within a cohort, since cohorts of
one type differ in endpoint and time zero), Antolini C^td, IBS and calibration slope at the main
horizon. The references see the same vocabulary columns (those the type's training rows carry;
missing values take the training mean) and the same splits; with several cohorts in a type CoxPH is
stratified by cohort and RSF gets a cohort indicator. lifelines and scikit-survival are imported
lazily: training extras only.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from inference.portrait.model import PortraitModel
from inference.portrait.vocabulary import FEATURE_NAMES
from inference.survival.curves import survival_at_grid_times
from inference.survival.metrics import antolini_c, calibration_at, integrated_brier
from inference.training.portrait_train import (
    GRID_MONTHS,
    MAIN_HORIZON,
    TrainSettings,
    build_model,
    raw_features,
    stratified_c,
)

logger = logging.getLogger(__name__)
FloatArray = npt.NDArray[np.float64]

#: Train on the first cohort, test on the second (same cancer type).
EXTERNAL_PAIRS: tuple[tuple[str, str], ...] = (
    ("rotterdam", "gbsg2"),
    ("gbsg2", "rotterdam"),
    ("ncctg-lung", "veterans-lung"),
    ("veterans-lung", "ncctg-lung"),
    ("metabric", "tcga-brca"),
    ("tcga-brca", "metabric"),
    ("colon-trial", "tcga-coadread"),
)


@dataclass(frozen=True)
class Scores:
    """Test-split figures of one model on one cancer type."""

    c_index: float
    c_td: float
    ibs: float
    calibration_slope: float

    def rounded(self) -> dict[str, float]:
        return {k: round(float(v), 4) for k, v in self.__dict__.items()}


def score(
    rows: pd.DataFrame, train: pd.DataFrame, risk: FloatArray, survival: FloatArray, horizon: float
) -> Scores:
    """Figures of one model on the test ``rows`` of a type (``survival`` on GRID_MONTHS)."""
    c_td_parts, ibs_parts, weights = [], [], []
    for cohort, idx in rows.groupby("cohort").groups.items():
        part = rows.index.get_indexer(idx)
        t = rows["time_months"].to_numpy()[part]
        e = rows["event"].to_numpy()[part]
        fit = train[train["cohort"] == cohort]
        low, high = np.quantile(t, [0.1, 0.8])
        eval_times = np.linspace(low, max(high, low + 1e-3), 20)
        at_times = survival_at_grid_times(GRID_MONTHS, survival[part], eval_times)
        ibs_parts.append(
            integrated_brier(
                fit["time_months"].to_numpy(), fit["event"].to_numpy(), t, e, at_times, eval_times
            )
        )
        c_td_parts.append(antolini_c(t, e, GRID_MONTHS, survival[part]))
        weights.append(max(float(e.sum()), 1.0))
    at_horizon = survival_at_grid_times(GRID_MONTHS, survival, np.array([horizon]))[:, 0]
    groups = 5 if len(rows) < 300 else 10
    calibration = calibration_at(
        rows["time_months"].to_numpy(), rows["event"].to_numpy(), at_horizon, horizon, groups
    )
    return Scores(
        c_index=stratified_c(rows, risk),
        c_td=float(np.average(c_td_parts, weights=weights)),
        ibs=float(np.average(ibs_parts, weights=weights)),
        calibration_slope=calibration.slope,
    )


def design(
    train: pd.DataFrame, test: pd.DataFrame, columns: list[str] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Reference design: observed vocabulary columns, train-mean imputed, standardised."""
    x_train = pd.DataFrame(raw_features(train), columns=list(FEATURE_NAMES))
    x_test = pd.DataFrame(raw_features(test), columns=list(FEATURE_NAMES))
    if columns is None:
        columns = [c for c in FEATURE_NAMES if x_train[c].notna().any()]
    x_train, x_test = x_train[columns], x_test[columns]
    mean = x_train.mean()
    x_train, x_test = x_train.fillna(mean), x_test.fillna(mean)
    std = x_train.std().replace(0.0, np.nan)
    keep = [c for c in columns if np.isfinite(std[c]) and std[c] > 1e-8]
    x_train = (x_train[keep] - mean[keep]) / std[keep]
    x_test = (x_test[keep] - mean[keep]) / std[keep]
    return x_train.reset_index(drop=True), x_test.reset_index(drop=True), keep


def coxph(
    train: pd.DataFrame, test: pd.DataFrame, columns: list[str] | None = None
) -> tuple[FloatArray, FloatArray]:
    """lifelines CoxPH (stratified by cohort when a type has several): test risk and curves.

    A tiny ridge (penalizer 0.01) keeps the fit defined where vocabulary columns are collinear
    (stage group and N category derived from the same node count, for example).
    """
    from lifelines import CoxPHFitter

    x_train, x_test, _ = design(train, test, columns)
    frame = x_train.copy()
    frame["T"], frame["E"] = train["time_months"].to_numpy(), train["event"].to_numpy()
    strata = None
    if train["cohort"].nunique() > 1:
        frame["cohort"] = train["cohort"].to_numpy()
        x_test = x_test.copy()
        x_test["cohort"] = test["cohort"].to_numpy()
        strata = ["cohort"]
    model = CoxPHFitter(penalizer=0.01)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(frame, duration_col="T", event_col="E", strata=strata)
        # With strata lifelines groups its output by stratum: put rows back in test order.
        risk = model.predict_log_partial_hazard(x_test).reindex(x_test.index)
        curves = model.predict_survival_function(x_test, times=GRID_MONTHS)[x_test.index]
    return risk.to_numpy(dtype=np.float64), curves.to_numpy(dtype=np.float64).T


def rsf(train: pd.DataFrame, test: pd.DataFrame, seed: int = 0) -> tuple[FloatArray, FloatArray]:
    """scikit-survival random survival forest (100 trees), cohort one-hot added."""
    from sksurv.ensemble import RandomSurvivalForest
    from sksurv.util import Surv

    x_train, x_test, _ = design(train, test)
    cohorts = sorted(set(train["cohort"]))
    for cohort in cohorts[1:]:
        x_train[f"cohort:{cohort}"] = (train["cohort"].to_numpy() == cohort).astype(float)
        x_test[f"cohort:{cohort}"] = (test["cohort"].to_numpy() == cohort).astype(float)
    target = Surv.from_arrays(event=train["event"].to_numpy() > 0, time=train["time_months"])
    forest = RandomSurvivalForest(
        n_estimators=100, min_samples_leaf=15, max_features="sqrt", n_jobs=1, random_state=seed
    )
    forest.fit(x_train.to_numpy(), target)
    risk = forest.predict(x_test.to_numpy())
    functions = forest.predict_survival_function(x_test.to_numpy())
    curves = np.stack([fn(np.clip(GRID_MONTHS, fn.x[0], fn.x[-1])) for fn in functions])
    curves[:, functions[0].x[0] > GRID_MONTHS] = 1.0
    return np.asarray(risk, dtype=np.float64), curves


def slopes_by_year(rows: pd.DataFrame, survival: FloatArray) -> dict[str, float]:
    """Calibration slope at 1, 3 and 5 years where >= 10 test patients are followed past it."""
    out: dict[str, float] = {}
    times, events = rows["time_months"].to_numpy(), rows["event"].to_numpy()
    for months in (12.0, 36.0, 60.0):
        if (times > months).sum() < 10:
            continue
        at = survival_at_grid_times(GRID_MONTHS, survival, np.array([months]))[:, 0]
        groups = 5 if len(rows) < 300 else 10
        out[f"{months / 12:.0f}y"] = round(
            calibration_at(times, events, at, months, groups).slope, 3
        )
    return out


def ours(model: PortraitModel, rows: pd.DataFrame) -> tuple[FloatArray, FloatArray]:
    """Risk and curves of the portrait model (each row on its own cohort's baseline)."""
    risk = model.risk(raw_features(rows), list(rows["cancer_type"]))
    return risk, model.survival(risk, list(rows["cohort"]))


def per_type(
    model: PortraitModel,
    frame: pd.DataFrame,
    *,
    with_rsf: bool,
    routed: dict[str, PortraitModel] | None = None,
) -> dict[str, dict[str, Any]]:
    """Test-split figures per cancer type: ours, CoxPH, optionally RSF and the routed models."""
    out: dict[str, dict[str, Any]] = {}
    for cancer_type in sorted(frame["cancer_type"].unique()):
        of_type = frame[frame["cancer_type"] == cancer_type]
        train = of_type[of_type["split"] == "train"].reset_index(drop=True)
        test = of_type[of_type["split"] == "test"].reset_index(drop=True)
        horizon = MAIN_HORIZON[cancer_type]
        ours_risk, ours_curves = ours(model, test)
        cox_risk, cox_curves = coxph(train, test)
        row: dict[str, Any] = {
            "cohorts": sorted(set(test["cohort"])),
            "n_test": len(test),
            "events_test": int(test["event"].sum()),
            "horizon_months": horizon,
            "ours": score(test, train, ours_risk, ours_curves, horizon).rounded(),
            "coxph": score(test, train, cox_risk, cox_curves, horizon).rounded(),
            "ours_slopes_by_year": slopes_by_year(test, ours_curves),
            "coxph_slopes_by_year": slopes_by_year(test, cox_curves),
        }
        if with_rsf:
            row["rsf"] = score(test, train, *rsf(train, test), horizon).rounded()
        if routed is not None:
            row["routed"] = score(test, train, *ours(routed[cancer_type], test), horizon).rounded()
        out[cancer_type] = row
        logger.info("%s: %s", cancer_type, row)
    return out


def routed_models(frame: pd.DataFrame, settings: TrainSettings) -> dict[str, PortraitModel]:
    """The alternative design: one additive model per cancer type, trained on that type only."""
    return {
        str(t): build_model(frame[frame["cancer_type"] == t].reset_index(drop=True), settings)
        for t in sorted(frame["cancer_type"].unique())
    }


def external(
    frame: pd.DataFrame, model: PortraitModel, settings: TrainSettings
) -> dict[str, dict[str, Any]]:
    """Train on one cohort, test on another of the same type; report the drop in C.

    Ours: the model retrained without the target cohort (the source and every other cohort
    stay), scored on the target's test rows, against the full model on the same rows. CoxPH:
    fitted on the source cohort alone with the columns both cohorts carry, against CoxPH fitted
    on the target's training rows with those columns.
    """
    out: dict[str, dict[str, Any]] = {}
    held_out: dict[str, PortraitModel] = {}
    for source, target in EXTERNAL_PAIRS:
        if target not in held_out:
            rest = frame[frame["cohort"] != target].reset_index(drop=True)
            held_out[target] = build_model(rest, settings)
        test = frame[(frame["cohort"] == target) & (frame["split"] == "test")]
        test = test.reset_index(drop=True)
        internal = stratified_c(test, ours(model, test)[0])
        # The held-out model has no baseline of the target cohort: only its ranking is scored.
        ext = stratified_c(
            test, held_out[target].risk(raw_features(test), list(test["cancer_type"]))
        )
        source_rows = frame[frame["cohort"] == source].reset_index(drop=True)
        target_train = frame[(frame["cohort"] == target) & (frame["split"] == "train")]
        shared = [
            c
            for c in FEATURE_NAMES
            if source_rows[c].nunique() > 1 and target_train[c].nunique() > 1
        ]
        pair = f"{source}->{target}"
        row: dict[str, Any] = {
            "ours_internal_c": round(internal, 4),
            "ours_external_c": round(ext, 4),
            "ours_drop": round(internal - ext, 4),
            "shared_columns": shared,
        }
        if shared:
            cox_ext = stratified_c(test, coxph(source_rows, test, shared)[0])
            cox_int = stratified_c(
                test, coxph(target_train.reset_index(drop=True), test, shared)[0]
            )
            row |= {
                "coxph_internal_c": round(cox_int, 4),
                "coxph_external_c": round(cox_ext, 4),
                "coxph_drop": round(cox_int - cox_ext, 4),
            }
        out[pair] = row
        logger.info("%s: %s", pair, row)
    return out


def pooled(rows: dict[str, dict[str, Any]], model: str) -> float:
    """Event-weighted mean of a model's per-type Harrell C."""
    scores = [r[model]["c_index"] for r in rows.values()]
    weights = [r["events_test"] for r in rows.values()]
    return float(np.average(scores, weights=weights))
