"""The one variant-evidence matcher, on CIViC variant names as the extract writes them."""

from __future__ import annotations

import pytest

from inference.therapy.evidence import civic_match, protein_facts
from inference.therapy.types import Finding


def _mutation(gene: str, key: str, *, silent: bool = False, truncating: bool = False) -> Finding:
    position, deletion = protein_facts(key)
    codon = key[: len(key) - len(key.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")) + len(str(position))]
    return Finding(
        gene=gene,
        kind="mutation",
        label=key,
        protein_key=key,
        codon=codon,
        position=position,
        is_deletion=deletion,
        silent=silent,
        truncating=truncating,
    )


@pytest.mark.parametrize(
    ("finding", "gene", "name", "expected"),
    [
        (_mutation("BRAF", "V600E"), "BRAF", "V600E", "exact"),
        (_mutation("BRAF", "V600K"), "BRAF", "V600E/K", "exact"),
        (_mutation("BRAF", "V600D"), "BRAF", "V600", "codon"),
        (_mutation("KRAS", "G12C"), "KRAS", "G12/G13", "codon"),
        (_mutation("EGFR", "E746_A750DEL"), "EGFR", "EXON 19 DELETION", "class"),
        (_mutation("EGFR", "L858R"), "EGFR", "EXON 19 DELETION", None),
        (_mutation("ABL1", "T315I"), "ABL1", "BCR-ABL T315I", "exact"),
        (_mutation("TP53", "R248FS", truncating=True), "TP53", "LOSS-OF-FUNCTION", "class"),
        (_mutation("TP53", "R248Q"), "TP53", "MUTATION", "gene"),
        # Two alterations together: the patient must carry both.
        (_mutation("BRAF", "V600E"), "BRAF", "V600E and AMPLIFICATION", None),
        (_mutation("ABL1", "V299L"), "ABL1", "BCR-ABL E255K V299L", None),
        (_mutation("EGFR", "L858R"), "EGFR", "Ex19 del L858R", None),
        # A silent change matches nothing, not even the gene.
        (_mutation("BRAF", "V600=", silent=True), "BRAF", "MUTATION", None),
    ],
)
def test_a_mutation_matches_civic_names(
    finding: Finding, gene: str, name: str, expected: str | None
) -> None:
    assert civic_match(finding, gene, name) == expected


def test_fusions_match_by_partner_in_either_order_and_without_trailing_digits() -> None:
    bcr_abl = Finding(gene="ABL1", kind="fusion", label="BCR::ABL1", partner_gene="BCR")
    assert civic_match(bcr_abl, "ABL1", "BCR-ABL") == "exact"
    eml4_alk = Finding(gene="ALK", kind="fusion", label="EML4::ALK", partner_gene="EML4")
    assert civic_match(eml4_alk, "ALK", "EML4-ALK") == "exact"
    assert civic_match(eml4_alk, "ALK", "ALK FUSION") == "class"
    # A resistance mutation inside the fusion is not the fusion.
    assert civic_match(eml4_alk, "ALK", "EML4-ALK C1156Y") is None
    assert civic_match(eml4_alk, "ALK", "EML4-ALK and AMPLIFICATION") is None


def test_copy_number_and_expression() -> None:
    amplified = Finding(gene="ERBB2", kind="copy_number", label="amp", copy_number_level=2)
    assert civic_match(amplified, "ERBB2", "AMPLIFICATION") == "class"
    assert civic_match(amplified, "ERBB2", "V777L") is None
    her2 = Finding(gene="ERBB2", kind="expression", label="HER2 positive")
    assert civic_match(her2, "ERBB2", "AMPLIFICATION") == "class"


def test_protein_facts_read_the_first_residue_and_in_frame_deletions() -> None:
    assert protein_facts("E746_A750DEL") == (746, True)
    assert protein_facts("L747_P753DELINSS") == (747, True)
    assert protein_facts("R248FS") == (248, False)
    assert protein_facts("V600E") == (600, False)
