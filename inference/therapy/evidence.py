"""The one variant-evidence matcher: a finding against the CIViC evidence items of the KB.

The therapy ranking and the molecular table both call :func:`civic_evidence_for`, so a variant
shows the same evidence in the table as the ranking weighs. Matching, most to least specific:
the exact protein change (``V600E``, also inside a list such as ``V600E/K``), the codon
(``V600``), a class of change (``AMPLIFICATION``, ``EXON 19 DELETION``, ``TRUNCATING MUTATION``,
``EML4-ALK``), and the gene (``MUTATION``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from inference.therapy.types import EvidenceItem, Finding, KnowledgeBase, PatientState

# CIViC variant names that are exon-level classes, as residue spans (in-frame deletions).
_EXON_DELETIONS = {("EGFR", "EXON 19 DELETION"): (729, 761)}
_TRUNCATING = {"TRUNCATING MUTATION", "FRAMESHIFT TRUNCATION", "LOSS-OF-FUNCTION", "LOSS"}
_PROTEIN_TOKEN = re.compile(r"^[A-Z]\d+[A-Z*]$")
_FIRST_NUMBER = re.compile(r"\d+")
_CODON = re.compile(r"^[A-Z]\d+")
#: Match kinds, most specific first.
MATCH_ORDER = {"exact": 0, "codon": 1, "class": 2, "gene": 3}


def protein_facts(protein_key: str) -> tuple[int | None, bool]:
    """``"E746_A750DEL"`` -> (746, True): the first residue and whether it is an in-frame
    deletion (``del``/``delins``, not a frameshift), for exon-level classes."""
    key = protein_key.upper()
    digits = _FIRST_NUMBER.search(key)
    return (int(digits.group()) if digits else None), ("DEL" in key and "FS" not in key)


def _is_compound(name: str) -> bool:
    words = name.split()
    return " AND " in f" {name} " or sum(1 for w in words if _PROTEIN_TOKEN.match(w)) > 1


def _fusion_match(finding: Finding, gene: str, name: str) -> str | None:
    if gene not in {finding.gene, finding.partner_gene}:
        return None
    other = finding.partner_gene if gene == finding.gene else finding.gene
    # CIViC writes BCR-ABL for BCR::ABL1: compare without the trailing digits as well.
    for stem in {gene, gene.rstrip("0123456789")}:
        for pair in (f"{other}-{stem}", f"{stem}-{other}"):
            if not other or not name.startswith(pair):
                continue
            rest = name[len(pair) :].split()
            # "EML4-ALK C1156Y" is a resistance mutation inside the fusion, not the fusion.
            if rest and _PROTEIN_TOKEN.match(rest[-1]):
                return None
            return "exact"
    if name in {"FUSION", "FUSIONS", "REARRANGEMENT", f"{gene} FUSION", f"{gene} FUSIONS"}:
        return "class"
    return None


def _alternatives(name: str) -> set[str]:
    """``"V600E/K"`` -> {V600E, V600K}; ``"G12/G13"`` -> {G12, G13}; a plain name -> itself."""
    first, *others = name.split("/")
    codon = _CODON.match(first)
    found = {first}
    for other in others:
        found.add(codon.group() + other if codon and other.isalpha() else other)
    return found


def civic_match(finding: Finding, gene: str, name: str) -> str | None:
    """How a CIViC variant name of ``gene`` matches a finding: exact, codon, class or gene;
    None if it does not. A name of two alterations together ("V600E and AMPLIFICATION",
    "E255K V299L") matches no single finding: the patient must carry both."""
    name = " ".join(name.strip().upper().split())
    if _is_compound(name):
        return None
    if finding.kind == "fusion":
        return _fusion_match(finding, gene, name)
    if gene != finding.gene:
        return None
    if finding.kind == "expression":
        names = {"OVEREXPRESSION", "EXPRESSION"} | ({"AMPLIFICATION"} if gene == "ERBB2" else set())
        return "class" if name in names else None
    if finding.kind == "copy_number":
        level = finding.copy_number_level or 0
        if level >= 2 and name == "AMPLIFICATION":
            return "class"
        if level <= -2 and name in {"DELETION", "LOSS", "COPY NUMBER LOSS"}:
            return "class"
        return None
    if finding.silent:
        return None
    words = name.split()
    # "BCR-ABL T315I", "JAK2 F694L": a protein change after the gene or fusion names only it;
    # "Ex19 del L858R" names two alterations and matches no single finding.
    if len(words) > 1 and all(w == gene or "-" in w or w == "FUSION" for w in words[:-1]):
        name = words[-1]
    alternatives = _alternatives(name)
    if finding.protein_key and finding.protein_key in alternatives:
        return "exact"
    if finding.codon and finding.codon in alternatives:
        return "codon"
    span = _EXON_DELETIONS.get((gene, name))
    if span and finding.is_deletion and finding.position is not None:
        return "class" if span[0] <= finding.position <= span[1] else None
    if finding.truncating and name in _TRUNCATING:
        return "class"
    if name == "MUTATION":
        return "gene"
    return None


def disease_relation(kb: KnowledgeBase, source: str, disease: str, state: PatientState) -> str:
    """same | narrower | pan-cancer | other | unmapped, for evidence written for ``disease``."""
    mapped = kb.disease(source, disease)
    if mapped is None or mapped.oncotree_code == "":
        return "unmapped"
    if mapped.oncotree_code == "*":
        return "pan-cancer"
    return code_relation(mapped.oncotree_code, mapped.lineage, state.oncotree_code, state.lineage)


def code_relation(
    code: str, lineage: tuple[str, ...], case_code: str, case_lineage: tuple[str, ...]
) -> str:
    """same (the case's code or an ancestor of it), narrower (below it) or other."""
    if code in case_lineage:
        return "same"
    if case_code and case_code in lineage:
        return "narrower"
    return "other"


def civic_by_gene(items: Iterable[EvidenceItem]) -> dict[str, list[EvidenceItem]]:
    """The CIViC items of the knowledge base by gene, for :func:`civic_evidence_for`."""
    by_gene: dict[str, list[EvidenceItem]] = {}
    for item in items:
        if item.source == "civic":
            by_gene.setdefault(item.gene, []).append(item)
    return by_gene


def civic_evidence_for(
    finding: Finding, by_gene: dict[str, list[EvidenceItem]]
) -> list[tuple[EvidenceItem, str]]:
    """Every CIViC item that matches the finding, with how it matched, in the file's order.

    A fusion is looked up under both of its genes (CIViC files BCR-ABL under ABL1, EML4-ALK
    under ALK).
    """
    genes = [finding.gene]
    if finding.kind == "fusion" and finding.partner_gene:
        genes.append(finding.partner_gene)
    found = []
    for gene in genes:
        for item in by_gene.get(gene, []):
            how = civic_match(finding, gene, item.variant)
            if how is not None:
                found.append((item, how))
    return found


__all__ = [
    "MATCH_ORDER",
    "civic_by_gene",
    "civic_evidence_for",
    "civic_match",
    "code_relation",
    "disease_relation",
    "protein_facts",
]
