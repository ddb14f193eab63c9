"""Reading variants and the OncoTree diagnosis from real-looking notes, with their negated,
historical, hypothetical and family forms (plain Python, no database)."""

from __future__ import annotations

from pathlib import Path

import pytest
import simple_icd_10_cm as icd

from oncology_ui.clinical.parsers.genes import normalise_gene
from oncology_ui.notes.reading import Proposal, read_document
from oncology_ui.notes.reading.diagnosis import diagnosis_codes
from oncology_ui.notes.reading.variants import COMMON_GENES
from oncology_ui.patients.vocabularies import icd10_is_neoplasm, oncotree_lookup

NOTE = (
    Path(__file__).resolve().parents[2] / "fixtures" / "notes" / "thoracic_molecular_note.txt"
).read_text()


def _find(text: str, kind: str, evidence: str) -> Proposal:
    found = [p for p in read_document(text) if p.kind == kind and text[p.start : p.end] == evidence]
    assert len(found) == 1, [(p.kind, text[p.start : p.end]) for p in read_document(text)]
    return found[0]


def _flags(proposal: Proposal) -> set[str]:
    return {name for name, on in vars(proposal.flags).items() if on}


def _variants(text: str) -> list[tuple[str, str, str, set[str]]]:
    return [
        (str(p.value["gene"]), str(p.value["variant_kind"]), str(p.value["protein"]), _flags(p))
        for p in read_document(text)
        if p.kind == "variant"
    ]


def test_it_reads_a_current_protein_change_with_its_official_symbol_and_both_hgvs_forms() -> None:
    egfr = _find(NOTE, "variant", "EGFR p.L858R")
    assert egfr.value["gene"] == "EGFR" and egfr.value["variant_kind"] == "mutation"
    assert (egfr.value["protein"], egfr.value["protein_long"]) == ("p.L858R", "p.Leu858Arg")
    assert _flags(egfr) == set()
    tp53 = _find(NOTE, "variant", "TP53 c.524G>A (p.R175H)")
    assert (tp53.value["hgvs_c"], tp53.value["protein"]) == ("c.524G>A", "p.R175H")


@pytest.mark.parametrize(
    ("text", "gene", "kind", "protein", "detail"),
    [
        ("KRAS G12D was detected.", "KRAS", "mutation", "p.G12D", ""),
        ("EGFR exon 19 deletion.", "EGFR", "mutation", "", "exon 19 deletion"),
        ("BRAF V600E mutation detected.", "BRAF", "mutation", "p.V600E", ""),
        ("BRAF p.(Val600Glu).", "BRAF", "mutation", "p.V600E", ""),
        ("ALK rearrangement by FISH.", "ALK", "fusion", "", ""),
        ("EML4-ALK fusion positive.", "ALK", "fusion", "", ""),
        ("HER2 amplification by FISH.", "ERBB2", "copy_number", "", ""),
        ("KRAS-mutant tumour.", "KRAS", "mutation", "", ""),
        ("BRCA2 c.5946delT (p.Ser1982Argfs*22).", "BRCA2", "mutation", "p.S1982Rfs*22", ""),
    ],
)
def test_it_reads_each_way_a_variant_is_written(
    text: str, gene: str, kind: str, protein: str, detail: str
) -> None:
    (found,) = [p for p in read_document(text) if p.kind == "variant"]
    assert (found.value["gene"], found.value["variant_kind"], found.value["protein"]) == (
        gene,
        kind,
        protein,
    )
    assert found.value["exon_change"] == detail
    assert _flags(found) == set()


def test_a_fusion_keeps_its_five_prime_partner_and_a_synonym_its_written_form() -> None:
    (fusion,) = [p for p in read_document("EML4-ALK fusion positive.") if p.kind == "variant"]
    assert fusion.value["partner_gene"] == "EML4" and fusion.label == "ALK EML4::ALK fusion"
    (her2,) = [p for p in read_document("HER2 amplification.") if p.kind == "variant"]
    assert her2.value["gene_as_reported"] == "HER2" and "written HER2" in her2.label


def test_negated_and_wild_type_results_are_flagged_negated() -> None:
    assert ("ALK", "fusion", "", {"negated"}) in _variants(NOTE)
    assert ("ROS1", "fusion", "", {"negated"}) in _variants(NOTE)
    assert ("KRAS", "mutation", "", {"negated"}) in _variants(NOTE)  # "KRAS wild-type"
    assert ("BRAF", "mutation", "p.V600E", {"negated"}) in _variants(NOTE)  # "not detected"
    listed = _variants("No EGFR, KRAS or BRAF mutations were found.")
    assert [(g, f) for g, _, _, f in listed] == [
        ("EGFR", {"negated"}),
        ("KRAS", {"negated"}),
        ("BRAF", {"negated"}),
    ]


def test_a_family_members_variant_is_flagged_family_never_the_patients() -> None:
    brca1 = _find(NOTE, "variant", "BRCA1 mutation")
    assert "family" in _flags(brca1)
    assert "family" in _flags(
        _find("Her sister carries a BRCA2 mutation.", "variant", "BRCA2 mutation")
    )


def test_a_germline_result_keeps_its_origin_and_a_planned_test_is_hypothetical() -> None:
    germline = [p for p in read_document(NOTE) if p.value.get("origin") == "germline"]
    assert {p.value["gene"] for p in germline} == {"BRCA1", "BRCA2"}
    assert all("negated" in _flags(p) for p in germline)
    t790m = _find(NOTE, "variant", "EGFR T790M")
    assert "hypothetical" in _flags(t790m)


@pytest.mark.parametrize(
    "text",
    [
        "EGFR mutation testing was sent.",
        "KRAS mutation status: pending.",
        "ECOG 1. CT chest, MRI brain. PCR negative.",
        "Stage IV disease; T2 N1 M0.",
        "ER 90%, PR 10%, HER2 1+.",
    ],
)
def test_tests_ordered_and_other_capitals_are_not_variants(text: str) -> None:
    assert _variants(text) == []


def test_an_unknown_gene_symbol_is_not_proposed() -> None:
    assert _variants("XYZQ9 G12D mutation detected.") == []


def test_it_reads_the_diagnosis_as_an_oncotree_code_with_icd10_and_side() -> None:
    luad = _find(NOTE, "diagnosis", "Lung adenocarcinoma of the right upper lobe")
    assert luad.value["oncotree_code"] == "LUAD" and luad.value["icd10"] == "C34.9"
    assert luad.value["laterality"] == "right" and _flags(luad) == set()


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Invasive ductal carcinoma of the left breast, grade 2.", "IDC"),
        ("Lung adenocarcinoma.", "LUAD"),
        ("Metastatic colorectal adenocarcinoma.", "COADREAD"),
        ("Glioblastoma, IDH-wildtype.", "GB"),
        ("High-grade serous ovarian carcinoma, FIGO IIIC.", "HGSOC"),
        ("Non-small cell lung cancer.", "NSCLC"),
        ("Small cell lung cancer, extensive stage.", "SCLC"),
    ],
)
def test_each_common_diagnosis_gets_its_oncotree_code(text: str, code: str) -> None:
    found = [p for p in read_document(text) if p.kind == "diagnosis"]
    assert [p.value["oncotree_code"] for p in found] == [code]


def test_family_rule_out_and_past_diagnoses_are_flagged() -> None:
    assert "family" in _flags(_find(NOTE, "diagnosis", "breast cancer"))
    past = _find(NOTE, "diagnosis", "invasive ductal carcinoma of the left breast")
    assert "historical" in _flags(past)
    rule_out = _find(NOTE, "diagnosis", "small cell lung cancer")
    assert {"negated", "hypothetical"} & _flags(rule_out)
    suspected = _find(
        "Findings suspicious for lung adenocarcinoma.", "diagnosis", "lung adenocarcinoma"
    )
    assert "hypothetical" in _flags(suspected)


def test_every_diagnosis_entry_is_an_oncotree_code_and_an_icd10_neoplasm_category() -> None:
    for code, category in diagnosis_codes():
        assert oncotree_lookup(code) is not None, code
        if category:
            assert icd.is_valid_item(category) and icd10_is_neoplasm(category), category


def test_her2_amplified_is_one_ish_biomarker_not_also_a_variant() -> None:
    text = "HER2 amplified by FISH."
    assert _variants(text) == []
    (her2,) = [p for p in read_document(text) if p.kind == "biomarker"]
    assert (her2.value["method"], her2.value["derived_status"]) == ("ISH", "positive")


def test_the_common_gene_fast_path_gives_what_the_ncbi_table_gives() -> None:
    assert [s for s in sorted(COMMON_GENES) if normalise_gene(s) != s] == []
