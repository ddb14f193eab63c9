"""Fit a trial's treatment-aware Cox model (:class:`inference.therapy.rct_model.TrialModel`).

A penalised Newton-Raphson on the Breslow partial likelihood, written out here (rather than
lifelines) because the penalty must fall on the interactions only: the main effects and the arm
effects stay unpenalised, so the average treatment effect is not shrunk towards no effect. The
interaction penalty is chosen from :data:`PENALTIES` by five-fold cross-validated partial
likelihood (Verweij & van Houwelingen, Stat Med 1993) on the training half only.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from inference.therapy.rct_model import LOG1P_FIELDS, CovariateScale, FloatArray, TrialModel
from inference.therapy.trials_rct import Trial

PENALTIES = (1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0)
FOLDS = 5
#: Ridge weight that holds an interaction left out of ``modifiers`` at zero (|coef| < 1e-7).
EXCLUDED = 1e9


def covariate_scales(trial: Trial, train: pd.DataFrame) -> tuple[CovariateScale, ...]:
    """Fill value, centre and scale of each covariate, from the training half."""
    out = []
    for name in trial.covariates:
        raw = train[name].astype(float)
        fill = float(raw.median()) if raw.notna().any() else 0.0
        values = raw.fillna(fill).to_numpy()
        if name in LOG1P_FIELDS:
            values = np.log1p(np.clip(values, 0.0, None))
        scale = float(values.std())
        out.append(CovariateScale(name, fill, float(values.mean()), scale if scale > 0 else 1.0))
    return tuple(out)


def standardised_matrix(scales: tuple[CovariateScale, ...], frame: pd.DataFrame) -> FloatArray:
    """(N, P) standardised covariates of a frame, missing values filled as at prediction."""
    x = np.empty((len(frame), len(scales)))
    for j, cov in enumerate(scales):
        raw = frame[cov.name].astype(float).fillna(cov.fill).to_numpy()
        x[:, j] = [cov.standardise(float(v)) for v in raw]
    return x


def design(x: FloatArray, arm_codes: np.ndarray, n_arms: int) -> FloatArray:
    """(N, P + K + K*P) design: covariates, arm indicators, arm x covariate (arm-major)."""
    n, p = x.shape
    k = n_arms - 1
    dummies = np.zeros((n, k))
    for a in range(1, n_arms):
        dummies[:, a - 1] = arm_codes == a
    inter = (dummies[:, :, None] * x[:, None, :]).reshape(n, k * p)  # (N, K*P)
    return np.concatenate([x, dummies, inter], axis=1)


def _loglik_grad_hess(
    z: FloatArray, time: FloatArray, event: FloatArray, coef: FloatArray
) -> tuple[float, FloatArray, FloatArray]:
    """Breslow partial log-likelihood, gradient and Hessian (rows sorted by time descending)."""
    eta = z @ coef
    shift = float(eta.max())
    w = np.exp(eta - shift)
    # Risk sets are the prefixes of the descending-time order; ties share the set of the largest
    # index with the same time.
    s0 = np.cumsum(w)
    s1 = np.cumsum(w[:, None] * z, axis=0)
    s2 = np.cumsum(w[:, None, None] * z[:, :, None] * z[:, None, :], axis=0)
    last = _tie_ends(time)
    s0, s1, s2 = s0[last], s1[last], s2[last]
    d = event > 0
    loglik = float((eta[d] - shift - np.log(s0[d])).sum())
    mean = s1[d] / s0[d, None]
    grad = (z[d] - mean).sum(axis=0)
    hess = -(s2[d] / s0[d, None, None] - mean[:, :, None] * mean[:, None, :]).sum(axis=0)
    return loglik, grad, hess


def _tie_ends(time_desc: FloatArray) -> np.ndarray:
    """For each row of a descending-time order, the last row with the same time."""
    n = len(time_desc)
    ends = np.empty(n, dtype=int)
    end = n - 1
    for i in range(n - 1, -1, -1):
        if i < n - 1 and time_desc[i] != time_desc[i + 1]:
            end = i
        ends[i] = end
    return ends


def fit_penalised_cox(
    z: FloatArray, time: FloatArray, event: FloatArray, penalty: FloatArray, *, iters: int = 50
) -> tuple[FloatArray, FloatArray]:
    """Penalised Cox coefficients and their approximate covariance.

    Args:
        z: (N, D) design; time, event: (N,).
        penalty: (D,) ridge weight per coefficient (0 = unpenalised).

    Returns:
        coef (D,) and covariance (D, D) = inverse penalised information.
    """
    order = np.argsort(-time, kind="stable")
    z, time, event = z[order], time[order], event[order]
    coef = np.zeros(z.shape[1])
    previous = -math.inf
    info = np.eye(z.shape[1])
    for _ in range(iters):
        loglik, grad, hess = _loglik_grad_hess(z, time, event, coef)
        objective = loglik - 0.5 * float((penalty * coef**2).sum())
        grad = grad - penalty * coef
        info = -hess + np.diag(penalty) + 1e-9 * np.eye(len(coef))
        step = np.linalg.solve(info, grad)
        # Step halving keeps the objective increasing where a full Newton step overshoots.
        for _half in range(20):
            trial = coef + step
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                new_ll = _loglik_grad_hess(z, time, event, trial)[0]
            if math.isfinite(new_ll) and (
                new_ll - 0.5 * float((penalty * trial**2).sum()) >= objective - 1e-12
            ):
                break
            step = step / 2
        coef = coef + step
        if abs(objective - previous) < 1e-9:
            break
        previous = objective
    _, _, hess = _loglik_grad_hess(z, time, event, coef)
    info = -hess + np.diag(penalty) + 1e-9 * np.eye(len(coef))
    covariance: FloatArray = np.linalg.inv(info).astype(np.float64)
    return coef, covariance


def partial_loglik(z: FloatArray, time: FloatArray, event: FloatArray, coef: FloatArray) -> float:
    order = np.argsort(-time, kind="stable")
    return _loglik_grad_hess(z[order], time[order], event[order], coef)[0]


def breslow(
    z: FloatArray, time: FloatArray, event: FloatArray, coef: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Breslow baseline cumulative hazard at the distinct event times."""
    w = np.exp(z @ coef)
    times = np.unique(time[event > 0])
    increments = np.array(
        [event[time == t].sum() / w[time >= t].sum() for t in times], dtype=np.float64
    )
    return times, np.cumsum(increments)


def _penalty_vector(
    p: int, k: int, interaction_penalty: float, modifies: np.ndarray | None = None
) -> FloatArray:
    """Zero on the main and arm effects; the ridge on the interactions (arm-major).

    ``modifies``: (P,) True for a covariate allowed to modify the effect; the others' interactions
    get :data:`EXCLUDED` (``None``: all may).
    """
    inter = np.full(k * p, interaction_penalty)
    if modifies is not None:
        inter = np.where(np.tile(modifies, k), inter, EXCLUDED)
    return np.concatenate([np.zeros(p + k), inter])


def choose_penalty(
    z: FloatArray,
    time: FloatArray,
    event: FloatArray,
    arm_codes: np.ndarray,
    p: int,
    k: int,
    modifies: np.ndarray | None = None,
) -> tuple[float, dict[float, float]]:
    """The interaction penalty with the best cross-validated partial likelihood.

    Folds are stratified by arm with a fixed seed; the score of a fold is
    ``l(beta_-k) - l_-k(beta_-k)`` (the fold's contribution to the full partial likelihood).
    """
    rng = np.random.default_rng(7)
    folds = np.empty(len(time), dtype=int)
    for arm in np.unique(arm_codes):
        rows = np.flatnonzero(arm_codes == arm)
        rng.shuffle(rows)
        folds[rows] = np.arange(len(rows)) % FOLDS
    scores: dict[float, float] = {}
    if modifies is not None and not modifies.any():
        return EXCLUDED, {}  # no interaction to tune: a common effect per arm
    for penalty in PENALTIES:
        vector = _penalty_vector(p, k, penalty, modifies)
        total = 0.0
        for fold in range(FOLDS):
            fit = folds != fold
            coef, _ = fit_penalised_cox(z[fit], time[fit], event[fit], vector)
            total += partial_loglik(z, time, event, coef) - partial_loglik(
                z[fit], time[fit], event[fit], coef
            )
        scores[penalty] = total
    return max(scores, key=lambda pen: scores[pen]), scores


def fit_trial_model(
    trial: Trial, train: pd.DataFrame, modifiers: frozenset[str] | None = None
) -> tuple[TrialModel, dict[float, float]]:
    """Fit the trial's model on its training half.

    Args:
        modifiers: covariates allowed to modify the arm effects (``None``: all of them, the
            shipped models' form; the alternatives are compared by :mod:`.rct_select`).

    Returns:
        The model and the cross-validation score of each candidate penalty.
    """
    scales = covariate_scales(trial, train)
    x = standardised_matrix(scales, train)
    codes = train["arm"].map({arm: i for i, arm in enumerate(trial.arms)}).to_numpy()
    z = design(x, codes, len(trial.arms))
    time = train["time_months"].to_numpy(dtype=np.float64)
    event = train["event"].to_numpy(dtype=np.float64)
    p, k = len(scales), len(trial.arms) - 1
    modifies = None if modifiers is None else np.array([c.name in modifiers for c in scales])
    penalty, scores = choose_penalty(z, time, event, codes, p, k, modifies)
    vector = _penalty_vector(p, k, penalty, modifies)
    coef, covariance = fit_penalised_cox(z, time, event, vector)
    times, cum_hazard = breslow(z, time, event, coef)
    model = TrialModel(
        trial_key=trial.key,
        arms=trial.arms,
        covariates=scales,
        coef=tuple(round(float(v), 8) for v in coef),
        covariance=tuple(round(float(v), 10) for v in covariance.ravel()),
        times_months=tuple(round(float(t), 4) for t in times),
        baseline_cum_hazard=tuple(round(float(h), 8) for h in cum_hazard),
        penalty=penalty,
    )
    return model, scores
