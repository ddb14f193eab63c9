"""Gene-level expression files: one gene per row, a gene column and a value column (CSV or TSV).

The parser checks the file, not the biology: identifiers, duplicates, numbers, signs. Putting
the values on the reference cohort's scale is :mod:`inference.expression.normalise`.

- Genes are HGNC/NCBI symbols; synonyms are mapped to the official symbol (``HER2`` ->
  ``ERBB2``), and a symbol the vocabulary does not know is kept as written and counted unmatched.
- Ensembl gene ids are refused: no permissively licensed Ensembl-to-HGNC table ships with
  OncoBoard and it cannot look one up offline.
- A gene listed twice (also as two synonyms of one gene) is an error: which value is right?
- An empty or ``NA`` value leaves the gene out with a warning; anything else not a finite number
  is an error, and so is a negative abundance.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import BinaryIO

from oncology_ui.clinical.parsers import ImportRejected, Limits, Problem, ProblemLog
from oncology_ui.clinical.parsers.genes import normalise_gene
from oncology_ui.clinical.parsers.text import Table

GENE_COLUMNS = ("symbol", "gene_symbol", "hugo_symbol", "hgnc_symbol", "gene_name", "gene_id")
VALUE_COLUMNS = (
    "tpm", "fpkm", "count", "counts", "expression", "z", "zscore", "z_score", "z-score",
)  # fmt: skip
ALIASES: dict[str, tuple[str, ...]] = {"gene": GENE_COLUMNS, "value": VALUE_COLUMNS}
ENSEMBL = re.compile(r"^ENSG\d{11}(\.\d+)?$", re.IGNORECASE)
MISSING = {"", "na", "nan", "n/a", "null", "none", "-"}
EXAMPLE_ROWS = (("gene", "value"), ("ESR1", "182.4"), ("ERBB2", "35.1"), ("MKI67", "12.9"))


@dataclass
class ExpressionRows:
    """The file's values by official symbol, with what could not be matched."""

    values: dict[str, float] = field(default_factory=dict)
    #: Symbols the gene vocabulary does not know, as written (kept: the reference may list them).
    unknown_symbols: list[str] = field(default_factory=list)
    rows: int = 0


def _delimiter(handle: BinaryIO, limits: Limits) -> str:
    first = handle.readline(limits.max_line_bytes + 1)
    handle.seek(0)
    return "\t" if b"\t" in first else ","


def parse_expression(
    handle: BinaryIO, *, limits: Limits, allow_negative: bool
) -> tuple[ExpressionRows, ProblemLog]:
    """Read an expression file; raises :class:`ImportRejected` listing every bad row.

    Args:
        handle: the stored upload, opened in binary mode (seekable).
        limits: rows and line length.
        allow_negative: the unit may be negative (z-scores, log2(x + 0.001)).
    """
    log = ProblemLog()
    try:
        table = Table(handle, limits, ALIASES, delimiter=_delimiter(handle, limits))
    except ImportRejected as exc:
        if "longer than" in exc.problems[0].message:
            raise ImportRejected(
                [
                    Problem(
                        exc.problems[0].where,
                        f"is longer than {limits.max_line_bytes // 1024} KB: a file with one "
                        "column per gene is not accepted; put one gene per row "
                        "(columns gene, value).",
                    )
                ]
            ) from None
        raise
    _resolve_columns(table)
    parsed = ExpressionRows()
    seen: dict[str, tuple[int, str]] = {}
    ensembl_rows: list[int] = []
    too_many = "the file has more than {limit} rows; that is more genes than a genome has."
    for line, cells in table.rows(too_many=too_many):
        parsed.rows += 1
        written = table.cell(cells, "gene")
        if ENSEMBL.match(written):
            ensembl_rows.append(line)
            continue
        if not written:
            log.add(f"line {line}", "has no gene.")
            continue
        gene = normalise_gene(written)
        if gene is None:
            gene = written.upper()
            parsed.unknown_symbols.append(written)
        if gene in seen:
            first_line, first_written = seen[gene]
            same = "" if first_written == written else f" (as {first_written}, the same gene)"
            log.add(f"line {line}", f"{written} is already on line {first_line}{same}; keep one.")
            continue
        seen[gene] = (line, written)
        value = _value(table.cell(cells, "value"), line, written, log, allow_negative)
        if value is not None:
            parsed.values[gene] = value
    if ensembl_rows:
        log.add(
            f"line {ensembl_rows[0]}",
            f"{len(ensembl_rows)} row{'s' if len(ensembl_rows) > 1 else ''} name genes by Ensembl "
            "id. OncoBoard ships no licensed offline Ensembl-to-HGNC mapping, so it cannot "
            "match them; convert them to HGNC symbols (for example with HGNC's multi-symbol "
            "checker or Ensembl BioMart) and upload again.",
        )
    if parsed.rows == 0:
        log.add("file", "has a header but no genes.")
    elif not log.total and len(parsed.unknown_symbols) == parsed.rows:
        log.add(
            "file",
            "none of the identifiers is a known gene symbol (for example "
            f"{', '.join(parsed.unknown_symbols[:3])}); the gene column must hold HGNC symbols.",
        )
    if parsed.unknown_symbols:
        log.warn(
            "file",
            f"{len(parsed.unknown_symbols)} identifier(s) are not in the NCBI gene vocabulary "
            "(old or unofficial symbols?) and can match a reference gene only by the same name: "
            f"{', '.join(parsed.unknown_symbols[:10])}"
            + (" …" if len(parsed.unknown_symbols) > 10 else ""),
        )
    log.raise_if_any()
    return parsed, log


def _resolve_columns(table: Table) -> None:
    """Default to the first two columns of a two-column file with other headings."""
    if "gene" in table.index and "value" in table.index:
        return
    if len(table.header) == 2 and not table.index:
        table.index = {"gene": 0, "value": 1}
        return
    raise table.refuse_header(
        "expected one gene per row with a gene column (gene, symbol, hugo_symbol) and a value "
        "column (value, tpm, fpkm, counts, zscore); a file with one column per gene or one row "
        "per sample is not accepted."
    )


def _value(text: str, line: int, gene: str, log: ProblemLog, allow_negative: bool) -> float | None:
    if text.lower() in MISSING:
        log.warn(f"line {line}", f"{gene} has no value; left out.")
        return None
    try:
        value = float(text)
    except ValueError:
        log.add(f"line {line}", f"{gene}: “{text[:40]}” is not a number.")
        return None
    if not math.isfinite(value):
        log.add(f"line {line}", f"{gene}: {text[:40]} is not a finite number.")
        return None
    if value < 0 and not allow_negative:
        log.add(
            f"line {line}",
            f"{gene}: {value:g} is negative, which this unit cannot be (choose z-scores or a "
            "log scale if that is what the file holds).",
        )
        return None
    return value
