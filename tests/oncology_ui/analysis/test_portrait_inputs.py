"""The case's rows in the prognosis model's clinical vocabulary, each value with its source."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from oncology_ui.analysis.adapters import case_snapshot, portrait_from_snapshot
from oncology_ui.analysis.portrait_inputs import case_portrait, stage_group_number, tnm_number
from oncology_ui.clinical.models import ClinicalFact
from oncology_ui.patients.models import Case
from tests.factories import CaseFactory, TimelineEventFactory, UserFactory
from tests.oncology_ui.clinical.conftest import ihc_biomarker, lab_csv, run_import

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("text", "number"),
    [("IIIA", 3), ("Stage IV", 4), ("IB", 1), ("0", 0), ("IIC", 2), ("", None), ("X", None)],
)
def test_the_stage_group_is_read_as_its_roman_numeral(text: str, number: int | None) -> None:
    assert stage_group_number(text) == number


@pytest.mark.parametrize(
    ("text", "axis", "number"),
    [
        ("pT2a", "T", 2),
        ("Tis", "T", 0),
        ("cT4b", "T", 4),
        ("TX", "T", None),
        ("ypN1mi", "N", 1),
        ("N0(i+)", "N", 0),
        ("cM1b", "M", 1),
        ("M0", "M", 0),
        ("", "M", None),
    ],
)
def test_tnm_categories_are_read_from_their_written_form(
    text: str, axis: str, number: int | None
) -> None:
    assert tnm_number(text, axis) == number


def _user() -> User:
    return UserFactory.create()


def _full_breast_case() -> Case:
    case = CaseFactory.create(
        stage_group="IIIA",
        clinical_t="cT2",
        clinical_n="cN1",
        clinical_m="cM0",
        pathological_t="pT2",
        pathological_n="pN2a",
        pathological_m="",
        grade=2,
        nodes_positive=5,
        tumour_size_mm=28,
        menopausal_status="post",
        ecog=1,
        ecog_date=dt.date(2024, 2, 2),
    )
    user = _user()
    for name, value, unit in (("ER", "90", "%"), ("PR", "0", "%"), ("HER2", "2+", "")):
        ihc_biomarker(case, name, value, unit, dt.date(2024, 1, 20), user=user)
    today = timezone.localdate()
    recent, old = today - dt.timedelta(days=10), today - dt.timedelta(days=200)
    run_import(
        case,
        lab_csv(
            f"{recent},Albumin,1751-7,3.5,g/dL,3.5-5.0,a1",
            f"{old},Hemoglobin,718-7,11.0,g/dL,12-16,h1",
            f"{recent},CEA,2039-6,4.1,ug/L,0-5,c1",
        ),
    )
    TimelineEventFactory.create(case=case, kind="systemic_therapy", regimen="AC-T", line_number=1)
    return case


def test_every_case_field_it_claims_reaches_the_portrait_with_its_source() -> None:
    portrait = case_portrait(_full_breast_case(), portrait_type="BRCA")
    values, sources = portrait["values"], portrait["sources"]
    assert values["age_years"] == 62.0 and values["sex_female"] == 1.0
    assert values["postmenopausal"] == 1.0 and sources["postmenopausal"] == "case record"
    assert values["stage_group"] == 3.0 and sources["stage_group"] == "case record"
    # Pathological categories win over clinical ones; a blank pM falls back to cM0.
    assert values["t_category"] == 2.0 and sources["t_category"] == "pathological pT2"
    assert values["n_category"] == 2.0 and sources["n_category"] == "pathological pN2a"
    assert values["m_category"] == 0.0 and sources["m_category"] == "clinical cM0"
    assert values["grade"] == 2.0 and values["nodes_positive"] == 5.0
    assert values["tumour_size_mm"] == 28.0
    assert values["ecog"] == 1.0 and sources["ecog"] == "case record on 2024-02-02"


def test_receptors_come_from_the_biomarkers_and_an_equivocal_one_stays_missing() -> None:
    portrait = case_portrait(_full_breast_case(), portrait_type="BRCA")
    values, sources = portrait["values"], portrait["sources"]
    assert values["er_positive"] == 1.0 and sources["er_positive"].startswith("biomarker ER by IHC")
    assert values["pr_positive"] == 0.0
    assert "her2_positive" not in values  # IHC 2+ is equivocal: not guessed


def test_labs_arrive_in_si_units_dated_and_stale_ones_are_marked() -> None:
    portrait = case_portrait(_full_breast_case(), portrait_type="BRCA")
    values, sources = portrait["values"], portrait["sources"]
    assert values["albumin_g_l"] == pytest.approx(35.0)
    assert values["haemoglobin_g_l"] == pytest.approx(110.0)
    assert portrait["stale"] == ["haemoglobin_g_l"]
    assert "older than 90 days" in sources["haemoglobin_g_l"]
    assert "older than" not in sources["albumin_g_l"]


def test_facts_the_model_cannot_read_are_listed_not_dropped() -> None:
    portrait = case_portrait(_full_breast_case(), portrait_type="BRCA")
    assert "1 other lab value(s) (not inputs of this model)" in portrait["record_only"]
    assert any("treatment(s) given" in line for line in portrait["record_only"])
    assert "chemotherapy" not in portrait["values"]


def test_a_karnofsky_score_becomes_ecog_by_the_published_table_when_ecog_is_absent() -> None:
    case = CaseFactory.create()
    ClinicalFact.objects.create(
        case=case,
        source_key="kps",
        kind="karnofsky",
        display="Karnofsky",
        value_number=70,
        date=dt.date(2024, 2, 3),
    )
    portrait = case_portrait(case, portrait_type="BRCA")
    assert portrait["values"]["ecog"] == 1.0
    assert "Karnofsky 70" in portrait["sources"]["ecog"]


@pytest.mark.parametrize(
    ("portrait_type", "nodes", "expected"),
    [("BRCA", 0, 0.0), ("BRCA", 3, 1.0), ("BRCA", 4, 2.0), ("BRCA", 12, 3.0), ("COADREAD", 5, 2.0)],
)
def test_n_category_follows_the_ajcc_count_rule_only_where_it_exists(
    portrait_type: str, nodes: int, expected: float
) -> None:
    case = CaseFactory.create(clinical_n="", nodes_positive=nodes)
    portrait = case_portrait(case, portrait_type=portrait_type)
    assert portrait["values"]["n_category"] == expected
    assert "AJCC count rule" in portrait["sources"]["n_category"]


def test_no_n_category_is_derived_from_nodes_for_a_type_without_a_count_rule() -> None:
    case = CaseFactory.create(oncotree_code="LUAD", clinical_n="", nodes_positive=3)
    assert "n_category" not in case_portrait(case, portrait_type="LUNG")["values"]


def test_a_field_the_record_lacks_is_absent_never_filled() -> None:
    case = CaseFactory.create(stage_group="", clinical_t="", clinical_n="", clinical_m="")
    values = case_portrait(case, portrait_type="BRCA")["values"]
    assert set(values) == {"age_years", "sex_female"}


def test_the_snapshot_carries_the_portrait_and_rebuilds_it_for_the_model() -> None:
    case = _full_breast_case()
    snapshot = case_snapshot(case)
    portrait = portrait_from_snapshot(snapshot)
    assert portrait is not None and portrait.cancer_type == "IDC"
    assert portrait.staging.stage_group == 3 and portrait.receptors.er_positive is True
    assert portrait.labs.albumin_g_l == pytest.approx(35.0)
    assert portrait_from_snapshot({"case_id": "1"}) is None  # a run from before portraits


def test_a_breast_nottingham_index_is_derived_from_size_nodes_and_grade() -> None:
    case = CaseFactory.create(tumour_size_mm=25, nodes_positive=2, grade=2)
    portrait = case_portrait(case, portrait_type="BRCA")
    # 0.2 x 2.5 cm + node stage 2 (1-3 nodes) + grade 2
    assert portrait["values"]["nottingham_prognostic_index"] == pytest.approx(4.5)
    lung = CaseFactory.create(oncotree_code="LUAD", tumour_size_mm=25, nodes_positive=2, grade=2)
    assert "nottingham_prognostic_index" not in case_portrait(lung, portrait_type="LUNG")["values"]
