"""Evidence for a variant: CIViC evidence items (CC0) and oncoref biomarker -> agent rows.

Matching, most to least specific: the exact protein change (``V600E``), the codon (``V600``), the
gene for a class of change (``AMPLIFICATION``, ``EML4-ALK``, ``TRUNCATING MUTATION``), and the
gene (``MUTATION``). The match kind is kept with the evidence so the page can say how it matched.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from oncology_ui.clinical.parsers import VOCAB_DIR

LEVELS = ("A", "B", "C", "D", "E")
CIVIC_EVIDENCE_URL = "https://civicdb.org/links/evidence_items/{id}"
PUBMED_URL = "https://pubmed.ncbi.nlm.nih.gov/{id}/"
_MATCH_ORDER = {"exact": 0, "codon": 1, "class": 2, "gene": 3}


@dataclass(frozen=True)
class VariantQuery:
    """What is known of a finding, in canonical form."""

    gene: str
    kind: str  # mutation | copy_number | fusion
    protein_key: str = ""  # V600E
    codon: str = ""  # V600
    truncating: bool = False
    silent: bool = False
    copy_number_level: int | None = None
    partner_gene: str = ""  # for fusions: the 5' partner when ``gene`` is the 3' one


@dataclass(frozen=True)
class Evidence:
    source: str  # civic | oncoref
    match: str  # exact | codon | class | gene
    level: str
    evidence_id: str
    variant_name: str
    disease: str
    drugs: str
    evidence_type: str
    direction: str
    significance: str
    citation: str
    url: str


@lru_cache(maxsize=2)
def _civic(folder: Path) -> dict[str, list[dict[str, str]]]:
    by_gene: dict[str, list[dict[str, str]]] = {}
    with (folder / "civic_evidence.tsv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            by_gene.setdefault(row["gene"].upper(), []).append(row)
    return by_gene


@lru_cache(maxsize=2)
def _oncoref(folder: Path) -> dict[str, list[dict[str, str]]]:
    by_gene: dict[str, list[dict[str, str]]] = {}
    with (folder / "oncoref_key_genes.tsv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            by_gene.setdefault(row["symbol"].upper(), []).append(row)
    return by_gene


def _civic_match(query: VariantQuery, name: str) -> str | None:
    name = name.strip().upper()
    gene = query.gene.upper()
    if query.kind == "mutation":
        if query.silent:
            return None
        if query.protein_key and name == query.protein_key:
            return "exact"
        if query.codon and name == query.codon:
            return "codon"
        if query.truncating and name in {
            "TRUNCATING MUTATION",
            "FRAMESHIFT TRUNCATION",
            "LOSS-OF-FUNCTION",
        }:
            return "class"
        if name == "MUTATION":
            return "gene"
        return None
    if query.kind == "copy_number":
        level = query.copy_number_level or 0
        if level >= 2 and name == "AMPLIFICATION":
            return "class"
        if level <= -2 and name in {"DELETION", "LOSS", "COPY NUMBER LOSS"}:
            return "class"
        return None
    if query.kind == "fusion":
        pair = f"{query.partner_gene.upper()}-{gene}" if query.partner_gene else ""
        if pair and (name == pair or name.startswith(pair + " ")):
            return "exact"
        if name in {"FUSION", "FUSIONS", f"{gene} FUSION", f"{gene} FUSIONS"}:
            return "class"
    return None


def civic_evidence(query: VariantQuery, *, folder: Path = VOCAB_DIR) -> list[Evidence]:
    """CIViC evidence items for the finding, most specific match and best level first."""
    found: list[Evidence] = []
    genes = [query.gene.upper()]
    if query.kind == "fusion" and query.partner_gene:
        genes.append(query.partner_gene.upper())
    for gene in genes:
        for row in _civic(folder).get(gene, []):
            target = query if gene == query.gene.upper() else _swap(query)
            match = _civic_match(target, row["variant"])
            if match is None:
                continue
            found.append(
                Evidence(
                    source="civic",
                    match=match,
                    level=row["evidence_level"],
                    evidence_id=row["evidence_id"],
                    variant_name=f"{row['gene']} {row['variant']}",
                    disease=row["disease"],
                    drugs=row["drugs"].replace(",", ", "),
                    evidence_type=row["evidence_type"],
                    direction=row["evidence_direction"],
                    significance=row["clinical_significance"],
                    citation=f"PMID {row['citation_id']}"
                    if row["source_type"] == "PubMed"
                    else row["citation_id"],
                    url=CIVIC_EVIDENCE_URL.format(id=row["evidence_id"]),
                )
            )
    found.sort(key=lambda e: (_MATCH_ORDER[e.match], LEVELS.index(e.level), int(e.evidence_id)))
    return found


def _swap(query: VariantQuery) -> VariantQuery:
    return VariantQuery(gene=query.partner_gene, kind=query.kind, partner_gene=query.gene)


def oncoref_rows(query: VariantQuery, *, folder: Path = VOCAB_DIR) -> list[Evidence]:
    """oncoref's biomarker and target rows for the gene (they are gene-level by nature)."""
    if query.kind == "mutation" and query.silent:
        return []
    rows = []
    for row in _oncoref(folder).get(query.gene.upper(), []):
        source = row["source"]
        pmid = source.removeprefix("PMID:") if source.startswith("PMID:") else ""
        rows.append(
            Evidence(
                source="oncoref",
                match="gene",
                level=row["phase"] or row["role"],
                evidence_id=source,
                variant_name=row["symbol"],
                disease=row["indication"] or row["cancer_code"],
                drugs=row["agent"],
                evidence_type=row["role"],
                direction="",
                significance=row["rationale"],
                citation=source,
                url=PUBMED_URL.format(id=pmid) if pmid else "",
            )
        )
    return rows


def best_level(evidence: list[Evidence]) -> Evidence | None:
    """The actionability badge: the best-level predictive CIViC item matched beyond gene level."""
    candidates = [
        e
        for e in evidence
        if e.source == "civic"
        and e.match != "gene"
        and e.evidence_type == "Predictive"
        and e.direction == "Supports"
    ]
    if not candidates:
        return None
    return min(candidates, key=lambda e: (LEVELS.index(e.level), _MATCH_ORDER[e.match]))
