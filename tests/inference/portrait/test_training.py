"""Training on a small synthetic table: splits, stage constraint, Breslow baselines, bootstrap."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from inference.portrait.model import stratum_key
from inference.portrait.vocabulary import FEATURE_NAMES
from inference.training.portrait_train import (
    GRID_MONTHS,
    TrainSettings,
    assign_splits,
    bootstrap_replicates,
    breslow,
    build_model,
    raw_features,
)


def _table(seed: int = 0, n: int = 240) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(np.nan, index=range(n), columns=list(FEATURE_NAMES))
    frame["age_years"] = rng.uniform(30, 80, n)
    frame["stage_group"] = rng.integers(1, 5, n).astype(float)
    # Stage made *protective* on purpose: the constraint must still keep its weight >= 0.
    hazard = np.exp(0.04 * (frame["age_years"] - 55) - 0.5 * frame["stage_group"])
    frame["time_months"] = rng.exponential(24.0 / hazard)
    frame["event"] = (rng.uniform(size=n) < 0.7).astype(float)
    frame["cohort"] = np.where(np.arange(n) % 2, "cohort-a", "cohort-b")
    frame["cancer_type"] = np.where(np.arange(n) % 2, "BRCA", "LUNG")
    return frame


def test_splits_are_fixed_by_seed_and_stratified_per_cohort() -> None:
    frame = _table()
    first, again = assign_splits(frame), assign_splits(frame)
    assert first.equals(again)
    for _, rows in frame.groupby("cohort").groups.items():
        shares = first.loc[rows].value_counts(normalize=True)
        assert shares["train"] == pytest.approx(0.6, abs=0.03)


@pytest.mark.parametrize("type_shapes", [False, True])
def test_stage_weights_stay_non_negative_even_against_the_data(type_shapes: bool) -> None:
    frame = _table()
    frame["split"] = assign_splits(frame)
    model = build_model(frame, TrainSettings(epochs=40, type_shapes=type_shapes))
    net = model.net
    j = FEATURE_NAMES.index("stage_group")
    totals = (net.shared[j] + net.deviation[:, j]).detach().numpy()
    assert (totals >= -1e-6).all()
    assert {"cohort-a", "cohort-b"} <= set(model.bundle.baselines)
    for hazard in map(np.asarray, model.bundle.baselines.values()):
        assert (np.diff(hazard) >= 0).all() and hazard[0] == 0.0


def test_a_stage_stratum_gets_the_breslow_baseline_of_its_own_training_patients() -> None:
    frame = _table(n=400)
    frame["split"] = assign_splits(frame)
    model = build_model(frame, TrainSettings(epochs=20))
    train = frame[frame["split"] == "train"].reset_index(drop=True)
    counts = train.groupby(["cohort", "stage_group"]).size()
    expected = {stratum_key(str(c), int(s)) for (c, s), n in counts.items() if n >= 20}
    assert expected and set(model.bundle.baselines) == {"cohort-a", "cohort-b"} | expected
    rows = train[(train["cohort"] == "cohort-a") & (train["stage_group"] == 4)]
    risk = model.risk(raw_features(rows), list(rows["cancer_type"]))
    own = breslow(rows["time_months"].to_numpy(), rows["event"].to_numpy(), risk, GRID_MONTHS)
    assert np.allclose(model.bundle.baselines[stratum_key("cohort-a", 4)], own)


def test_breslow_matches_nelson_aalen_without_covariates() -> None:
    times = np.array([1.0, 2.0, 2.0, 3.0, 5.0])
    events = np.array([1.0, 1.0, 0.0, 1.0, 0.0])
    cumulative = breslow(times, events, np.zeros(5), np.array([0.0, 1.0, 2.5, 4.0]))
    assert cumulative == pytest.approx([0.0, 1 / 5, 1 / 5 + 1 / 4, 1 / 5 + 1 / 4 + 1 / 2])


def test_bootstrap_refits_differ_keep_the_main_scaling_and_leave_the_main_model_alone() -> None:
    frame = _table()
    frame["split"] = assign_splits(frame)
    settings = TrainSettings(epochs=40)
    main = build_model(frame, settings)
    shared_before = main.net.shared.detach().clone()
    replicates = bootstrap_replicates(frame, settings, main, count=3)
    assert len(replicates.nets) == 3
    assert all(net.config == main.bundle.config for net in replicates.nets)
    assert not np.allclose(
        replicates.nets[0].shared.detach().numpy(), replicates.nets[1].shared.detach().numpy()
    )
    assert (main.net.shared.detach() == shared_before).all()
    # Every baseline gets its replicates: a case may be drawn on any cohort or stratum of its type.
    assert set(replicates.hazards) == set(main.bundle.baselines)
    for hazards in replicates.hazards.values():
        assert hazards.shape == (3, len(main.bundle.grid_months))
        assert (np.diff(hazards, axis=1) >= 0).all() and (hazards[:, 0] == 0.0).all()
    # Same seeds, same refits: the checkpoint can be rebuilt.
    again = bootstrap_replicates(frame, settings, main, count=3)
    assert np.array_equal(again.hazards["cohort-a"], replicates.hazards["cohort-a"])


def test_the_bundle_holds_each_cohorts_training_stage_counts_and_type() -> None:
    frame = _table()
    frame["split"] = assign_splits(frame)
    model = build_model(frame, TrainSettings(epochs=5))
    train = frame[frame["split"] == "train"]
    for cohort, rows in train.groupby("cohort"):
        counts = model.bundle.stage_counts[str(cohort)]
        assert sum(counts.values()) == len(rows) == model.bundle.training_rows[str(cohort)]
        assert counts["4"] == int((rows["stage_group"] == 4).sum())
    assert model.bundle.cohort_facts["cohort-a"] == {"cancer_type": "BRCA"}  # not registered
