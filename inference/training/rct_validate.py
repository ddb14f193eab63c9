"""Held-out checks of the trial models against the arms and the published effects.

For each randomised contrast, on the trial's held-out half:

* the model's average hazard ratio: the geometric mean of the patients' own hazard ratios
  (treated vs control) over the held-out patients of the two arms;
* the arm-only Cox estimate on the same patients with its 95% CI (lifelines, the reference);
* absolute benefit at the trial's horizon: predicted survival difference (mean over patients) vs
  the Kaplan-Meier difference between the arms;
* c-for-benefit (van Klaveren et al., J Clin Epidemiol 2018;94:59-68): treated and control
  patients with a known status at the horizon are matched 1:1 on predicted benefit (rank
  matching; the larger arm is thinned to evenly spaced ranks); a pair's observed benefit is the
  control's event minus the treated patient's event (-1, 0, 1) and its predicted benefit the mean
  of the two; the C is the concordance of the two over pairs of pairs with different observed
  benefit;
* observed vs predicted benefit by quintile of predicted benefit.

The transport check fits the same model on the Rotterdam cohort (hormone therapy by choice) and
asks whether it reproduces GBSG2's arm contrast, next to the unadjusted Rotterdam estimate.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from inference.survival.kaplan_meier import kaplan_meier_at
from inference.therapy.rct_model import FloatArray, TrialModel
from inference.therapy.rct_whatif import MIN_EVENTS, ContrastValidation
from inference.therapy.trials_rct import Contrast, Trial
from inference.training.rct_fit import standardised_matrix


def arm_cox(frame: pd.DataFrame, contrast: Contrast) -> tuple[float, float, float]:
    """Arm-only Cox hazard ratio of treated vs control with its 95% CI (lifelines)."""
    from lifelines import CoxPHFitter

    data = pd.DataFrame(
        {
            "treated": (frame["arm"] == contrast.treatment_arm).astype(float),
            "T": frame["time_months"],
            "E": frame["event"],
        }
    )
    fit = CoxPHFitter().fit(data, "T", "E")
    coef = float(fit.params_["treated"])
    se = float(fit.standard_errors_["treated"])
    return math.exp(coef), math.exp(coef - 1.96 * se), math.exp(coef + 1.96 * se)


def predicted_survival_at(
    model: TrialModel, x: FloatArray, contrast: Contrast, horizon: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Per patient: survival at the horizon under control and treatment, and the log HR."""
    lp = model.linear_predictors(x, model.point())[0]  # (N, K+1)
    control, treated = (
        model.arm_index(contrast.control_arm),
        model.arm_index(contrast.treatment_arm),
    )
    s = model.survival(lp[:, [control, treated]], [horizon])[..., 0]  # (N, 2)
    return s[:, 0], s[:, 1], lp[:, treated] - lp[:, control]


def c_for_benefit(
    benefit: FloatArray, treated: np.ndarray, outcome: FloatArray
) -> tuple[float | None, int]:
    """van Klaveren's c-for-benefit with rank matching (see the module docstring).

    Args:
        benefit: predicted absolute benefit (survival gain) per patient.
        treated: True for the treatment arm.
        outcome: 1 = event by the horizon, 0 = event-free at the horizon.

    Returns:
        The C (``None`` with fewer than 10 pairs) and the number of matched pairs.
    """
    t_rows = np.flatnonzero(treated)[np.argsort(benefit[treated], kind="stable")]
    c_rows = np.flatnonzero(~treated)[np.argsort(benefit[~treated], kind="stable")]
    m = min(len(t_rows), len(c_rows))
    if m < 10:
        return None, m

    def thin(rows: np.ndarray) -> np.ndarray:
        return rows[np.round(np.linspace(0, len(rows) - 1, m)).astype(int)]

    t_rows, c_rows = thin(t_rows), thin(c_rows)
    observed = outcome[c_rows] - outcome[t_rows]  # (m,) in {-1, 0, 1}
    predicted = (benefit[c_rows] + benefit[t_rows]) / 2.0
    diff_obs = observed[:, None] - observed[None, :]
    diff_pred = predicted[:, None] - predicted[None, :]
    comparable = diff_obs > 0
    concordant = (diff_pred > 0) & comparable
    ties = (diff_pred == 0) & comparable
    total = int(comparable.sum())
    if total == 0:
        return None, m
    return float((concordant.sum() + 0.5 * ties.sum()) / total), m


BOOTSTRAP = 500
BOOTSTRAP_SEED = 2018


def c_for_benefit_interval(
    benefit: FloatArray, treated: np.ndarray, outcome: FloatArray
) -> tuple[float, float] | None:
    """Percentile 95% bootstrap interval of :func:`c_for_benefit` (patients resampled per arm)."""
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    arms = (np.flatnonzero(treated), np.flatnonzero(~treated))
    values = []
    for _ in range(BOOTSTRAP):
        rows = np.concatenate([rng.choice(arm, size=len(arm)) for arm in arms])
        c, _ = c_for_benefit(benefit[rows], treated[rows], outcome[rows])
        if c is not None:
            values.append(c)
    if len(values) < BOOTSTRAP // 2:
        return None
    low, high = np.quantile(values, [0.025, 0.975])
    return round(float(low), 4), round(float(high), 4)


def benefit_by_quintile(
    frame: pd.DataFrame, benefit: FloatArray, contrast: Contrast, horizon: float
) -> list[dict[str, float | None]]:
    """Predicted vs Kaplan-Meier observed survival difference at the horizon per quintile."""
    edges = np.quantile(benefit, [0.2, 0.4, 0.6, 0.8])
    group = np.searchsorted(edges, benefit, side="right")
    time = frame["time_months"].to_numpy(dtype=np.float64)
    event = frame["event"].to_numpy(dtype=np.float64)
    treated = (frame["arm"] == contrast.treatment_arm).to_numpy()
    rows = []
    for q in range(5):
        inside = group == q
        t, c = inside & treated, inside & ~treated
        observed = (
            kaplan_meier_at(time[t], event[t], horizon)
            - kaplan_meier_at(time[c], event[c], horizon)
            if t.sum() >= 3 and c.sum() >= 3
            else math.nan
        )
        predicted = float(benefit[inside].mean()) if inside.any() else math.nan
        rows.append(
            {
                "quintile": q + 1,
                "n": int(inside.sum()),
                # None where a quintile is empty (tied predictions) or an arm has < 3 patients
                "predicted": None if math.isnan(predicted) else round(predicted, 4),
                "observed": None if math.isnan(observed) else round(observed, 4),
            }
        )
    return rows


def validate_contrast(
    trial: Trial, contrast: Contrast, model: TrialModel, held_out: pd.DataFrame
) -> tuple[ContrastValidation, dict[str, Any]]:
    """The held-out check of one contrast; returns the verdict and the detailed figures."""
    two_arms = held_out[held_out["arm"].isin([contrast.treatment_arm, contrast.control_arm])]
    two_arms = two_arms.reset_index(drop=True)
    events = int(two_arms["event"].sum())
    hr, low, high = arm_cox(two_arms, contrast)
    x = standardised_matrix(model.covariates, two_arms)
    horizon = trial.horizon_months
    s_control, s_treated, log_hr = predicted_survival_at(model, x, contrast, horizon)
    average_hr = float(np.exp(log_hr.mean()))
    benefit = s_treated - s_control
    time = two_arms["time_months"].to_numpy(dtype=np.float64)
    event = two_arms["event"].to_numpy(dtype=np.float64)
    treated = (two_arms["arm"] == contrast.treatment_arm).to_numpy()
    known = (event > 0) & (time <= horizon) | (time >= horizon)
    outcome = ((event > 0) & (time <= horizon)).astype(float)
    cfb, pairs = c_for_benefit(benefit[known], treated[known], outcome[known])
    cfb_ci = (
        None
        if cfb is None
        else c_for_benefit_interval(benefit[known], treated[known], outcome[known])
    )
    observed_difference = kaplan_meier_at(time[treated], event[treated], horizon) - kaplan_meier_at(
        time[~treated], event[~treated], horizon
    )
    reasons = []
    if trial.randomised is None:
        reasons.append("the arms were not randomised")
    if events < MIN_EVENTS:
        reasons.append(f"{events} held-out events (< {MIN_EVENTS})")
    if not low <= average_hr <= high:
        reasons.append(
            f"model average HR {average_hr:.2f} outside the held-out 95% CI {low:.2f}-{high:.2f}"
        )
    published = contrast.published
    if published.significant and average_hr >= 1.0:
        reasons.append(f"model average HR {average_hr:.2f} misses the published benefit")
    validation = ContrastValidation(
        contrast_key=contrast.key,
        trial_key=trial.key,
        cancer_type=trial.cancer_type,
        treatment_class=contrast.treatment_class,
        validated=not reasons,
        reason="; ".join(reasons),
        n_held_out=len(two_arms),
        events_held_out=events,
        model_average_hr=round(average_hr, 4),
        held_out_hr=round(hr, 4),
        held_out_ci95=(round(low, 4), round(high, 4)),
        published=f"{published.statement} ({published.source})",
        c_for_benefit=None if cfb is None else round(cfb, 4),
    )
    details = {
        "predicted_difference_at_horizon": round(float(benefit.mean()), 4),
        "observed_km_difference_at_horizon": round(observed_difference, 4),
        "horizon_months": horizon,
        "c_for_benefit_pairs": pairs,
        "c_for_benefit_ci95": cfb_ci,
        "quintiles": benefit_by_quintile(two_arms, benefit, contrast, horizon),
        "direction_ok": (average_hr < 1.0) if published.significant else None,
        "inside_ci": bool(low <= average_hr <= high),
        "checkable": trial.randomised is not None and events >= MIN_EVENTS,
        "published_hr": published.hazard_ratio,
        "published_significant": published.significant,
    }
    return validation, details


def transport(
    rotterdam: Trial,
    rott_frame: pd.DataFrame,
    gbsg2: Trial,
    gbsg2_frame: pd.DataFrame,
    model: TrialModel,
) -> dict[str, Any]:
    """Rotterdam (observational) -> GBSG2 (randomised in part): hormone therapy.

    Args:
        model: the treatment-aware model fitted on the whole Rotterdam cohort.

    Returns:
        The naive (arm-only) Rotterdam HR, the adjusted model's average HR over the GBSG2
        patients, and GBSG2's arm-only HR with its 95% CI, with the verdicts.
    """
    rott_contrast = Contrast(
        key="rotterdam-hormone-vs-none",
        treatment_arm=rotterdam.arms[1],
        control_arm=rotterdam.arms[0],
        treatment_class="endocrine",
        published=gbsg2.contrasts[0].published,
    )
    naive, naive_low, naive_high = arm_cox(rott_frame, rott_contrast)
    gbsg_contrast = gbsg2.contrasts[0]
    target, low, high = arm_cox(gbsg2_frame, gbsg_contrast)
    # GBSG2 patients all received adjuvant CMF chemotherapy (the 2 x 2 design's other factor).
    patients = gbsg2_frame.assign(chemotherapy=1.0)
    x = standardised_matrix(model.covariates, patients)
    lp = model.linear_predictors(x, model.point())[0]
    adjusted = float(np.exp((lp[:, 1] - lp[:, 0]).mean()))
    return {
        "rotterdam_naive_hr": [round(naive, 4), round(naive_low, 4), round(naive_high, 4)],
        "rotterdam_adjusted_model_average_hr_on_gbsg2": round(adjusted, 4),
        "gbsg2_arm_hr": [round(target, 4), round(low, 4), round(high, 4)],
        "naive_inside_gbsg2_ci": bool(low <= naive <= high),
        "adjusted_inside_gbsg2_ci": bool(low <= adjusted <= high),
        "confounding_removed": bool(low <= adjusted <= high and not low <= naive <= high),
        "endpoints": "Rotterdam: death from any cause; GBSG2: recurrence-free survival",
        "covariates": [c.name for c in model.covariates],
    }
