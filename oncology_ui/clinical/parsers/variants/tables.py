"""Tabular variant files: TCGA-style MAF, and OncoBoard's simple variant CSV (mutations, copy
number, fusions and biomarker rows), both read through :class:`~parsers.text.Table`.
"""

from __future__ import annotations

import re
from datetime import date
from typing import BinaryIO

from oncology_ui.clinical.parsers import Limits, ProblemLog
from oncology_ui.clinical.parsers.biomarkers import (
    BiomarkerError,
    BiomarkerRecord,
    normalise_biomarker,
)
from oncology_ui.clinical.parsers.genes import HgvsError
from oncology_ui.clinical.parsers.labs import LabValueError, PatientContext, parse_when
from oncology_ui.clinical.parsers.text import Table
from oncology_ui.clinical.parsers.variants.normalise import (
    copy_number_level,
    normalise_chromosome,
    official_gene,
    protein_change,
)
from oncology_ui.clinical.parsers.variants.records import (
    VariantRecord,
    mutation_record,
    variant_key,
)

# --- MAF -------------------------------------------------------------------------------------

#: MAF columns read, by their own names only (MAF files do not vary their spelling).
MAF_ALIASES: dict[str, tuple[str, ...]] = dict.fromkeys(
    (
        "hugo_symbol",
        "chromosome",
        "start_position",
        "reference_allele",
        "tumor_seq_allele2",
        "variant_classification",
        "hgvsp_short",
        "hgvsp",
        "protein_change",
        "hgvsc",
        "transcript_id",
        "tumor_sample_barcode",
        "t_alt_count",
        "t_ref_count",
        "t_depth",
        "mutation_status",
    ),
    (),
)
MAF_REQUIRED = (
    "hugo_symbol",
    "chromosome",
    "start_position",
    "reference_allele",
    "tumor_seq_allele2",
)


def parse_maf(handle: BinaryIO, *, limits: Limits) -> tuple[list[VariantRecord], ProblemLog]:
    """Read a TCGA-style MAF (tab-separated; ``#`` lines are comments)."""
    log = ProblemLog()
    table = Table(handle, limits, MAF_ALIASES, delimiter="\t", skip_comments=True)
    missing = [name for name in MAF_REQUIRED if name not in table.index]
    if missing:
        raise table.refuse_header(f"not a MAF header: missing {', '.join(missing)}.")
    records: list[VariantRecord] = []
    for line, cells in table.rows(too_many="more than {limit} variants; split the file."):
        where = f"line {line}"
        symbol = table.cell(cells, "hugo_symbol")
        if symbol in {"Unknown", ""}:
            log.warn(where, "intergenic variant (Hugo_Symbol Unknown); not imported.")
            continue
        try:
            records.append(_maf_row(table, where, cells, symbol))
        except (ValueError, HgvsError) as exc:
            log.add(where, f"{exc}.")
    if table.count == 0:
        log.add("file", "has a header but no variants.")
    log.raise_if_any()
    return records, log


def _maf_row(table: Table, where: str, cells: list[str], symbol: str) -> VariantRecord:
    def column(name: str) -> str:
        return table.cell(cells, name)

    gene = official_gene(symbol)
    chromosome = normalise_chromosome(column("chromosome"))
    start = column("start_position")
    if not start.isdigit():
        raise ValueError(f"Start_Position “{start[:20]}” is not a whole number")
    protein = protein_change(column("hgvsp_short") or column("hgvsp") or column("protein_change"))
    alt_count, depth = column("t_alt_count"), column("t_depth")
    if not depth and alt_count.isdigit() and column("t_ref_count").isdigit():
        depth = str(int(alt_count) + int(column("t_ref_count")))
    vaf = (
        int(alt_count) / int(depth)
        if alt_count.isdigit() and depth.isdigit() and int(depth)
        else None
    )
    ref, alt = column("reference_allele"), column("tumor_seq_allele2")
    sample = column("tumor_sample_barcode")[:80]
    return mutation_record(
        where=where,
        key=variant_key(chromosome, start, ref, alt, sample),
        gene=gene,
        gene_as_reported=symbol,
        protein=protein,
        hgvs_c=column("hgvsc"),
        transcript=column("transcript_id"),
        chromosome=chromosome,
        position=int(start),
        ref=ref,
        alt=alt,
        vaf=vaf,
        depth=depth,
        consequence=column("variant_classification"),
        germline=column("mutation_status").lower() == "germline",
        sample=sample,
    )


# --- variant CSV -----------------------------------------------------------------------------

VARIANT_CSV_COLUMNS = (
    "kind",
    "gene",
    "protein_change",
    "cdna_change",
    "partner_gene",
    "copy_number",
    "vaf",
    "biomarker",
    "method",
    "value",
    "unit",
    "status",
    "date",
    "sample",
    "variant_id",
)
VARIANT_CSV_EXAMPLE_ROWS = (
    (
        "mutation",
        "EGFR",
        "p.L858R",
        "c.2573T>G",
        "",
        "",
        "0.34",
        "",
        "",
        "",
        "",
        "",
        "2024-03-05",
        "",
        "",
    ),
    ("amplification", "ERBB2", "", "", "", "12", "", "", "", "", "", "", "2024-03-05", "", ""),
    ("fusion", "ALK", "", "", "EML4", "", "", "", "", "", "", "", "2024-03-05", "", ""),
    ("biomarker", "", "", "", "", "", "", "PD-L1", "TPS", "60%", "", "", "2024-03-05", "", ""),
    ("biomarker", "", "", "", "", "", "", "TMB", "NGS", "12.5", "mut/Mb", "", "2024-03-05", "", ""),
)
_VARIANT_ALIASES: dict[str, tuple[str, ...]] = {
    "kind": ("type", "alteration_type", "variant_type"),
    "gene": ("gene_symbol", "symbol", "hugo_symbol"),
    "protein_change": ("hgvsp", "hgvs_p", "protein", "aa_change", "amino_acid_change"),
    "cdna_change": ("hgvsc", "hgvs_c", "cdna"),
    "partner_gene": ("fusion_partner", "partner", "five_prime_gene"),
    "copy_number": ("copies", "cn"),
    "cn_level": ("gistic", "copy_number_level"),
    "vaf": ("allele_frequency", "af", "variant_allele_frequency"),
    "biomarker": (),
    "method": ("assay",),
    "value": ("score", "result"),
    "unit": ("units",),
    "status": ("interpretation",),
    "date": ("reported", "report_date", "collected"),
    "sample": ("sample_id", "specimen"),
    "variant_id": ("id",),
}
#: What the ``kind`` column may say -> (record kind, copy-number level the word implies).
_KINDS = {
    "mutation": ("mutation", None),
    "snv": ("mutation", None),
    "indel": ("mutation", None),
    "mut": ("mutation", None),
    "amplification": ("copy_number", 2),
    "amp": ("copy_number", 2),
    "gain": ("copy_number", 1),
    "loss": ("copy_number", -1),
    "deletion": ("copy_number", -2),
    "homdel": ("copy_number", -2),
    "deep deletion": ("copy_number", -2),
    "cnv": ("copy_number", None),
    "copy_number": ("copy_number", None),
    "fusion": ("fusion", None),
    "rearrangement": ("fusion", None),
    "biomarker": ("biomarker", None),
}


def parse_variant_csv(
    handle: BinaryIO, *, limits: Limits, context: PatientContext
) -> tuple[list[VariantRecord], list[BiomarkerRecord], ProblemLog]:
    """Read the simple variant CSV: mutations, copy number, fusions and biomarker rows."""
    log = ProblemLog()
    table = Table(handle, limits, _VARIANT_ALIASES)
    if "gene" not in table.index and "biomarker" not in table.index:
        raise table.refuse_header(
            "the header has no gene (or biomarker) column; download the template."
        )
    variants: list[VariantRecord] = []
    biomarkers: list[BiomarkerRecord] = []
    for line, cells in table.rows(too_many="more than {limit} rows; split the file."):
        row = _Row(table, f"line {line}", cells)
        kind_text = row["kind"].lower() or ("biomarker" if row["biomarker"] else "mutation")
        if kind_text not in _KINDS:
            log.add(
                row.where, f"kind “{kind_text[:30]}” is not one of {', '.join(sorted(_KINDS))}."
            )
            continue
        kind, level = _KINDS[kind_text]
        try:
            if kind == "biomarker":
                biomarkers.append(_biomarker_row(row, context))
            else:
                variants.append(_variant_row(row, kind, level, context))
        except (ValueError, HgvsError, LabValueError, BiomarkerError) as exc:
            log.add(row.where, f"{exc}.")
    if table.count == 0:
        log.add("file", "has a header but no rows.")
    log.raise_if_any()
    return variants, biomarkers, log


class _Row:
    """One row of the variant CSV, its cells read by canonical column name."""

    def __init__(self, table: Table, where: str, cells: list[str]) -> None:
        self.table, self.where, self.cells = table, where, cells

    def __getitem__(self, name: str) -> str:
        return self.table.cell(self.cells, name)

    def reported(self, context: PatientContext) -> date | None:
        text = self["date"]
        return parse_when(text, context=context).date() if text else None


def _biomarker_row(row: _Row, context: PatientContext) -> BiomarkerRecord:
    name, method, reported = row["biomarker"], row["method"], row.reported(context)
    return normalise_biomarker(
        name=name,
        method=method,
        value=row["value"],
        unit=row["unit"],
        status=row["status"],
        measured_on=reported,
        source_ref=row.where,
        source_key=variant_key(
            "biomarker", row["variant_id"] or (name.lower(), method.lower(), reported)
        ),
    )


def _variant_row(row: _Row, kind: str, level: int | None, context: PatientContext) -> VariantRecord:
    reported = row.reported(context)
    gene_text, partner_text = row["gene"], row["partner_gene"]
    if kind == "fusion" and not partner_text:
        parts = re.split(r"::|-|/", gene_text)
        if len(parts) == 2:
            partner_text, gene_text = parts
    record = VariantRecord(
        source_ref=row.where,
        source_key="",
        kind=kind,
        gene=official_gene(gene_text),
        gene_as_reported=gene_text[:40],
        sample=row["sample"][:80],
        reported_on=reported,
    )
    if kind == "mutation":
        _read_mutation(row, record)
    elif kind == "copy_number":
        _read_copy_number(row, record, level)
    else:
        record.partner_gene = official_gene(partner_text) if partner_text else ""
    record.source_key = variant_key(
        kind,
        row["variant_id"]
        or (
            record.gene,
            record.protein_short or record.hgvs_c,
            record.copy_number_level,
            record.partner_gene,
            record.sample,
        ),
    )
    return record


def _read_mutation(row: _Row, record: VariantRecord) -> None:
    record.protein_short, record.protein_long = protein_change(row["protein_change"])
    record.hgvs_c = row["cdna_change"][:100]
    if not (record.protein_short or record.hgvs_c):
        raise ValueError("a mutation needs a protein_change or a cdna_change")
    vaf_text = row["vaf"].rstrip("%")
    if vaf_text:
        vaf = float(vaf_text)
        vaf = vaf / 100 if vaf > 1 else vaf
        if not 0 <= vaf <= 1:
            raise ValueError(f"VAF “{vaf_text[:20]}” is not between 0 and 1 (or 0–100%)")
        record.vaf = round(vaf, 4)


def _read_copy_number(row: _Row, record: VariantRecord, level: int | None) -> None:
    """Copies, an explicit level, or the level the kind implies (amplification = 2)."""
    copies_text, level_text = row["copy_number"], row["cn_level"]
    if copies_text:
        copies = float(copies_text)
        if not 0 <= copies <= 500:
            raise ValueError(f"copy number {copies_text[:20]} is outside 0–500")
        record.copy_number = copies
        level = level if level is not None else copy_number_level(copies)
    if level_text:
        level = int(level_text)
    if level is None or not -2 <= level <= 2:
        raise ValueError("copy number needs copies, a level −2..2, or a kind such as amplification")
    record.copy_number_level = level
