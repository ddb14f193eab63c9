"""The variant record every molecular reader returns, and how a record is keyed and bounded."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date


@dataclass
class VariantRecord:
    source_ref: str
    source_key: str
    kind: str  # mutation | copy_number | fusion
    gene: str
    gene_as_reported: str
    protein_short: str = ""
    protein_long: str = ""
    hgvs_c: str = ""
    transcript: str = ""
    chromosome: str = ""
    position: int | None = None
    ref: str = ""
    alt: str = ""
    vaf: float | None = None
    depth: int | None = None
    consequence: str = ""
    origin: str = "somatic"
    sample: str = ""
    copy_number_level: int | None = None
    copy_number: float | None = None
    partner_gene: str = ""
    reported_on: date | None = None


def variant_key(*parts: object) -> str:
    """The key that makes a re-import idempotent: the same parts give the same key."""
    text = "|".join(str(part) for part in parts)
    return "var:" + hashlib.sha256(text.encode()).hexdigest()[:40]


def mutation_record(
    *,
    where: str,
    key: str,
    gene: str,
    gene_as_reported: str,
    protein: tuple[str, str],
    hgvs_c: str,
    transcript: str,
    chromosome: str,
    position: int,
    ref: str,
    alt: str,
    vaf: float | None,
    depth: str,
    consequence: str,
    germline: bool,
    sample: str,
    reported_on: date | None = None,
) -> VariantRecord:
    """A mutation called at a genomic position (VCF, MAF), its text cut to the stored lengths."""
    return VariantRecord(
        source_ref=where,
        source_key=key,
        kind="mutation",
        gene=gene,
        gene_as_reported=gene_as_reported[:40],
        protein_short=protein[0],
        protein_long=protein[1],
        hgvs_c=hgvs_c[:100],
        transcript=transcript[:40],
        chromosome=chromosome,
        position=position,
        ref=ref[:200],
        alt=alt[:200],
        vaf=round(vaf, 4) if vaf is not None else None,
        depth=int(depth) if depth.isdigit() else None,
        consequence=consequence[:80],
        origin="germline" if germline else "somatic",
        sample=sample[:80],
        reported_on=reported_on,
    )
