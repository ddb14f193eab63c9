"""Evidence for a variant: CIViC evidence items (CC0) and oncoref biomarker -> agent rows.

CIViC evidence comes from the therapy knowledge base's one extract (``therapies/kb``), matched
by the therapy engine's one matcher (:func:`inference.therapy.evidence.civic_match`): exact
protein change, codon, class of change (amplification, exon 19 deletion, truncating, fusion),
then gene. The match kind is kept with the evidence so the page can say how it matched.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from inference.therapy.evidence import (
    MATCH_ORDER,
    civic_by_gene,
    civic_evidence_for,
    protein_facts,
)
from inference.therapy.kbfiles import civic_evidence_read
from inference.therapy.types import EvidenceItem, Finding
from oncology_ui.clinical.diseases import THERAPY_KB_DIR as KB_DIR
from oncology_ui.clinical.parsers import VOCAB_DIR
from oncology_ui.clinical.parsers.genes import HgvsError, normalise_protein_change
from oncology_ui.clinical.parsers.variants import is_non_coding

LEVELS = ("A", "B", "C", "D", "E")
CIVIC_EVIDENCE_URL = "https://civicdb.org/links/evidence_items/{id}"
PUBMED_URL = "https://pubmed.ncbi.nlm.nih.gov/{id}/"


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

    def finding(self, *, label: str = "", gene_known: bool = True) -> Finding:
        """The matcher's finding: position and in-frame deletion read from the protein key."""
        position, deletion = protein_facts(self.protein_key) if self.protein_key else (None, False)
        return Finding(
            gene=self.gene.upper(),
            kind=self.kind,
            label=label,
            protein_key=self.protein_key,
            codon=self.codon,
            position=position,
            is_deletion=deletion,
            truncating=self.truncating,
            silent=self.silent,
            copy_number_level=self.copy_number_level,
            partner_gene=self.partner_gene.upper(),
            gene_known=gene_known,
        )


def variant_query(
    *,
    gene: str,
    kind: str,
    protein_short: str = "",
    consequence: str = "",
    copy_number_level: int | None = None,
    partner_gene: str = "",
) -> VariantQuery:
    """A recorded variant in the matcher's terms. A synonymous or non-coding change is silent:
    it matches no evidence, not even gene-level ``MUTATION`` items."""
    if kind != "mutation":
        return VariantQuery(
            gene=gene, kind=kind, copy_number_level=copy_number_level, partner_gene=partner_gene
        )
    try:
        change = normalise_protein_change(protein_short) if protein_short else None
    except HgvsError:
        change = None
    return VariantQuery(
        gene=gene,
        kind=kind,
        protein_key=change.key if change else "",
        codon=change.codon if change else "",
        truncating=change.is_truncating if change else False,
        silent=(change.is_silent if change else False) or is_non_coding(consequence),
    )


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
def _civic(folder: Path) -> tuple[dict[str, list[EvidenceItem]], str]:
    """The knowledge base's CIViC extract by gene, read as the loader reads it, and its release."""
    items, release = civic_evidence_read(folder)
    return civic_by_gene(items), release


def civic_release(*, folder: Path = KB_DIR) -> str:
    """The CIViC release the molecular table annotates with (``CIViC 01-Aug-2021``)."""
    return _civic(folder)[1]


@lru_cache(maxsize=2)
def _oncoref(folder: Path) -> dict[str, list[dict[str, str]]]:
    by_gene: dict[str, list[dict[str, str]]] = {}
    with (folder / "oncoref_key_genes.tsv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            by_gene.setdefault(row["symbol"].upper(), []).append(row)
    return by_gene


def civic_evidence(query: VariantQuery, *, folder: Path = KB_DIR) -> list[Evidence]:
    """CIViC evidence items for the finding, most specific match and best level first.

    The items and the matcher are the therapy ranking's (:mod:`inference.therapy.evidence`),
    so the table shows the evidence the ranking weighs.
    """
    by_gene, _ = _civic(folder)
    found = [_from_item(item, how) for item, how in civic_evidence_for(query.finding(), by_gene)]
    found.sort(key=lambda e: (MATCH_ORDER[e.match], LEVELS.index(e.level), int(e.evidence_id)))
    return found


def _from_item(item: EvidenceItem, how: str) -> Evidence:
    evidence_id = item.item_id.removeprefix("EID")
    return Evidence(
        source="civic",
        match=how,
        level=item.level,
        evidence_id=evidence_id,
        variant_name=f"{item.gene} {item.variant}",
        disease=item.disease,
        # The vocabulary's names (salt forms folded into the agent), capitalised for the table.
        drugs=", ".join(d[:1].upper() + d[1:] for d in item.drugs),
        evidence_type=item.evidence_type,
        direction=item.direction,
        significance=item.significance,
        citation=f"PMID {item.pmids[0]}" if item.pmids else item.citation,
        url=CIVIC_EVIDENCE_URL.format(id=evidence_id),
    )


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
    return min(candidates, key=lambda e: (LEVELS.index(e.level), MATCH_ORDER[e.match]))
