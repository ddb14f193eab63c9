"""Somatic variants from VCF (single or tumour/normal), TCGA-style MAF and a simple CSV.

Each reader streams its file line by line, checks every row, and returns canonical records:
official gene symbols, protein changes in both HGVS forms, ``chr``-prefixed chromosomes.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from typing import BinaryIO
from urllib.parse import unquote

from oncology_ui.clinical.parsers import ImportRejected, Limits, Problem, ProblemLog
from oncology_ui.clinical.parsers.biomarkers import (
    BiomarkerError,
    BiomarkerRecord,
    normalise_biomarker,
)
from oncology_ui.clinical.parsers.genes import HgvsError, normalise_gene, normalise_protein_change
from oncology_ui.clinical.parsers.labs import LabValueError, PatientContext, parse_when
from oncology_ui.clinical.parsers.text import cell, csv_rows, header_index, text_lines

_CHROMOSOME = re.compile(r"^(?:chr)?([1-9]|1[0-9]|2[0-2]|X|Y|M|MT)$", re.IGNORECASE)
_BASES = re.compile(r"^[ACGTN]+$", re.IGNORECASE)
_META = re.compile(r"^##([A-Za-z0-9_.\-]+)=(.*)$")
_VCF_FIXED = ("#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO")
_NON_CODING = {"Silent", "Intron", "3'UTR", "5'UTR", "IGR", "RNA", "3'Flank", "5'Flank", "lincRNA"}


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


def _key(*parts: object) -> str:
    text = "|".join(str(part) for part in parts)
    return "var:" + hashlib.sha256(text.encode()).hexdigest()[:40]


def normalise_chromosome(name: str) -> str:
    match = _CHROMOSOME.match(name.strip())
    if not match:
        raise ValueError(
            f"chromosome “{name[:30]}” is not a standard human chromosome (1–22, X, Y, MT, with "
            "or without “chr”)"
        )
    core = match.group(1).upper()
    return "chr" + ("M" if core == "MT" else core)


def _gene(symbol: str) -> str:
    official = normalise_gene(symbol)
    if official is None:
        raise ValueError(f"gene “{symbol[:30]}” is not an NCBI gene symbol or synonym")
    return official


def _protein(text: str) -> tuple[str, str]:
    text = unquote(text.strip())
    if not text or text in {".", "p.?", "p.="}:
        return "", ""
    change = normalise_protein_change(text)
    return change.short, change.long


def _fraction(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if 0.0 <= value <= 1.0 else None


# --- VCF -------------------------------------------------------------------------------------


@dataclass
class _VcfHeader:
    csq_fields: list[str]
    tumour_sample: str
    normal_sample: str
    samples: list[str]
    columns: int


def _vcf_header(lines: object, limits: Limits) -> tuple[_VcfHeader, int]:
    csq_fields: list[str] = []
    declared = {"tumor_sample": "", "normal_sample": ""}
    number = 0
    for number, line in lines:  # type: ignore[attr-defined]
        text = line.rstrip("\r\n")
        if number == 1:
            if not re.match(r"^##fileformat=VCFv4\.[0-5]$", text):
                raise ImportRejected(
                    [Problem("line 1", "is not a VCF header (expected ##fileformat=VCFv4.x).")]
                )
            continue
        if text.startswith("##"):
            match = _META.match(text)
            if not match or (match.group(2).startswith("<") and not match.group(2).endswith(">")):
                raise ImportRejected(
                    [Problem(f"line {number}", "is a malformed VCF header line (##key=value).")]
                )
            key, value = match.groups()
            if key == "INFO" and "ID=CSQ" in value and "Format:" in value:
                csq_fields = value.split("Format:", 1)[1].strip().rstrip('">').split("|")
            if key in declared:
                declared[key] = value.strip()
            continue
        if text.startswith("#CHROM"):
            columns = text.split("\t")
            if tuple(columns[:8]) != _VCF_FIXED:
                raise ImportRejected(
                    [
                        Problem(
                            f"line {number}",
                            "the column header must start with the eight VCF columns "
                            "#CHROM POS ID REF ALT QUAL FILTER INFO, separated by tabs.",
                        )
                    ]
                )
            samples = columns[9:]
            if len(columns) > 8 and columns[8] != "FORMAT":
                raise ImportRejected(
                    [Problem(f"line {number}", "the ninth column must be FORMAT.")]
                )
            if len(samples) > 2:
                raise ImportRejected(
                    [
                        Problem(
                            f"line {number}",
                            f"has {len(samples)} samples; a somatic VCF has one (tumour) or two "
                            "(tumour and normal).",
                        )
                    ]
                )
            tumour, normal = declared["tumor_sample"], declared["normal_sample"]
            if len(samples) == 2 and tumour not in samples:
                named = [s for s in samples if re.search(r"tumou?r|(^|[_-])T\d*$", s, re.I)]
                if len(named) != 1:
                    raise ImportRejected(
                        [
                            Problem(
                                f"line {number}",
                                "two samples but no way to tell which is the tumour; add "
                                "##tumor_sample=NAME to the header.",
                            )
                        ]
                    )
                tumour = named[0]
            if len(samples) == 1:
                tumour = samples[0]
            if len(samples) == 2:
                normal = next(s for s in samples if s != tumour)
            return _VcfHeader(csq_fields, tumour, normal, samples, len(columns)), number
        raise ImportRejected(
            [Problem(f"line {number}", "data before the #CHROM column header line.")]
        )
    raise ImportRejected([Problem(f"line {number + 1}", "the #CHROM column header is missing.")])


def _annotation(info: dict[str, str], allele: str, header: _VcfHeader) -> dict[str, str]:
    if "ANN" in info:
        for entry in info["ANN"].split(","):
            fields = entry.split("|")
            if len(fields) > 10 and fields[0] == allele:
                return {
                    "gene": fields[3],
                    "consequence": fields[1],
                    "transcript": fields[6],
                    "hgvs_c": fields[9],
                    "hgvs_p": fields[10],
                }
    if "CSQ" in info and header.csq_fields:
        entries = [
            dict(zip(header.csq_fields, e.split("|"), strict=False)) for e in info["CSQ"].split(",")
        ]
        chosen = next((e for e in entries if e.get("Allele") == allele), entries[0])
        return {
            "gene": chosen.get("SYMBOL", ""),
            "consequence": chosen.get("Consequence", ""),
            "transcript": chosen.get("Feature", ""),
            "hgvs_c": chosen.get("HGVSc", "").split(":")[-1],
            "hgvs_p": chosen.get("HGVSp", ""),
        }
    gene = info.get("GENE") or info.get("GENEINFO", "").split(":")[0]
    return {"gene": gene, "hgvs_p": info.get("HGVSP", "") or info.get("HGVSp", "")}


def _sample_values(columns: list[str], header: _VcfHeader, sample: str) -> dict[str, str]:
    if not sample or len(columns) < 10:
        return {}
    keys = columns[8].split(":")
    values = columns[9 + header.samples.index(sample)].split(":")
    return dict(zip(keys, values, strict=False))


def parse_vcf(
    handle: BinaryIO, *, limits: Limits, reported_on: date | None = None
) -> tuple[list[VariantRecord], ProblemLog]:
    """Read a somatic VCF; variants that did not PASS the caller's filters are left out."""
    log = ProblemLog()
    lines = text_lines(handle, limits)
    header, _ = _vcf_header(lines, limits)
    records: list[VariantRecord] = []
    count = filtered = 0
    for number, line in lines:
        text = line.rstrip("\r\n")
        if not text:
            continue
        count += 1
        if count > limits.max_rows:
            raise ImportRejected(
                [
                    Problem(
                        f"line {number}", f"more than {limits.max_rows:,} variants; split the file."
                    )
                ]
            )
        where = f"line {number}"
        columns = text.split("\t")
        if len(columns) != header.columns:
            log.add(
                where, f"has {len(columns)} tab-separated columns; the header has {header.columns}."
            )
            continue
        chrom, pos, _id, ref, alts, _qual, filt, info_text = columns[:8]
        try:
            chromosome = normalise_chromosome(chrom)
        except ValueError as exc:
            log.add(where, f"{exc}.")
            continue
        if not pos.isdigit() or int(pos) < 1 or len(pos) > 10:
            log.add(where, f"position “{pos[:20]}” is not a positive whole number.")
            continue
        if not _BASES.match(ref):
            log.add(where, f"reference allele “{ref[:20]}” is not made of A, C, G, T, N.")
            continue
        if filt not in {"PASS", "."}:
            filtered += 1
            continue
        info: dict[str, str] = {}
        for item in info_text.split(";"):
            key, _, value = item.partition("=")
            info[key] = value
        tumour = _sample_values(columns, header, header.tumour_sample)
        for index, alt in enumerate(alts.split(",")):
            if alt in {".", "*"}:
                continue
            if not _BASES.match(alt):
                log.warn(where, f"alternative allele “{alt[:20]}” is structural; not imported.")
                continue
            annotation = _annotation(info, alt, header)
            try:
                gene = _gene(annotation["gene"]) if annotation.get("gene") else ""
                short, long = _protein(annotation.get("hgvs_p", ""))
            except (ValueError, HgvsError) as exc:
                log.add(where, f"{exc}.")
                continue
            if not gene:
                log.warn(where, "no gene annotation (ANN, CSQ or GENE); shown by position only.")
            vaf: float | None = None
            if "AF" in tumour:
                vaf = _fraction(tumour["AF"].split(",")[index])
            elif "AD" in tumour:
                depths = [int(d) for d in tumour["AD"].split(",") if d.isdigit()]
                reads = sum(depths, 0)
                if len(depths) > index + 1 and reads:
                    vaf = depths[index + 1] / reads
            depth = tumour.get("DP", "")
            records.append(
                VariantRecord(
                    source_ref=where,
                    source_key=_key(
                        chromosome, pos, ref.upper(), alt.upper(), header.tumour_sample
                    ),
                    kind="mutation",
                    gene=gene,
                    gene_as_reported=annotation.get("gene", ""),
                    protein_short=short,
                    protein_long=long,
                    hgvs_c=annotation.get("hgvs_c", "")[:100],
                    transcript=annotation.get("transcript", "")[:40],
                    chromosome=chromosome,
                    position=int(pos),
                    ref=ref.upper()[:200],
                    alt=alt.upper()[:200],
                    vaf=round(vaf, 4) if vaf is not None else None,
                    depth=int(depth) if depth.isdigit() else None,
                    consequence=annotation.get("consequence", "")[:80],
                    origin="germline" if "GERMLINE" in info else "somatic",
                    sample=header.tumour_sample[:80],
                    reported_on=reported_on,
                )
            )
    if filtered:
        log.warn("file", f"{filtered} variants did not pass the caller's filters; not imported.")
    log.raise_if_any()
    return records, log


# --- MAF -------------------------------------------------------------------------------------

MAF_ALIASES: dict[str, tuple[str, ...]] = {
    "hugo_symbol": (),
    "chromosome": (),
    "start_position": (),
    "reference_allele": (),
    "tumor_seq_allele2": (),
    "variant_classification": (),
    "hgvsp_short": (),
    "hgvsp": (),
    "protein_change": (),
    "hgvsc": (),
    "transcript_id": (),
    "tumor_sample_barcode": (),
    "t_alt_count": (),
    "t_ref_count": (),
    "t_depth": (),
    "mutation_status": (),
}


def parse_maf(handle: BinaryIO, *, limits: Limits) -> tuple[list[VariantRecord], ProblemLog]:
    """Read a TCGA-style MAF (tab-separated; ``#`` lines are comments)."""
    log = ProblemLog()
    rows = csv_rows(handle, limits, delimiter="\t", skip_comments=True)
    first = next(rows, None)
    if first is None:
        raise ImportRejected([Problem("file", "is empty.")])
    header_line, header = first
    index = header_index(header, MAF_ALIASES, line=header_line)
    required = (
        "hugo_symbol",
        "chromosome",
        "start_position",
        "reference_allele",
        "tumor_seq_allele2",
    )
    missing = [name for name in required if name not in index]
    if missing:
        raise ImportRejected(
            [Problem(f"line {header_line}", f"not a MAF header: missing {', '.join(missing)}.")]
        )
    records: list[VariantRecord] = []
    count = 0
    for line, cells in rows:
        count += 1
        if count > limits.max_rows:
            raise ImportRejected(
                [
                    Problem(
                        f"line {line}", f"more than {limits.max_rows:,} variants; split the file."
                    )
                ]
            )
        where = f"line {line}"
        symbol = cell(cells, index, "hugo_symbol")
        if symbol in {"Unknown", ""}:
            log.warn(where, "intergenic variant (Hugo_Symbol Unknown); not imported.")
            continue
        try:
            gene = _gene(symbol)
            chromosome = normalise_chromosome(cell(cells, index, "chromosome"))
            start = cell(cells, index, "start_position")
            if not start.isdigit():
                raise ValueError(f"Start_Position “{start[:20]}” is not a whole number")
            protein = (
                cell(cells, index, "hgvsp_short")
                or cell(cells, index, "hgvsp")
                or cell(cells, index, "protein_change")
            )
            short, long = _protein(protein)
        except (ValueError, HgvsError) as exc:
            log.add(where, f"{exc}.")
            continue
        alt_count, depth = cell(cells, index, "t_alt_count"), cell(cells, index, "t_depth")
        if not depth and alt_count.isdigit() and cell(cells, index, "t_ref_count").isdigit():
            depth = str(int(alt_count) + int(cell(cells, index, "t_ref_count")))
        vaf = (
            int(alt_count) / int(depth)
            if alt_count.isdigit() and depth.isdigit() and int(depth)
            else None
        )
        ref, alt = cell(cells, index, "reference_allele"), cell(cells, index, "tumor_seq_allele2")
        sample = cell(cells, index, "tumor_sample_barcode")[:80]
        records.append(
            VariantRecord(
                source_ref=where,
                source_key=_key(chromosome, start, ref, alt, sample),
                kind="mutation",
                gene=gene,
                gene_as_reported=symbol[:40],
                protein_short=short,
                protein_long=long,
                hgvs_c=cell(cells, index, "hgvsc")[:100],
                transcript=cell(cells, index, "transcript_id")[:40],
                chromosome=chromosome,
                position=int(start),
                ref=ref[:200],
                alt=alt[:200],
                vaf=round(vaf, 4) if vaf is not None else None,
                depth=int(depth) if depth.isdigit() else None,
                consequence=cell(cells, index, "variant_classification")[:80],
                origin="germline"
                if cell(cells, index, "mutation_status").lower() == "germline"
                else "somatic",
                sample=sample,
            )
        )
    if count == 0:
        log.add("file", "has a header but no variants.")
    log.raise_if_any()
    return records, log


def is_non_coding(consequence: str) -> bool:
    return consequence in _NON_CODING or consequence.startswith(("synonymous", "intron", "UTR"))


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


def copy_number_level(copies: float) -> int:
    """GISTIC-like level from absolute copies in a diploid genome.

    0 -> -2 (deep deletion), 1 -> -1, 2 -> 0, 3-5 -> 1 (gain), 6 or more -> 2 (amplification,
    the ISH threshold of 6 copies used for HER2).
    """
    if copies < 0.5:
        return -2
    if copies < 1.5:
        return -1
    if copies < 2.5:
        return 0
    return 1 if copies < 6 else 2


def parse_variant_csv(
    handle: BinaryIO, *, limits: Limits, context: PatientContext
) -> tuple[list[VariantRecord], list[BiomarkerRecord], ProblemLog]:
    """Read the simple variant CSV: mutations, copy number, fusions and biomarker rows."""
    log = ProblemLog()
    rows = csv_rows(handle, limits)
    first = next(rows, None)
    if first is None:
        raise ImportRejected([Problem("file", "is empty.")])
    header_line, header = first
    index = header_index(header, _VARIANT_ALIASES, line=header_line)
    if "gene" not in index and "biomarker" not in index:
        raise ImportRejected(
            [
                Problem(
                    f"line {header_line}",
                    "the header has no gene (or biomarker) column; download the template.",
                )
            ]
        )
    variants: list[VariantRecord] = []
    biomarkers: list[BiomarkerRecord] = []
    count = 0
    for line, cells in rows:
        count += 1
        if count > limits.max_rows:
            raise ImportRejected(
                [Problem(f"line {line}", f"more than {limits.max_rows:,} rows; split the file.")]
            )
        where = f"line {line}"
        kind_text = cell(cells, index, "kind").lower() or (
            "biomarker" if cell(cells, index, "biomarker") else "mutation"
        )
        if kind_text not in _KINDS:
            log.add(where, f"kind “{kind_text[:30]}” is not one of {', '.join(sorted(_KINDS))}.")
            continue
        kind, level = _KINDS[kind_text]
        try:
            date_text = cell(cells, index, "date")
            reported = parse_when(date_text, context=context).date() if date_text else None
            identity = cell(cells, index, "variant_id")
            if kind == "biomarker":
                name, method = cell(cells, index, "biomarker"), cell(cells, index, "method")
                biomarkers.append(
                    normalise_biomarker(
                        name=name,
                        method=method,
                        value=cell(cells, index, "value"),
                        unit=cell(cells, index, "unit"),
                        status=cell(cells, index, "status"),
                        measured_on=reported,
                        source_ref=where,
                        source_key=_key(
                            "biomarker", identity or (name.lower(), method.lower(), reported)
                        ),
                    )
                )
                continue
            gene_text = cell(cells, index, "gene")
            partner_text = cell(cells, index, "partner_gene")
            if kind == "fusion" and not partner_text:
                parts = re.split(r"::|-|/", gene_text)
                if len(parts) == 2:
                    partner_text, gene_text = parts
            gene = _gene(gene_text)
            record = VariantRecord(
                source_ref=where,
                source_key="",
                kind=kind,
                gene=gene,
                gene_as_reported=gene_text[:40],
                sample=cell(cells, index, "sample")[:80],
                reported_on=reported,
            )
            if kind == "mutation":
                record.protein_short, record.protein_long = _protein(
                    cell(cells, index, "protein_change")
                )
                record.hgvs_c = cell(cells, index, "cdna_change")[:100]
                if not (record.protein_short or record.hgvs_c):
                    raise ValueError("a mutation needs a protein_change or a cdna_change")
                vaf_text = cell(cells, index, "vaf").rstrip("%")
                if vaf_text:
                    vaf = float(vaf_text)
                    vaf = vaf / 100 if vaf > 1 else vaf
                    if not 0 <= vaf <= 1:
                        raise ValueError(
                            f"VAF “{vaf_text[:20]}” is not between 0 and 1 (or 0–100%)"
                        )
                    record.vaf = round(vaf, 4)
            elif kind == "copy_number":
                copies_text = cell(cells, index, "copy_number")
                level_text = cell(cells, index, "cn_level")
                if copies_text:
                    copies = float(copies_text)
                    if not 0 <= copies <= 500:
                        raise ValueError(f"copy number {copies_text[:20]} is outside 0–500")
                    record.copy_number = copies
                    level = level if level is not None else copy_number_level(copies)
                if level_text:
                    level = int(level_text)
                if level is None or not -2 <= level <= 2:
                    raise ValueError(
                        "copy number needs copies, a level −2..2, or a kind such as amplification"
                    )
                record.copy_number_level = level
            else:
                record.partner_gene = _gene(partner_text) if partner_text else ""
            record.source_key = _key(
                kind,
                identity
                or (
                    gene,
                    record.protein_short or record.hgvs_c,
                    record.copy_number_level,
                    record.partner_gene,
                    record.sample,
                ),
            )
            variants.append(record)
        except (ValueError, HgvsError, LabValueError, BiomarkerError) as exc:
            log.add(where, f"{exc}.")
    if count == 0:
        log.add("file", "has a header but no rows.")
    log.raise_if_any()
    return variants, biomarkers, log
