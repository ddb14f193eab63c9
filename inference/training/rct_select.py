"""Choose the colon models' form by cross-validated c-for-benefit on the training half only.

``python -m inference.training.rct_select`` compares :data:`CANDIDATES` (covariates and the
covariates allowed to modify the arm effects) on each colon endpoint's training half: five-fold
cross-validation stratified by arm, repeated :data:`REPEATS` times with fixed seeds; every fold's
model is fitted exactly as :func:`inference.training.rct_fit.fit_trial_model` fits the shipped one
(interaction ridge chosen by inner cross-validated partial likelihood); the out-of-fold predicted
benefits (survival gain at the horizon) of the whole training half are pooled and scored with
:func:`inference.training.rct_validate.c_for_benefit` on Lev+5FU vs Obs. The candidate with the
best mean over repeats, summed over the two endpoints, is the registry's
(``trials_rct.COLON_COVARIATES``, all covariates as modifiers). The held-out half is never
loaded here. About 4-5 minutes on one core.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging

import numpy as np
import pandas as pd

from inference.therapy.trials_rct import Trial
from inference.training.rct_cohorts import held_out_split, load_trial
from inference.training.rct_fit import FOLDS, fit_trial_model, standardised_matrix
from inference.training.rct_validate import c_for_benefit, predicted_survival_at

logger = logging.getLogger(__name__)

ENDPOINTS = ("colon", "colon-recurrence")
REPEATS = 5
BASE = ("age_years", "sex_female", "grade", "nodes_positive")
WITH_T = (*BASE, "t_category")
#: name -> (covariates, effect modifiers). ``no-int``: one common hazard ratio per arm, so the
#: predicted benefit varies with baseline risk only (risk-based, "effect anchored on the trial").
CANDIDATES: dict[str, tuple[tuple[str, ...], frozenset[str]]] = {
    "base4 all-int": (BASE, frozenset(BASE)),
    "base4+T all-int": (WITH_T, frozenset(WITH_T)),
    "base4+T no-int": (WITH_T, frozenset()),
    "base4+T int nodes,T,grade": (WITH_T, frozenset({"nodes_positive", "t_category", "grade"})),
    "base4+T int nodes,T": (WITH_T, frozenset({"nodes_positive", "t_category"})),
    "base4 no-int": (BASE, frozenset()),
}


def _folds(arms: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    folds = np.empty(len(arms), dtype=int)
    for arm in np.unique(arms):
        rows = np.flatnonzero(arms == arm)
        rng.shuffle(rows)
        folds[rows] = np.arange(len(rows)) % FOLDS
    return folds


def cv_c_for_benefit(
    trial: Trial, train: pd.DataFrame, modifiers: frozenset[str], seed: int
) -> float | None:
    """Pooled out-of-fold c-for-benefit of Lev+5FU vs Obs on the training half (one repeat)."""
    contrast = trial.contrasts[0]
    horizon = trial.horizon_months
    folds = _folds(train["arm"].to_numpy(), seed)
    benefit = np.empty(len(train))
    for fold in range(FOLDS):
        inside = folds == fold
        model, _ = fit_trial_model(trial, train[~inside].reset_index(drop=True), modifiers)
        x = standardised_matrix(model.covariates, train[inside])
        s_control, s_treated, _ = predicted_survival_at(model, x, contrast, horizon)
        benefit[inside] = s_treated - s_control
    time = train["time_months"].to_numpy(dtype=np.float64)
    event = train["event"].to_numpy(dtype=np.float64) > 0
    two = train["arm"].isin([contrast.treatment_arm, contrast.control_arm]).to_numpy()
    known = two & ((event & (time <= horizon)) | (time >= horizon))
    outcome = (event & (time <= horizon)).astype(float)
    treated = (train["arm"] == contrast.treatment_arm).to_numpy()
    return c_for_benefit(benefit[known], treated[known], outcome[known])[0]


def select() -> dict[str, dict[str, list[float | None]]]:
    """CV c-for-benefit per candidate and endpoint (one value per repeat)."""
    scores: dict[str, dict[str, list[float | None]]] = {name: {} for name in CANDIDATES}
    for key in ENDPOINTS:
        registry, frame = load_trial(key)
        train = frame[~held_out_split(frame)].reset_index(drop=True)
        for name, (covariates, modifiers) in CANDIDATES.items():
            trial = dataclasses.replace(registry, covariates=covariates)
            scores[name][key] = [
                cv_c_for_benefit(trial, train, modifiers, seed=100 + r) for r in range(REPEATS)
            ]
            logger.info("%-26s %-17s %s", name, key, scores[name][key])
    return scores


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    scores = select()
    means = {
        name: {k: float(np.mean([v for v in values if v is not None])) for k, values in by.items()}
        for name, by in scores.items()
    }
    for name, by in means.items():
        logger.info("%-26s %s", name, "  ".join(f"{k} {v:.4f}" for k, v in by.items()))
    best = max(means, key=lambda name: sum(means[name].values()))
    logger.info("chosen: %s", best)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
