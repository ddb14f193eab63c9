"""The registry of real survival cohorts harmonised into the portrait vocabulary (training only).

Each entry names its source, licence, endpoint and time zero (explicit fields, so the checkpoint can
tell the page what a curve's time zero is) and the mapping into the vocabulary, repeated in the
model card; the loaders are in :mod:`inference.training.portrait_loaders`. A harmonised table has
the vocabulary columns the cohort carries (others NaN = masked), ``time_months``, ``event``
(1 = event), ``cohort``, ``cancer_type`` (OncoTree code) and ``source_row``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import pandas as pd

from inference.training.portrait_loaders import (
    load_colon_trial,
    load_follicular,
    load_gbsg2,
    load_hcc,
    load_leukaemia,
    load_melanoma,
    load_metabric,
    load_ncctg,
    load_oropharynx,
    load_ovarian,
    load_prostate_byar,
    load_rotterdam,
    load_support2_colon,
    load_support2_lung,
    load_tcga,
    load_veterans,
)

TimeZero = Literal["diagnosis", "surgery", "randomisation", "study_entry"]


@dataclass(frozen=True)
class Outcome:
    """A cohort's endpoint and the moment its clock starts.

    Attributes:
        endpoint: what counts as the event, for example "overall survival".
        time_zero: the kind of time zero.
        time_zero_label: short words for the page, for example "randomisation in the Moertel
            colon adjuvant trial".
        unit: the unit of time in the source table (converted to months on loading).
    """

    endpoint: str
    time_zero: TimeZero
    time_zero_label: str
    unit: str

    def __str__(self) -> str:
        return f"{self.endpoint} from {self.time_zero_label}; {self.unit}"


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
    outcome: Outcome
    mapping: str


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
    outcome: Outcome,
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
        outcome=Outcome(
            "overall survival", "diagnosis", f"diagnosis (TCGA-{projects or cancer_type})", "months"
        ),
        mapping=mapping,
    )
    return CohortEntry(spec, lambda data: load_tcga(data, code, cancer_type))


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
                outcome=Outcome("overall survival", "diagnosis", "diagnosis (METABRIC)", "days"),
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
            outcome=Outcome(
                "overall survival", "surgery", "primary surgery (Rotterdam tumour bank)", "months"
            ),
            mapping="size <=20/20-50/>50 mm -> T1/T2/T3; grade 2/3; nodes (-> pN); "
            "ER, PR >= 10 fmol/mg positive; meno; hormon; chemo",
        ),
        _survset_cohort(
            load_gbsg2,
            name="gbsg2",
            cancer_type="BRCA",
            table="GBSG2 (German Breast Study Group 2)",
            outcome=Outcome(
                "recurrence-free survival", "surgery", "surgery in the GBSG-2 trial", "days"
            ),
            mapping="tsize mm (-> T1-3); tgrade I-III; pnodes (-> pN); ER, PR >= 10 fmol/mg "
            "positive; menostat; horTh",
        ),
        _survpath_tcga("brca", "BRCA", mapping="AJCC stage 0-IV; age; is_female"),
        _survset_cohort(
            load_ncctg,
            name="ncctg-lung",
            cancer_type="LUNG",
            table="cancer (NCCTG advanced lung, R survival)",
            outcome=Outcome(
                "overall survival",
                "study_entry",
                "entry into the NCCTG advanced lung study",
                "days",
            ),
            mapping="ph.ecog (else ph.karno via ECOG-ACRIN table)->ecog; wt.loss lb->kg; sex",
        ),
        _survset_cohort(
            load_veterans,
            name="veterans-lung",
            cancer_type="LUNG",
            table="veteran (VA lung trial, Kalbfleisch & Prentice)",
            outcome=Outcome(
                "overall survival", "randomisation", "randomisation in the VA lung trial", "days"
            ),
            mapping="karno via ECOG-ACRIN table->ecog; celltype smallcell; prior therapy->"
            "prior_lines >= 1; all men; chemotherapy both arms",
        ),
        _survset_cohort(
            load_support2_lung,
            name="support2-lung",
            cancer_type="LUNG",
            table="support2 (SUPPORT study), dzgroup Lung Cancer",
            outcome=Outcome(
                "overall survival", "study_entry", "entry into SUPPORT (hospitalised)", "days"
            ),
            mapping="ca metastatic->M1, yes->M0; alb g/dL x10; bili mg/dL x17.1; crea mg/dL "
            "x88.4; wblc; sod",
        ),
        _survset_cohort(
            load_colon_trial,
            name="colon-trial",
            cancer_type="COADREAD",
            table="colon (Moertel 1990 levamisole/5-FU, R survival), death rows",
            outcome=Outcome(
                "overall survival",
                "randomisation",
                "randomisation in the Moertel colon adjuvant trial",
                "days",
            ),
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
            outcome=Outcome(
                "overall survival", "study_entry", "entry into SUPPORT (hospitalised)", "days"
            ),
            mapping="as support2-lung",
        ),
        _survset_cohort(
            load_prostate_byar,
            name="prostate-byar",
            cancer_type="PRAD",
            table="prostate (Byar & Green VACURG trial)",
            outcome=Outcome(
                "overall survival",
                "randomisation",
                "randomisation in the VACURG prostate trial",
                "months",
            ),
            mapping="stage 3/4->III/IV; bm->M1; pf activity->ECOG 0/2/3/4; hg g/100mL x10; "
            "oestrogen arm->endocrine therapy",
        ),
        _survset_cohort(
            load_melanoma,
            name="melanoma-andersen",
            cancer_type="SKCM",
            table="Melanoma (Andersen et al., R MASS)",
            outcome=Outcome(
                "death from melanoma", "surgery", "surgery (Odense melanoma series)", "days"
            ),
            mapping="thickness mm (T1 <=1, T2 <=2, T3 <=4, T4 >4 mm); ulcer; sex; age",
        ),
        _survset_cohort(
            load_ovarian,
            name="ovarian-ova",
            cancer_type="OVARY",
            table="ova (R CoxRidge / dynpred, advanced ovarian trials)",
            outcome=Outcome(
                "overall survival",
                "study_entry",
                "entry into two Dutch advanced ovarian chemotherapy trials",
                "days",
            ),
            mapping="figo 0/1 -> FIGO III/IV (M1 for IV); Karnofsky and residual diameter are "
            "coded categories without a stated key in SurvSet and are left out",
        ),
        _survset_cohort(
            load_hcc,
            name="hcc-li",
            cancer_type="HCC",
            table="hepatoCellular (R asaur; Li et al. 2014)",
            outcome=Outcome(
                "overall survival", "surgery", "resection of the liver tumour", "months"
            ),
            mapping="TNM 1/2 -> stage I-II / III-IV (advanced_stage); vascular invasion; "
            "cirrhosis; gender; age",
        ),
        _survset_cohort(
            load_follicular,
            name="follicular",
            cancer_type="FL",
            table="follic (R randomForestSRC; Pintilie 2006)",
            outcome=Outcome(
                "relapse or death (first event)",
                "diagnosis",
                "diagnosis (Princess Margaret)",
                "years",
            ),
            mapping="clinstg 1/2 -> Ann Arbor I/II; hgb g/L; ch->chemotherapy; all radiotherapy",
        ),
        _survset_cohort(
            load_oropharynx,
            name="oropharynx-rtog",
            cancer_type="OPHSC",
            table="d.oropha.rec (Kalbfleisch & Prentice RTOG oropharynx trial)",
            outcome=Outcome(
                "overall survival", "diagnosis", "diagnosis (RTOG oropharynx trial)", "years"
            ),
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
            outcome=Outcome(
                "overall survival", "diagnosis", "diagnosis (NW England leukaemia register)", "days"
            ),
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
