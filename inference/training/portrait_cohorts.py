"""Real survival cohorts harmonised into the portrait vocabulary (training side only).

Each loader returns one table: the vocabulary columns that cohort carries (others NaN = masked),
plus ``time_months``, ``event`` (1 = event), ``cohort``, ``cancer_type`` (OncoTree code) and
``source_row`` (the row's position in the source table, for spot checks). The mapping of every
cohort is written down in :data:`COHORTS` and repeated in the model card.

SurvSet (GPL-3.0) and pandas are imported here only; nothing the app imports touches this module.
SurvSet datasets are read from the installed wheel (``SurvLoader``), never downloaded.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from inference.portrait.vocabulary import FEATURE_NAMES, ecog_from_karnofsky

DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True)
class CohortSpec:
    """Where a cohort comes from and how it is mapped.

    Attributes:
        name: short cohort id.
        cancer_type: OncoTree code the cohort is filed under.
        source: package or repository and table.
        licence: licence of the data as distributed.
        non_commercial: True when the licence forbids commercial use.
        outcome: the endpoint and its time zero.
        mapping: source column -> vocabulary field, with units and conversions.
    """

    name: str
    cancer_type: str
    source: str
    licence: str
    non_commercial: bool
    outcome: str
    mapping: str


def _ynum(series: pd.Series, yes: object) -> pd.Series:
    return (series == yes).astype(float)


def _survset(name: str) -> pd.DataFrame:
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


def _t_from_size_mm(size: pd.Series) -> pd.Series:
    """AJCC breast T by size alone (T1 <= 20 mm, T2 <= 50 mm, T3 > 50 mm)."""
    return pd.cut(size, [-1, 20, 50, 10_000], labels=[1, 2, 3]).astype(float)


def _ecog_from_kps(kps: pd.Series) -> pd.Series:
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
    src = _survset("rott2")
    out = _frame(src, src["time"], src["event"])  # rott2 time is in months
    out["age_years"] = src["num_age"]
    out["sex_female"] = 1.0
    out["postmenopausal"] = _ynum(src["fac_meno"], "post")
    sizes = {"<=20mm": 1.0, ">20-50mmm": 2.0, ">50mm": 3.0}
    out["t_category"] = src["fac_tsize"].map(sizes)
    out["grade"] = src["fac_grade"].astype(float)
    out["nodes_positive"] = src["num_nodes"]
    out["n_category"] = _n_from_count(src["num_nodes"])
    out["er_positive"] = (src["num_estrogen"] >= 10).astype(float)
    out["pr_positive"] = (src["num_progesterone"] >= 10).astype(float)
    out["endocrine_therapy"] = _ynum(src["fac_hormon"], "yes")
    out["chemotherapy"] = _ynum(src["fac_chemo"], "yes")
    return out


def load_gbsg2(_: Path) -> pd.DataFrame:
    src = _survset("GBSG2")
    out = _frame(src, src["time"] / DAYS_PER_MONTH, src["event"])
    out["age_years"] = src["num_age"]
    out["sex_female"] = 1.0
    out["postmenopausal"] = _ynum(src["fac_menostat"], "Post")
    out["tumour_size_mm"] = src["num_tsize"]
    out["t_category"] = _t_from_size_mm(src["num_tsize"])
    out["grade"] = src["fac_tgrade"].map({"I": 1.0, "II": 2.0, "III": 3.0})
    out["nodes_positive"] = src["num_pnodes"]
    out["n_category"] = _n_from_count(src["num_pnodes"])
    out["er_positive"] = (src["num_estrec"] >= 10).astype(float)
    out["pr_positive"] = (src["num_progrec"] >= 10).astype(float)
    out["endocrine_therapy"] = _ynum(src["fac_horTh"], "yes")
    return out


def _tcga(data: Path, code: str, cancer_type: str) -> pd.DataFrame:
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
    src = _survset("cancer")
    out = _frame(src, src["time"] / DAYS_PER_MONTH, src["event"])
    out["age_years"] = src["num_age"]
    out["sex_female"] = (src["fac_sex"].astype(int) == 2).astype(float)
    ecog = pd.to_numeric(src["fac_ph_ecog"], errors="coerce")  # "missing" -> NaN
    # Physician ECOG where rated, else the physician Karnofsky through the published table.
    out["ecog"] = ecog.fillna(_ecog_from_kps(src["num_ph_karno"]))
    out["weight_loss_kg"] = src["num_wt_loss"] * 0.45359237  # pounds
    return out


def load_veterans(_: Path) -> pd.DataFrame:
    src = _survset("veteran")
    out = _frame(src, src["time"] / DAYS_PER_MONTH, src["event"])
    out["age_years"] = src["num_age"]
    out["sex_female"] = 0.0  # Veterans' Administration trial: men only
    out["ecog"] = _ecog_from_kps(src["num_karno"])
    out["small_cell_histology"] = (src["fac_celltype"] == "smallcell").astype(float)
    out["prior_lines"] = (src["fac_prior"].astype(int) > 0).astype(float)  # "yes" = at least one
    out["chemotherapy"] = 1.0  # both arms received chemotherapy
    return out


def _support2(disease: str) -> pd.DataFrame:
    src = _survset("support2")
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
    src = _survset("colon")
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
    src = _survset("prostate")
    out = _frame(src, src["time"], src["event"])  # months
    out["age_years"] = src["num_age"]
    out["sex_female"] = 0.0
    out["stage_group"] = src["fac_stage"].astype(float)  # VACURG stage 3 / 4 -> III / IV
    out["advanced_stage"] = 1.0
    out["m_category"] = src["fac_bm"].astype(float)  # bone metastases
    activity = {
        "normal activity": 0.0,
        "in bed < 50% daytime": 2.0,
        "in bed > 50% daytime": 3.0,
        "confined to bed": 4.0,
    }
    out["ecog"] = src["fac_pf"].map(activity)
    out["haemoglobin_g_l"] = src["num_hg"] * 10.0  # g/100 mL
    out["endocrine_therapy"] = (src["fac_rx"] != "placebo").astype(float)  # oestrogen arms
    return out


def load_melanoma(_: Path) -> pd.DataFrame:
    src = _survset("Melanoma")
    out = _frame(src, src["time"] / DAYS_PER_MONTH, src["event"])
    out["age_years"] = src["num_age"]
    out["sex_female"] = (src["fac_sex"].astype(int) == 0).astype(float)
    out["breslow_thickness_mm"] = src["num_thickness"]
    out["ulceration"] = src["fac_ulcer"].astype(float)
    thickness = src["num_thickness"]
    out["t_category"] = pd.cut(thickness, [-1, 1, 2, 4, 1000], labels=[1, 2, 3, 4]).astype(float)
    return out


def load_ovarian(_: Path) -> pd.DataFrame:
    src = _survset("ova")
    out = _frame(src, src["time"] / DAYS_PER_MONTH, src["event"])
    out["stage_group"] = src["fac_figo"].astype(float) + 3.0  # FIGO III (0) / IV (1)
    out["advanced_stage"] = 1.0
    out["m_category"] = src["fac_figo"].astype(float)
    out["sex_female"] = 1.0
    return out


def load_hcc(_: Path) -> pd.DataFrame:
    src = _survset("hepatoCellular")
    out = _frame(src, src["time"], src["event"])  # months
    out["age_years"] = src["num_Age"]
    out["sex_female"] = (src["fac_Gender"].astype(int) == 0).astype(float)
    out["advanced_stage"] = (src["fac_TNM"].astype(int) == 2).astype(float)  # I-II / III-IV
    out["vascular_invasion"] = src["fac_Vascularinvasion"].astype(float)
    out["cirrhosis"] = src["fac_Cirrhosis"].astype(float)
    return out


def load_follicular(_: Path) -> pd.DataFrame:
    src = _survset("follic")
    out = _frame(src, src["time"] * 12.0, src["event"])  # years
    out["age_years"] = src["num_age"]
    out["stage_group"] = src["fac_clinstg"].astype(float)  # Ann Arbor I / II
    out["advanced_stage"] = 0.0
    out["haemoglobin_g_l"] = src["num_hgb"]  # already g/L
    out["chemotherapy"] = _ynum(src["fac_ch"], "Y")
    out["radiotherapy"] = 1.0
    return out


def load_oropharynx(_: Path) -> pd.DataFrame:
    src = _survset("d.oropha.rec")
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
    src = _survset("LeukSurv")
    out = _frame(src, src["time"] / DAYS_PER_MONTH, src["event"])
    out["age_years"] = src["num_age"]
    out["sex_female"] = (src["fac_sex"].astype(str) == "0").astype(float)
    out["wbc_1e9_l"] = src["num_wbc"]
    return out


@dataclass(frozen=True)
class CohortEntry:
    spec: CohortSpec
    loader: Callable[[Path], pd.DataFrame]


SURVSET = "PyPI survset 0.2.11 (SurvSet), "
SURVSET_LICENCE = "GPL-3.0 (package); data from the cited R package"
SURVPATH_LICENCE = "GPL-3.0, non-commercial academic (SurvPath README); TCGA open access"


def _survset_cohort(
    loader: Callable[[Path], pd.DataFrame],
    *,
    name: str,
    cancer_type: str,
    table: str,
    outcome: str,
    mapping: str,
) -> CohortEntry:
    """A cohort read from one SurvSet table (its data may be used commercially)."""
    spec = CohortSpec(
        name=name,
        cancer_type=cancer_type,
        source=SURVSET + table,
        licence=SURVSET_LICENCE,
        non_commercial=False,
        outcome=outcome,
        mapping=mapping,
    )
    return CohortEntry(spec, loader)


def _survpath_tcga(
    code: str, cancer_type: str, *, mapping: str, projects: str | None = None
) -> CohortEntry:
    """A TCGA cohort from SurvPath's tables: overall survival in months, non-commercial use only.

    Args:
        code: SurvPath's file code (``tcga_<code>.csv``); the cohort is named ``tcga-<code>``.
        cancer_type: OncoTree code it is filed under.
        mapping: what the harmonisation reads.
        projects: the TCGA project(s) named in the source; default ``cancer_type``.
    """
    source = f"../shared/data/tcga-survpath-pathways (SurvPath, TCGA-{projects or cancer_type})"
    spec = CohortSpec(
        name=f"tcga-{code}",
        cancer_type=cancer_type,
        source=source,
        licence=SURVPATH_LICENCE,
        non_commercial=True,
        outcome="overall survival; months",
        mapping=mapping,
    )
    return CohortEntry(spec, lambda data: _tcga(data, code, cancer_type))


COHORTS: dict[str, CohortEntry] = {
    e.spec.name: e
    for e in (
        CohortEntry(
            CohortSpec(
                name="metabric",
                cancer_type="BRCA",
                source="../shared/data/metabric-cbioportal (cBioPortal brca_metabric)",
                licence="ODbL 1.0",
                non_commercial=False,
                outcome="overall survival (any death) from diagnosis; days",
                mapping="AGE_AT_DIAGNOSIS->age; INFERRED_MENOPAUSAL_STATE Post->postmenopausal; "
                "LYMPH_NODES_EXAMINED_POSITIVE->nodes (pN 0/1-3/4-9/>=10 -> N0-3); NPI; ER_IHC; "
                "HER2_SNP6 GAIN->HER2+ (UNDEF missing); CHEMO/HORMONE/RADIO_THERAPY",
            ),
            load_metabric,
        ),
        _survset_cohort(
            load_rotterdam,
            name="rotterdam",
            cancer_type="BRCA",
            table="rott2 (Royston & Altman 2013)",
            outcome="overall survival from surgery; months",
            mapping="size <=20/20-50/>50 mm -> T1/T2/T3; grade 2/3; nodes (-> pN); "
            "ER, PR >= 10 fmol/mg positive; meno; hormon; chemo",
        ),
        _survset_cohort(
            load_gbsg2,
            name="gbsg2",
            cancer_type="BRCA",
            table="GBSG2 (German Breast Study Group 2)",
            outcome="recurrence-free survival from surgery; days",
            mapping="tsize mm (-> T1-3); tgrade I-III; pnodes (-> pN); ER, PR >= 10 fmol/mg "
            "positive; menostat; horTh",
        ),
        _survpath_tcga("brca", "BRCA", mapping="AJCC stage 0-IV; age; is_female"),
        _survset_cohort(
            load_ncctg,
            name="ncctg-lung",
            cancer_type="LUNG",
            table="cancer (NCCTG advanced lung, R survival)",
            outcome="overall survival; days",
            mapping="ph.ecog (else ph.karno via ECOG-ACRIN table)->ecog; wt.loss lb->kg; sex",
        ),
        _survset_cohort(
            load_veterans,
            name="veterans-lung",
            cancer_type="LUNG",
            table="veteran (VA lung trial, Kalbfleisch & Prentice)",
            outcome="overall survival from randomisation; days",
            mapping="karno via ECOG-ACRIN table->ecog; celltype smallcell; prior therapy->"
            "prior_lines >= 1; all men; chemotherapy both arms",
        ),
        _survset_cohort(
            load_support2_lung,
            name="support2-lung",
            cancer_type="LUNG",
            table="support2 (SUPPORT study), dzgroup Lung Cancer",
            outcome="overall survival from study entry (hospitalised); days",
            mapping="ca metastatic->M1, yes->M0; alb g/dL x10; bili mg/dL x17.1; crea mg/dL "
            "x88.4; wblc; sod",
        ),
        _survset_cohort(
            load_colon_trial,
            name="colon-trial",
            cancer_type="COADREAD",
            table="colon (Moertel 1990 levamisole/5-FU, R survival), death rows",
            outcome="overall survival from randomisation; days",
            mapping="differ 1-3->grade; nodes (N0 / 1-3 N1 / >=4 N2); nodes>0 -> stage III "
            "else II; rx Lev+5FU->chemotherapy",
        ),
        _survpath_tcga(
            "coadread", "COADREAD", mapping="AJCC stage 0-IV; age; is_female", projects="COAD/READ"
        ),
        _survset_cohort(
            load_support2_colon,
            name="support2-colon",
            cancer_type="COADREAD",
            table="support2 (SUPPORT study), dzgroup Colon Cancer",
            outcome="overall survival from study entry (hospitalised); days",
            mapping="as support2-lung",
        ),
        _survset_cohort(
            load_prostate_byar,
            name="prostate-byar",
            cancer_type="PRAD",
            table="prostate (Byar & Green VACURG trial)",
            outcome="overall survival from randomisation; months",
            mapping="stage 3/4->III/IV; bm->M1; pf activity->ECOG 0/2/3/4; hg g/100mL x10; "
            "oestrogen arm->endocrine therapy",
        ),
        _survset_cohort(
            load_melanoma,
            name="melanoma-andersen",
            cancer_type="SKCM",
            table="Melanoma (Andersen et al., R MASS)",
            outcome="death from melanoma after surgery; days",
            mapping="thickness mm (T1 <=1, T2 <=2, T3 <=4, T4 >4 mm); ulcer; sex; age",
        ),
        _survset_cohort(
            load_ovarian,
            name="ovarian-ova",
            cancer_type="OVARY",
            table="ova (R CoxRidge / dynpred, advanced ovarian trials)",
            outcome="overall survival; days",
            mapping="figo 0/1 -> FIGO III/IV (M1 for IV); Karnofsky and residual diameter are "
            "coded categories without a stated key in SurvSet and are left out",
        ),
        _survset_cohort(
            load_hcc,
            name="hcc-li",
            cancer_type="HCC",
            table="hepatoCellular (R asaur; Li et al. 2014)",
            outcome="overall survival after resection; months",
            mapping="TNM 1/2 -> stage I-II / III-IV (advanced_stage); vascular invasion; "
            "cirrhosis; gender; age",
        ),
        _survset_cohort(
            load_follicular,
            name="follicular",
            cancer_type="FL",
            table="follic (R randomForestSRC; Pintilie 2006)",
            outcome="relapse or death (first event) from diagnosis; years",
            mapping="clinstg 1/2 -> Ann Arbor I/II; hgb g/L; ch->chemotherapy; all radiotherapy",
        ),
        _survset_cohort(
            load_oropharynx,
            name="oropharynx-rtog",
            cancer_type="OPHSC",
            table="d.oropha.rec (Kalbfleisch & Prentice RTOG oropharynx trial)",
            outcome="overall survival from randomisation; years",
            mapping="tstage T1-4; nstage N0-3; grade 1-3; condition 1/2/3/4 -> ECOG 0/1/3/4; "
            "all radiotherapy",
        ),
        _survpath_tcga(
            "hnsc", "HNSC", mapping="AJCC stage 0-IV; grade G1-G4 (GX missing); age; is_female"
        ),
        _survpath_tcga("blca", "BLCA", mapping="AJCC stage 0-IV; grade G1-G4; age; is_female"),
        _survpath_tcga(
            "stad", "STAD", mapping="AJCC stage 0-IV; grade G1-G4 (GX missing); age; is_female"
        ),
        _survset_cohort(
            load_leukaemia,
            name="leukaemia-nw-england",
            cancer_type="AML",
            table="LeukSurv (R spBayesSurv; acute myeloid leukaemia, NW England)",
            outcome="overall survival from diagnosis; days",
            mapping="age; sex; wbc 10^9/L",
        ),
    )
}


@cache
def load_harmonised(name: str, data: Path) -> pd.DataFrame:
    """One cohort in the portrait vocabulary, with ``cohort`` and ``cancer_type`` columns."""
    entry = COHORTS[name]
    frame = entry.loader(data)
    frame = frame[frame["time_months"] > 0].copy()
    frame["cohort"] = entry.spec.name
    frame["cancer_type"] = entry.spec.cancer_type
    return frame.reset_index(drop=True)


def load_all(data: Path, names: tuple[str, ...] | None = None) -> pd.DataFrame:
    """All (or the named) cohorts stacked into one table."""
    chosen = names or tuple(COHORTS)
    return pd.concat([load_harmonised(n, data) for n in chosen], ignore_index=True)
