"""Somatic VCF (one tumour sample, or tumour and normal): header, annotations, and calls.

The reader streams the file line by line; genes come from the caller's annotation (SnpEff
``ANN``, VEP ``CSQ``, or a plain ``GENE``/``GENEINFO``), allele fractions from the tumour's
``AF`` or ``AD``. Calls that did not PASS the caller's filters are left out and counted.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import BinaryIO

from oncology_ui.clinical.parsers import ImportRejected, Limits, Problem, ProblemLog
from oncology_ui.clinical.parsers.genes import HgvsError
from oncology_ui.clinical.parsers.text import text_lines
from oncology_ui.clinical.parsers.variants.normalise import (
    fraction,
    normalise_chromosome,
    official_gene,
    protein_change,
)
from oncology_ui.clinical.parsers.variants.records import (
    VariantRecord,
    mutation_record,
    variant_key,
)

_BASES = re.compile(r"^[ACGTN]+$", re.IGNORECASE)
_META = re.compile(r"^##([A-Za-z0-9_.\-]+)=(.*)$")
_VCF_FIXED = ("#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO")
_TUMOUR_NAME = re.compile(r"tumou?r|(^|[_-])T\d*$", re.IGNORECASE)


@dataclass
class _VcfHeader:
    csq_fields: list[str] = field(default_factory=list)
    tumour_sample: str = ""
    normal_sample: str = ""
    samples: list[str] = field(default_factory=list)
    columns: int = 8


def _refuse(number: int, message: str) -> ImportRejected:
    return ImportRejected([Problem(f"line {number}", message)])


def _vcf_header(lines: Iterator[tuple[int, str]]) -> _VcfHeader:
    """Read the ``##`` meta lines and the ``#CHROM`` line; the data lines follow."""
    header = _VcfHeader()
    number = 0
    for number, line in lines:
        text = line.rstrip("\r\n")
        if number == 1:
            if not re.match(r"^##fileformat=VCFv4\.[0-5]$", text):
                raise _refuse(1, "is not a VCF header (expected ##fileformat=VCFv4.x).")
        elif text.startswith("##"):
            _read_meta(number, text, header)
        elif text.startswith("#CHROM"):
            _read_columns(number, text.split("\t"), header)
            return header
        else:
            raise _refuse(number, "data before the #CHROM column header line.")
    raise _refuse(number + 1, "the #CHROM column header is missing.")


def _read_meta(number: int, text: str, header: _VcfHeader) -> None:
    match = _META.match(text)
    if not match or (match.group(2).startswith("<") and not match.group(2).endswith(">")):
        raise _refuse(number, "is a malformed VCF header line (##key=value).")
    key, value = match.groups()
    if key == "INFO" and "ID=CSQ" in value and "Format:" in value:
        header.csq_fields = value.split("Format:", 1)[1].strip().rstrip('">').split("|")
    if key == "tumor_sample":
        header.tumour_sample = value.strip()
    if key == "normal_sample":
        header.normal_sample = value.strip()


def _read_columns(number: int, columns: list[str], header: _VcfHeader) -> None:
    """The column header: eight fixed columns, then FORMAT and one or two samples."""
    if tuple(columns[:8]) != _VCF_FIXED:
        raise _refuse(
            number,
            "the column header must start with the eight VCF columns "
            "#CHROM POS ID REF ALT QUAL FILTER INFO, separated by tabs.",
        )
    samples = columns[9:]
    if len(columns) > 8 and columns[8] != "FORMAT":
        raise _refuse(number, "the ninth column must be FORMAT.")
    if len(samples) > 2:
        raise _refuse(
            number,
            f"has {len(samples)} samples; a somatic VCF has one (tumour) or two "
            "(tumour and normal).",
        )
    if len(samples) == 2 and header.tumour_sample not in samples:
        named = [s for s in samples if _TUMOUR_NAME.search(s)]
        if len(named) != 1:
            raise _refuse(
                number,
                "two samples but no way to tell which is the tumour; add "
                "##tumor_sample=NAME to the header.",
            )
        header.tumour_sample = named[0]
    if len(samples) == 1:
        header.tumour_sample = samples[0]
    if len(samples) == 2:
        header.normal_sample = next(s for s in samples if s != header.tumour_sample)
    header.samples, header.columns = samples, len(columns)


def _annotation(info: dict[str, str], allele: str, header: _VcfHeader) -> dict[str, str]:
    """Gene, consequence, transcript and HGVS of one allele, from ANN, CSQ or GENE."""
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


def _allele_fraction(tumour: dict[str, str], index: int) -> float | None:
    """The tumour's fraction of reads for alternative allele ``index`` (AF, else from AD)."""
    if "AF" in tumour:
        return fraction(tumour["AF"].split(",")[index])
    if "AD" in tumour:
        depths = [int(d) for d in tumour["AD"].split(",") if d.isdigit()]
        reads = sum(depths, 0)
        if len(depths) > index + 1 and reads:
            return depths[index + 1] / reads
    return None


def parse_vcf(
    handle: BinaryIO, *, limits: Limits, reported_on: date | None = None
) -> tuple[list[VariantRecord], ProblemLog]:
    """Read a somatic VCF; variants that did not PASS the caller's filters are left out."""
    log = ProblemLog()
    lines = text_lines(handle, limits)
    header = _vcf_header(lines)
    records: list[VariantRecord] = []
    count = filtered = 0
    for number, line in lines:
        text = line.rstrip("\r\n")
        if not text:
            continue
        count += 1
        if count > limits.max_rows:
            raise _refuse(number, f"more than {limits.max_rows:,} variants; split the file.")
        columns = text.split("\t")
        if len(columns) != header.columns:
            log.add(
                f"line {number}",
                f"has {len(columns)} tab-separated columns; the header has {header.columns}.",
            )
        elif _position_is_valid(number, columns, log):
            if columns[6] in {"PASS", "."}:
                records.extend(_calls(number, columns, header, log, reported_on))
            else:
                filtered += 1
    if filtered:
        log.warn("file", f"{filtered} variants did not pass the caller's filters; not imported.")
    log.raise_if_any()
    return records, log


def _position_is_valid(number: int, columns: list[str], log: ProblemLog) -> bool:
    """Chromosome, position and reference allele are readable (problems are logged)."""
    chrom, pos, _id, ref = columns[:4]
    where = f"line {number}"
    try:
        normalise_chromosome(chrom)
    except ValueError as exc:
        log.add(where, f"{exc}.")
        return False
    if not pos.isdigit() or int(pos) < 1 or len(pos) > 10:
        log.add(where, f"position “{pos[:20]}” is not a positive whole number.")
        return False
    if not _BASES.match(ref):
        log.add(where, f"reference allele “{ref[:20]}” is not made of A, C, G, T, N.")
        return False
    return True


def _calls(
    number: int,
    columns: list[str],
    header: _VcfHeader,
    log: ProblemLog,
    reported_on: date | None,
) -> Iterator[VariantRecord]:
    """The records of one valid data line: one per alternative allele that is a sequence change."""
    where = f"line {number}"
    chrom, pos, _id, ref, alts, _qual, _filter, info_text = columns[:8]
    info = {key: value for key, _, value in (item.partition("=") for item in info_text.split(";"))}
    tumour = _sample_values(columns, header, header.tumour_sample)
    for index, alt in enumerate(alts.split(",")):
        if alt in {".", "*"}:
            continue
        if not _BASES.match(alt):
            log.warn(where, f"alternative allele “{alt[:20]}” is structural; not imported.")
            continue
        annotation = _annotation(info, alt, header)
        try:
            gene = official_gene(annotation["gene"]) if annotation.get("gene") else ""
            protein = protein_change(annotation.get("hgvs_p", ""))
        except (ValueError, HgvsError) as exc:
            log.add(where, f"{exc}.")
            continue
        if not gene:
            log.warn(where, "no gene annotation (ANN, CSQ or GENE); shown by position only.")
        chromosome = normalise_chromosome(chrom)
        yield mutation_record(
            where=where,
            key=variant_key(chromosome, pos, ref.upper(), alt.upper(), header.tumour_sample),
            gene=gene,
            gene_as_reported=annotation.get("gene", ""),
            protein=protein,
            hgvs_c=annotation.get("hgvs_c", ""),
            transcript=annotation.get("transcript", ""),
            chromosome=chromosome,
            position=int(pos),
            ref=ref.upper(),
            alt=alt.upper(),
            vaf=_allele_fraction(tumour, index),
            depth=tumour.get("DP", ""),
            consequence=annotation.get("consequence", ""),
            germline="GERMLINE" in info,
            sample=header.tumour_sample,
            reported_on=reported_on,
        )
