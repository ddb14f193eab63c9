"""Loaders of the portrait cohorts: each reads one source table and maps it to the vocabulary.

Each loader returns the vocabulary columns that cohort carries (others NaN = masked), plus
``time_months``, ``event`` (1 = event) and ``source_row`` (the row's position in the source table,
for spot checks). The registry with each cohort's source, licence, endpoint and time zero is
:mod:`inference.training.portrait_cohorts`.

SurvSet (GPL-3.0) and pandas are imported here only; nothing the app imports touches this module.
SurvSet datasets are read from the installed wheel (``SurvLoader``), never downloaded.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from inference.portrait.vocabulary import FEATURE_NAMES, ecog_from_karnofsky

DAYS_PER_MONTH = 365.25 / 12
#: SurvSet codes shared by the portrait and the RCT loaders (one table, one mapping).
#: rott2 ``fac_tsize`` (the source's own ">20-50mmm" spelling) -> T category.
ROTTERDAM_SIZE_T = {"<=20mm": 1.0, ">20-50mmm": 2.0, ">50mm": 3.0}
#: GBSG2 ``fac_tgrade`` -> histologic grade.
GBSG2_GRADE = {"I": 1.0, "II": 2.0, "III": 3.0}
#: Byar prostate ``fac_pf`` (activity) -> ECOG performance status.
BYAR_ACTIVITY_ECOG = {
    "normal activity": 0.0,
    "in bed < 50% daytime": 2.0,
    "in bed > 50% daytime": 3.0,
    "confined to bed": 4.0,
}


def _ynum(series: pd.Series, yes: object) -> pd.Series:
    return (series == yes).astype(float)


def survset_table(name: str) -> pd.DataFrame:
    """One SurvSet table from the installed wheel, rows numbered from 0 (also the RCT loaders')."""
    from SurvSet.data import SurvLoader  # GPL-3.0, training extra

    frame = SurvLoader().load_dataset(name)["df"]
    return frame.reset_index(drop=True)


def _frame(source: pd.DataFrame, time_months: pd.Series, event: pd.Series) -> pd.DataFrame:
    out = pd.DataFrame(index=source.index, columns=list(FEATURE_NAMES), dtype=float)
    out["time_months"] = time_months.astype(float)
    out["event"] = (event.astype(float) > 0).astype(float)
    out["source_row"] = np.arange(len(source))
    return out


def _n_from_count(nodes: pd.Series) -> pd.Series:
    """AJCC pN category of breast cancer from the count of positive axillary nodes."""
    return pd.cut(nodes, [-1, 0, 3, 9, 1000], labels=[0, 1, 2, 3]).astype(float)


def t_from_size_mm(size: pd.Series) -> pd.Series:
    """AJCC breast T by size alone (T1 <= 20 mm, T2 <= 50 mm, T3 > 50 mm)."""
    return pd.cut(size, [-1, 20, 50, 10_000], labels=[1, 2, 3]).astype(float)


def ecog_from_kps(kps: pd.Series) -> pd.Series:
    """ECOG from Karnofsky through the published table; a missing or zero Karnofsky is NaN."""
    return kps.map(lambda v: float(ecog_from_karnofsky(v)) if v == v and v > 0 else math.nan)


# --- breast -------------------------------------------------------------------------------------


def load_metabric(data: Path) -> pd.DataFrame:
    folder = data / "metabric-cbioportal"
    clinical = pd.read_csv(folder / "metabric_clinical.tsv", sep="\t")
    survival = pd.read_csv(folder / "metabric_survival.tsv", sep="\t")
    src = clinical.merge(survival, on="patientId", how="inner", validate="one_to_one")
    src = src[src["time"] > 0].reset_index(drop=True)
    out = _frame(src, src["time"] / DAYS_PER_MONTH, src["event"])
    out["age_years"] = src["AGE_AT_DIAGNOSIS"]
    out["sex_female"] = 1.0
    meno = src["INFERRED_MENOPAUSAL_STATE"]
    out["postmenopausal"] = np.where(meno.isna(), np.nan, (meno == "Post").astype(float))
    nodes = src["LYMPH_NODES_EXAMINED_POSITIVE"]
    out["nodes_positive"] = nodes
    out["n_category"] = _n_from_count(nodes)
    out["nottingham_prognostic_index"] = src["NPI"]
    er = src["ER_IHC"]
    out["er_positive"] = np.where(er.isna(), np.nan, er.str.startswith("Pos").astype(float))
    her2 = src["HER2_SNP6"]
    out["her2_positive"] = np.where(
        her2.isin(["GAIN", "NEUTRAL", "LOSS"]), (her2 == "GAIN").astype(float), np.nan
    )
    for column, field_name in (
        ("CHEMOTHERAPY", "chemotherapy"),
        ("HORMONE_THERAPY", "endocrine_therapy"),
        ("RADIO_THERAPY", "radiotherapy"),
    ):
        values = src[column]
        out[field_name] = np.where(values.isna(), np.nan, (values == "YES").astype(float))
    out["source_row"] = src.index
    return out


def load_rotterdam(_: Path) -> pd.DataFrame:
    src = survset_table("rott2")
    out = _frame(src, src["time"], src["event"])  # rott2 time is in months
    out["age_years"] = src["num_age"]
    out["sex_female"] = 1.0
    out["postmenopausal"] = _ynum(src["fac_meno"], "post")
    out["t_category"] = src["fac_tsize"].map(ROTTERDAM_SIZE_T)
    out["grade"] = src["fac_grade"].astype(float)
    out["nodes_positive"] = src["num_nodes"]
    out["n_category"] = _n_from_count(src["num_nodes"])
    out["er_positive"] = (src["num_estrogen"] >= 10).astype(float)
    out["pr_positive"] = (src["num_progesterone"] >= 10).astype(float)
    out["endocrine_therapy"] = _ynum(src["fac_hormon"], "yes")
    out["chemotherapy"] = _ynum(src["fac_chemo"], "yes")
    return out


def load_gbsg2(_: Path) -> pd.DataFrame:
    src = survset_table("GBSG2")
    out = _frame(src, src["time"] / DAYS_PER_MONTH, src["event"])
    out["age_years"] = src["num_age"]
    out["sex_female"] = 1.0
    out["postmenopausal"] = _ynum(src["fac_menostat"], "Post")
    out["tumour_size_mm"] = src["num_tsize"]
    out["t_category"] = t_from_size_mm(src["num_tsize"])
    out["grade"] = src["fac_tgrade"].map(GBSG2_GRADE)
    out["nodes_positive"] = src["num_pnodes"]
    out["n_category"] = _n_from_count(src["num_pnodes"])
    out["er_positive"] = (src["num_estrec"] >= 10).astype(float)
    out["pr_positive"] = (src["num_progrec"] >= 10).astype(float)
    out["endocrine_therapy"] = _ynum(src["fac_horTh"], "yes")
    return out


def load_tcga(data: Path, code: str, cancer_type: str) -> pd.DataFrame:
    folder = data / "tcga-survpath-pathways" / "datasets_csv"
    meta = pd.read_csv(folder / "metadata" / f"tcga_{code}.csv")
    meta = meta.drop_duplicates("case_id").drop(columns=meta.columns[0])
    clinical = pd.read_csv(folder / "clinical_data" / f"tcga_{code}_clinical.csv")
    clinical = clinical.drop_duplicates("case_id")[["case_id", "stage", "grade"]]
    src = meta.merge(clinical, on="case_id", how="left").reset_index(drop=True)
    src = src[src["survival_months"] > 0].reset_index(drop=True)
    out = _frame(src, src["survival_months"], 1 - src["censorship"])
    out["age_years"] = src["age"]
    out["sex_female"] = src["is_female"].astype(float)
    stages = {"0": 0.0, "I": 1.0, "II": 2.0, "III": 3.0, "IV": 4.0}
    out["stage_group"] = src["stage"].astype(str).map(stages)
    out["advanced_stage"] = np.where(out["stage_group"].isna(), np.nan, out["stage_group"] >= 3)
    grades = {"G1": 1.0, "G2": 2.0, "G3": 3.0, "G4": 4.0}  # GX = not assessable -> missing
    out["grade"] = src["grade"].astype(str).map(grades)
    return out


# --- lung -----------------------------------------------------------------------------------------


def load_ncctg(_: Path) -> pd.DataFrame:
    src = survset_table("cancer")
    out = _frame(src, src["time"] / DAYS_PER_MONTH, src["event"])
    out["age_years"] = src["num_age"]
    out["sex_female"] = (src["fac_sex"].astype(int) == 2).astype(float)
    ecog = pd.to_numeric(src["fac_ph_ecog"], errors="coerce")  # "missing" -> NaN
    # Physician ECOG where rated, else the physician Karnofsky through the published table.
    out["ecog"] = ecog.fillna(ecog_from_kps(src["num_ph_karno"]))
    out["weight_loss_kg"] = src["num_wt_loss"] * 0.45359237  # pounds
    return out


def load_veterans(_: Path) -> pd.DataFrame:
    src = survset_table("veteran")
    out = _frame(src, src["time"] / DAYS_PER_MONTH, src["event"])
    out["age_years"] = src["num_age"]
    out["sex_female"] = 0.0  # Veterans' Administration trial: men only
    out["ecog"] = ecog_from_kps(src["num_karno"])
    out["small_cell_histology"] = (src["fac_celltype"] == "smallcell").astype(float)
    out["prior_lines"] = (src["fac_prior"].astype(int) > 0).astype(float)  # "yes" = at least one
    out["chemotherapy"] = 1.0  # both arms received chemotherapy
    return out


def _support2(disease: str) -> pd.DataFrame:
    src = survset_table("support2")
    src = src[src["fac_dzgroup"] == disease].reset_index(drop=True)
    out = _frame(src, src["time"] / DAYS_PER_MONTH, src["event"])
    out["age_years"] = src["num_age"]
    out["sex_female"] = _ynum(src["fac_sex"], "female")
    out["m_category"] = np.where(
        src["fac_ca"] == "metastatic", 1.0, np.where(src["fac_ca"] == "yes", 0.0, np.nan)
    )
    out["albumin_g_l"] = src["num_alb"] * 10.0  # g/dL
    out["bilirubin_umol_l"] = src["num_bili"] * 17.104  # mg/dL
    out["creatinine_umol_l"] = src["num_crea"] * 88.42  # mg/dL
    out["wbc_1e9_l"] = src["num_wblc"]  # 10^3/uL
    out["sodium_mmol_l"] = src["num_sod"]
    out["source_row"] = src.index
    return out


def load_support2_lung(_: Path) -> pd.DataFrame:
    return _support2("Lung Cancer")


def load_support2_colon(_: Path) -> pd.DataFrame:
    return _support2("Colon Cancer")


# --- other solid tumours ----------------------------------------------------------------------


def load_colon_trial(_: Path) -> pd.DataFrame:
    src = survset_table("colon")
    out = _frame(src, src["time"] / DAYS_PER_MONTH, src["event"])
    out["age_years"] = src["num_age"]
    out["sex_female"] = (src["fac_sex"].astype(int) == 0).astype(float)
    out["grade"] = pd.to_numeric(src["fac_differ"], errors="coerce")
    nodes = src["num_nodes"]
    out["nodes_positive"] = nodes
    # Dukes B/C trial: node-positive resected colon cancer is AJCC stage III, node-negative II.
    out["stage_group"] = np.where(nodes.isna(), np.nan, np.where(nodes > 0, 3.0, 2.0))
    out["advanced_stage"] = np.where(nodes.isna(), np.nan, (nodes > 0).astype(float))
    out["n_category"] = pd.cut(nodes, [-1, 0, 3, 1000], labels=[0, 1, 2]).astype(float)
    out["chemotherapy"] = (src["fac_rx"] == "Lev+5FU").astype(float)
    return out


def load_prostate_byar(_: Path) -> pd.DataFrame:
    src = survset_table("prostate")
    out = _frame(src, src["time"], src["event"])  # months
    out["age_years"] = src["num_age"]
    out["sex_female"] = 0.0
    out["stage_group"] = src["fac_stage"].astype(float)  # VACURG stage 3 / 4 -> III / IV
    out["advanced_stage"] = 1.0
    out["m_category"] = src["fac_bm"].astype(float)  # bone metastases
    out["ecog"] = src["fac_pf"].map(BYAR_ACTIVITY_ECOG)
    out["haemoglobin_g_l"] = src["num_hg"] * 10.0  # g/100 mL
    out["endocrine_therapy"] = (src["fac_rx"] != "placebo").astype(float)  # oestrogen arms
    return out


def load_melanoma(_: Path) -> pd.DataFrame:
    src = survset_table("Melanoma")
    out = _frame(src, src["time"] / DAYS_PER_MONTH, src["event"])
    out["age_years"] = src["num_age"]
    out["sex_female"] = (src["fac_sex"].astype(int) == 0).astype(float)
    out["breslow_thickness_mm"] = src["num_thickness"]
    out["ulceration"] = src["fac_ulcer"].astype(float)
    thickness = src["num_thickness"]
    out["t_category"] = pd.cut(thickness, [-1, 1, 2, 4, 1000], labels=[1, 2, 3, 4]).astype(float)
    return out


def load_ovarian(_: Path) -> pd.DataFrame:
    src = survset_table("ova")
    out = _frame(src, src["time"] / DAYS_PER_MONTH, src["event"])
    out["stage_group"] = src["fac_figo"].astype(float) + 3.0  # FIGO III (0) / IV (1)
    out["advanced_stage"] = 1.0
    out["m_category"] = src["fac_figo"].astype(float)
    out["sex_female"] = 1.0
    return out


def load_hcc(_: Path) -> pd.DataFrame:
    src = survset_table("hepatoCellular")
    out = _frame(src, src["time"], src["event"])  # months
    out["age_years"] = src["num_Age"]
    out["sex_female"] = (src["fac_Gender"].astype(int) == 0).astype(float)
    out["advanced_stage"] = (src["fac_TNM"].astype(int) == 2).astype(float)  # I-II / III-IV
    out["vascular_invasion"] = src["fac_Vascularinvasion"].astype(float)
    out["cirrhosis"] = src["fac_Cirrhosis"].astype(float)
    return out


def load_follicular(_: Path) -> pd.DataFrame:
    src = survset_table("follic")
    out = _frame(src, src["time"] * 12.0, src["event"])  # years
    out["age_years"] = src["num_age"]
    out["stage_group"] = src["fac_clinstg"].astype(float)  # Ann Arbor I / II
    out["advanced_stage"] = 0.0
    out["haemoglobin_g_l"] = src["num_hgb"]  # already g/L
    out["chemotherapy"] = _ynum(src["fac_ch"], "Y")
    out["radiotherapy"] = 1.0
    return out


def load_oropharynx(_: Path) -> pd.DataFrame:
    src = survset_table("d.oropha.rec")
    out = _frame(src, src["time"] * 12.0, src["event"])  # years
    out["age_years"] = src["num_age"]
    out["sex_female"] = (src["fac_sex"].astype(int) == 2).astype(float)
    out["grade"] = src["fac_grade"].astype(float)
    out["t_category"] = src["num_tstage"].astype(float)
    out["n_category"] = src["num_nstage"].astype(float)
    # Condition: 1 no disability, 2 restricted work, 3 needs help with self-care, 4 bed confined.
    out["ecog"] = src["num_cond"].map({1: 0.0, 2: 1.0, 3: 3.0, 4: 4.0})
    out["radiotherapy"] = 1.0
    return out


def load_leukaemia(_: Path) -> pd.DataFrame:
    src = survset_table("LeukSurv")
    out = _frame(src, src["time"] / DAYS_PER_MONTH, src["event"])
    out["age_years"] = src["num_age"]
    out["sex_female"] = (src["fac_sex"].astype(str) == "0").astype(float)
    out["wbc_1e9_l"] = src["num_wbc"]
    return out
