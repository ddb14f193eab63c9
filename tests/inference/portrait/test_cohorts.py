"""Harmonisation spot checks: values copied by hand from the source tables.

The SurvSet cohorts ship in the ``survset`` wheel (training extras) and the others in
``../shared/data``; the tests skip when either is absent.
"""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("SurvSet")

from inference.training.portrait_cohorts import COHORTS, load_harmonised  # noqa: E402
from inference.training.portrait_loaders import DAYS_PER_MONTH  # noqa: E402
from tests.paths import SHARED_DATA as DATA  # noqa: E402

# cohort, source row, {vocabulary field: value expected from the source row}
SPOT_CHECKS: list[tuple[str, int, dict[str, Any]]] = [
    # rott2 row 0: post, <=20mm, grade 2, nodes 0, pr 1360, er 149, 155.66 months alive
    (
        "rotterdam",
        0,
        {
            "postmenopausal": 1,
            "t_category": 1,
            "grade": 2,
            "nodes_positive": 0,
            "n_category": 0,
            "er_positive": 1,
            "pr_positive": 1,
            "endocrine_therapy": 0,
            "time_months": 155.66324,
            "event": 0,
        },
    ),
    # rott2 row 5: er 10 fmol/mg sits on the cut-off: positive
    ("rotterdam", 5, {"er_positive": 1, "age_years": 50, "event": 1}),
    # GBSG2 row 0: age 70, tsize 21 mm, pnodes 3, progrec 48, estrec 66, grade II, 1814 days
    (
        "gbsg2",
        0,
        {
            "age_years": 70,
            "tumour_size_mm": 21,
            "t_category": 2,
            "nodes_positive": 3,
            "n_category": 1,
            "grade": 2,
            "er_positive": 1,
            "pr_positive": 1,
            "time_months": 1814 / DAYS_PER_MONTH,
            "event": 1,
        },
    ),
    # GBSG2 row 5: tsize 57 mm (T3), 24 nodes (N3), progrec 0, grade III, premenopausal
    (
        "gbsg2",
        5,
        {"t_category": 3, "n_category": 3, "pr_positive": 0, "grade": 3, "postmenopausal": 0},
    ),
    # NCCTG row 0: ph.ecog 1, wt.loss missing, male, 306 days dead
    (
        "ncctg-lung",
        0,
        {
            "ecog": 1,
            "weight_loss_kg": None,
            "sex_female": 0,
            "age_years": 74,
            "time_months": 306 / DAYS_PER_MONTH,
            "event": 1,
        },
    ),
    # veteran row 0: karno 60 -> ECOG 2; row 5: karno 20 -> ECOG 4; squamous; no prior therapy
    ("veterans-lung", 0, {"ecog": 2, "small_cell_histology": 0, "prior_lines": 0}),
    ("veterans-lung", 5, {"ecog": 4, "age_years": 49, "time_months": 10 / DAYS_PER_MONTH}),
    # support2 first lung-cancer row: alb 1.8 g/dL, bili 0.2 mg/dL, crea 1.2 mg/dL, metastatic
    (
        "support2-lung",
        0,
        {
            "albumin_g_l": 17.998047,
            "bilirubin_umol_l": 0.19998169 * 17.104,
            "creatinine_umol_l": 1.19995117 * 88.42,
            "wbc_1e9_l": 6.0,
            "sodium_mmol_l": 141.0,
            "m_category": 1,
            "sex_female": 0,
        },
    ),
    # colon row 0: 5 nodes -> stage III, N2; moderately differentiated; Lev+5FU
    (
        "colon-trial",
        0,
        {
            "nodes_positive": 5,
            "stage_group": 3,
            "n_category": 2,
            "grade": 2,
            "chemotherapy": 1,
            "sex_female": 0,
            "time_months": 1521 / DAYS_PER_MONTH,
        },
    ),
    # prostate row 0: stage 3, normal activity, hg 13.8 g/100 mL, oestrogen 0.2 mg, no bm
    (
        "prostate-byar",
        0,
        {
            "stage_group": 3,
            "ecog": 0,
            "haemoglobin_g_l": 137.98828125,
            "m_category": 0,
            "endocrine_therapy": 1,
            "time_months": 72,
        },
    ),
    # Melanoma row 0: thickness 6.76 mm (T4), ulcerated, male (sex 1), 10 days
    (
        "melanoma-andersen",
        0,
        {"breslow_thickness_mm": 6.76, "t_category": 4, "ulceration": 1, "sex_female": 0},
    ),
    # ova row 0: figo 1 = FIGO IV
    ("ovarian-ova", 0, {"stage_group": 4, "m_category": 1, "time_months": 7 / DAYS_PER_MONTH}),
    # hepatoCellular row 0: TNM 2 (III-IV), cirrhosis, no vascular invasion, age 57, female
    (
        "hcc-li",
        0,
        {
            "advanced_stage": 1,
            "cirrhosis": 1,
            "vascular_invasion": 0,
            "age_years": 57,
            "sex_female": 1,
            "time_months": 83,
        },
    ),
    # follic row 0: stage II, hgb 140 g/L, no chemotherapy, 0.238 years
    (
        "follicular",
        0,
        {
            "stage_group": 2,
            "haemoglobin_g_l": 140,
            "chemotherapy": 0,
            "time_months": 0.2381930185 * 12,
        },
    ),
    # oropharynx row 0: T3 N1 grade 1, condition 1 -> ECOG 0, female (sex 2)
    (
        "oropharynx-rtog",
        0,
        {"t_category": 3, "n_category": 1, "grade": 1, "ecog": 0, "sex_female": 1},
    ),
    # LeukSurv row 0: wbc 13.3, age 61, sex 0 = female
    ("leukaemia-nw-england", 0, {"wbc_1e9_l": 13.3, "age_years": 61, "sex_female": 1}),
]


def _row(cohort: str, source_row: int) -> Any:
    frame = load_harmonised(cohort, DATA)
    match = frame[frame["source_row"] == source_row]
    assert len(match) == 1
    return match.iloc[0]


@pytest.mark.parametrize(("cohort", "source_row", "expected"), SPOT_CHECKS)
def test_it_harmonises_the_source_values(
    cohort: str, source_row: int, expected: dict[str, Any]
) -> None:
    row = _row(cohort, source_row)
    for field, value in expected.items():
        if value is None:
            assert row[field] != row[field], field  # NaN: masked
        else:
            assert row[field] == pytest.approx(value, rel=1e-6), field


@pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data not present")
def test_it_harmonises_metabric_and_tcga_from_the_shared_folder() -> None:
    metabric = load_harmonised("metabric", DATA)
    first = metabric.iloc[0]  # MB-0000: 75.65 y, 10 nodes, NPI 6.044, ER+, HER2 neutral
    assert first["age_years"] == pytest.approx(75.65)
    assert (first["nodes_positive"], first["n_category"]) == (10, 3)
    assert first["nottingham_prognostic_index"] == pytest.approx(6.044)
    assert (first["er_positive"], first["her2_positive"]) == (1, 0)
    assert (first["chemotherapy"], first["endocrine_therapy"], first["radiotherapy"]) == (0, 1, 1)
    assert first["time_months"] == pytest.approx(4275 / DAYS_PER_MONTH)
    assert first["event"] == 0
    brca = load_harmonised("tcga-brca", DATA)
    aali = brca.iloc[0]  # TCGA-3C-AALI: 50 y, stage II, 133.5 months, censored
    assert (aali["age_years"], aali["stage_group"], aali["advanced_stage"]) == (50, 2, 0)
    assert (aali["time_months"], aali["event"]) == (133.5, 0)


def test_every_cohort_states_its_source_licence_and_mapping() -> None:
    assert len({e.spec.cancer_type for e in COHORTS.values()}) >= 12
    for entry in COHORTS.values():
        assert entry.spec.source and entry.spec.licence and entry.spec.mapping
        assert entry.spec.non_commercial == ("non-commercial" in entry.spec.licence)


def test_every_cohort_states_its_endpoint_and_time_zero_explicitly() -> None:
    for name, entry in COHORTS.items():
        outcome = entry.spec.outcome
        assert outcome.time_zero in {"diagnosis", "surgery", "randomisation", "study_entry"}, name
        assert outcome.endpoint and outcome.time_zero_label and outcome.unit, name
    colon = COHORTS["colon-trial"].spec.outcome
    assert (colon.time_zero, colon.endpoint) == ("randomisation", "overall survival")
    assert str(colon) == (
        "overall survival from randomisation in the Moertel colon adjuvant trial; days"
    )
    assert COHORTS["gbsg2"].spec.outcome.endpoint == "recurrence-free survival"
