"""Reading notes into proposed facts: every fact type, and its negated, historical, hypothetical
and family variants, from real-looking clinical text (plain Python, no database)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from oncology_ui.notes.reading import Proposal, read_document

NOTE = (
    Path(__file__).resolve().parents[2] / "fixtures" / "notes" / "oncology_clinic_note.txt"
).read_text()


def _find(text: str, kind: str, evidence: str) -> Proposal:
    """The one proposal of ``kind`` whose span is exactly ``evidence``."""
    found = [p for p in read_document(text) if p.kind == kind and text[p.start : p.end] == evidence]
    assert len(found) == 1, [(p.kind, text[p.start : p.end]) for p in read_document(text)]
    return found[0]


def _kinds(text: str) -> list[tuple[str, str]]:
    return [(p.kind, text[p.start : p.end]) for p in read_document(text)]


def test_it_reads_receptor_results_with_percentage_intensity_and_her2_ihc_and_ish() -> None:
    er = _find(NOTE, "biomarker", "ER 90% strong")
    assert er.value["name"] == "ER" and er.value["value"] == "90%"
    assert er.value["intensity"] == "strong" and er.value["derived_status"] == "positive"
    assert not any(vars(er.flags).values())
    pr = _find(NOTE, "biomarker", "PR 20% moderate")
    assert pr.value["derived_status"] == "positive"
    ihc = _find(NOTE, "biomarker", "HER2 2+")
    assert (ihc.value["method"], ihc.value["derived_status"]) == ("IHC", "equivocal")
    ish = _find(NOTE, "biomarker", "HER2/CEP17 ratio 2.3, amplified")
    assert (ish.value["method"], ish.value["value"], ish.value["derived_status"]) == (
        "ISH",
        "2.3",
        "positive",
    )


def test_a_negative_receptor_is_a_result_not_a_negated_fact() -> None:
    text = "Pathology: ER negative (0%), PR negative, HER2 0 by IHC. Triple negative."
    er = _find(text, "biomarker", "ER negative (0%")
    assert er.value["status"] == "negative" and not er.flags.negated
    pr = _find(text, "biomarker", "PR negative")
    assert pr.value["derived_status"] == "negative" and not pr.flags.negated


def test_pd_l1_msi_mmr_and_tmb() -> None:
    text = "PD-L1 TPS 60%. Tumour is MSI-high; MMR deficient. TMB 14 mut/Mb."
    assert _find(text, "biomarker", "PD-L1 TPS 60%").value["derived_status"] == "high"
    assert _find(text, "biomarker", "MSI-high").value["derived_status"] == "high"
    assert _find(text, "biomarker", "MMR deficient").value["derived_status"] == "deficient"
    assert _find(text, "biomarker", "TMB 14 mut/Mb").value["derived_status"] == "high"


def test_a_family_members_receptor_status_is_flagged_family() -> None:
    family = _find(NOTE, "biomarker", "ER positive")
    assert family.flags.family and family.section == "family"
    inline = "Her mother had ER positive breast cancer at 50."
    assert _find(inline, "biomarker", "ER positive").flags.family


def test_tnm_and_stage_group() -> None:
    tnm = _find(NOTE, "tnm", "pT2 pN1a cM0")
    assert tnm.value == {"staging": "pathological", "t": "pT2", "n": "pN1a", "m": "cM0"}
    assert _find(NOTE, "stage_group", "AJCC 8th edition pathological stage IIB").value == {
        "stage_group": "IIB"
    }
    # A bare "T2" is an MRI weighting, not a tumour category.
    assert not [k for k, _ in _kinds("MRI: T2 hyperintense lesion in the liver.") if k == "tnm"]
    assert _find("Initially staged cT3 cN2 M0, stage IIIB.", "tnm", "cT3 cN2 M0").flags.historical


def test_ecog_and_karnofsky_current_and_historical() -> None:
    assert _find(NOTE, "ecog", "ECOG 1").value == {"ecog": 1}
    assert _find(NOTE, "karnofsky", "Karnofsky 80%").value == {"karnofsky": 80}
    old = _find("ECOG 0 at diagnosis, now ECOG 2.", "ecog", "ECOG 0")
    assert old.flags.historical
    assert not _find("ECOG 0 at diagnosis, now ECOG 2.", "ecog", "ECOG 2").flags.historical


def test_lab_values_are_checked_against_the_catalogue_with_units() -> None:
    hb = _find(NOTE, "lab", "haemoglobin 11.2 g/dL")
    assert hb.value["analyte"] == "hemoglobin" and hb.value["converted"] == pytest.approx(112)
    assert hb.value["loinc"] == "718-7"
    plt = _find(NOTE, "lab", "platelets 245 x10^9/L")
    assert plt.value["converted"] == pytest.approx(245)
    assert _find(NOTE, "lab", "creatinine 78 umol/L").value["converted_unit"] == "umol/L"
    # No unit, or an implausible value, is not proposed.
    assert _kinds("Creatinine 78, haemoglobin 900 g/dL.") == []


def test_prior_therapies_with_line_dates_response_and_negation() -> None:
    line = _find(NOTE, "prior_therapy", "letrozole and palbociclib")
    assert line.value["regimen"] == "letrozole + palbociclib"
    assert line.value["line"] == 1 and line.value["response"] == "PD"
    assert line.value["start"] == "2022-06-01" and line.value["date_as_written"] == "06/2022"
    assert line.flags.historical and not line.flags.negated
    radiotherapy = _find(NOTE, "prior_therapy", "radiotherapy")
    assert radiotherapy.flags.negated and radiotherapy.value["therapy_kind"] == "radiotherapy"
    current = _find(NOTE, "prior_therapy", "fulvestrant")
    assert not current.flags.historical and not current.flags.negated
    old = _find(NOTE, "prior_therapy", "tamoxifen")
    assert old.flags.historical and old.section == "history"
    assert old.value["start"] == "2010-01-01"


def test_planned_therapies_are_hypothetical() -> None:
    plan = _find(NOTE, "prior_therapy", "capecitabine")
    assert plan.flags.hypothetical and plan.section == "plan"
    inline = "If she progresses we would consider eribulin."
    assert _find(inline, "prior_therapy", "eribulin").flags.hypothetical


def test_metastatic_sites_present_and_absent() -> None:
    liver = _find(NOTE, "metastatic_site", "liver metastases")
    assert liver.value == {"site": "liver"} and not liver.flags.negated
    assert _find(NOTE, "metastatic_site", "bone metastases").value == {"site": "bone"}
    assert _find(NOTE, "metastatic_site", "Brain MRI negative").flags.negated
    assert _find(NOTE, "metastatic_site", "lung metastases").flags.negated
    both = [
        p for p in read_document("No brain or liver metastases.") if p.kind == "metastatic_site"
    ]
    assert {p.value["site"] for p in both} == {"brain", "liver"}
    assert all(p.flags.negated for p in both)


def test_menopausal_status() -> None:
    assert _find(NOTE, "menopausal_status", "postmenopausal").value == {"status": "postmenopausal"}
    assert _find("She is premenopausal.", "menopausal_status", "premenopausal").value == {
        "status": "premenopausal"
    }


def test_spans_point_into_the_text_and_labs_take_the_documents_date() -> None:
    proposals = read_document(NOTE, on=dt.date(2025, 1, 10))
    assert proposals and all(0 <= p.start < p.end <= len(NOTE) for p in proposals)
    assert [p.start for p in proposals] == sorted(p.start for p in proposals)


def test_hostile_text_reads_without_error() -> None:
    # Long runs that could make a careless pattern backtrack, and text with no facts at all.
    for text in ("ER " * 20_000, "HER2 " + "1" * 50_000, "stage " * 10_000, "\n" * 10_000, ""):
        read_document(text)


PATHOLOGY = (
    Path(__file__).resolve().parents[2] / "fixtures" / "notes" / "breast_pathology_report.txt"
).read_text()


def test_a_pathology_reports_colon_style_results_are_read_as_one_result_each() -> None:
    biomarkers = [p for p in read_document(PATHOLOGY) if p.kind == "biomarker"]
    assert [p.label for p in biomarkers] == [
        "ER IHC 95% strong positive",
        "PR IHC 40% moderate positive",
        "HER2 IHC 2+ (equivocal)",
        "HER2 ISH 1.4 not amplified (negative)",
    ]
    # "Not amplified" is the result, not a negation of the ratio that follows it.
    assert not any(p.flags.negated for p in biomarkers)
    assert _find(PATHOLOGY, "tnm", "pT1c pN1a(sn)").value["n"] == "pN1a(sn)"


RADIOLOGY = (
    Path(__file__).resolve().parents[2] / "fixtures" / "notes" / "ct_radiology_report.txt"
).read_text()


def test_a_radiology_reports_sites_present_and_absent() -> None:
    sites = [
        (p.value["site"], p.flags.negated)
        for p in read_document(RADIOLOGY)
        if p.kind == "metastatic_site"
    ]
    assert sites == [
        ("liver", False),
        ("bone", False),
        ("peritoneum", True),
        ("liver", False),
        ("bone", False),
        ("lung", True),
    ]


def test_pregnancy_tests_and_statements() -> None:
    negative = _find(
        "Urine pregnancy test negative today.", "pregnancy", "Urine pregnancy test negative"
    )
    assert negative.flags.negated and negative.label == "Not pregnant (negative test)"
    positive = _find("Positive serum beta-hCG.", "pregnancy", "Positive serum beta-hCG")
    assert not positive.flags.negated
    assert _find("She is not pregnant.", "pregnancy", "pregnant").flags.negated
    assert _find("If she becomes pregnant, stop.", "pregnancy", "pregnant").flags.hypothetical


def test_key_comorbidities_with_icd10_and_their_context() -> None:
    text = "Comorbidities: type 2 diabetes, HTN. No history of HIV. Her father had a stroke."
    diabetes = _find(text, "comorbidity", "type 2 diabetes")
    assert diabetes.value == {"condition": "Type 2 diabetes", "icd10": "E11"}
    assert _find(text, "comorbidity", "HTN").value["icd10"] == "I10"
    assert _find(text, "comorbidity", "HIV").flags.negated
    assert _find(text, "comorbidity", "stroke").flags.family
    # Abbreviations only in capitals: "af" and "cad" are not atrial fibrillation or CAD.
    assert [
        k for k, _ in _kinds("Seen after lunch; af and cad were typos.") if k == "comorbidity"
    ] == []
