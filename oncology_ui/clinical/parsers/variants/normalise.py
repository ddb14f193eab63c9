"""Normalising what variant files write: chromosomes, gene symbols, protein changes, fractions."""

from __future__ import annotations

import re
from urllib.parse import unquote

from oncology_ui.clinical.parsers.genes import normalise_gene, normalise_protein_change

_CHROMOSOME = re.compile(r"^(?:chr)?([1-9]|1[0-9]|2[0-2]|X|Y|M|MT)$", re.IGNORECASE)
_NON_CODING = {"Silent", "Intron", "3'UTR", "5'UTR", "IGR", "RNA", "3'Flank", "5'Flank", "lincRNA"}


def normalise_chromosome(name: str) -> str:
    match = _CHROMOSOME.match(name.strip())
    if not match:
        raise ValueError(
            f"chromosome “{name[:30]}” is not a standard human chromosome (1–22, X, Y, MT, with "
            "or without “chr”)"
        )
    core = match.group(1).upper()
    return "chr" + ("M" if core == "MT" else core)


def official_gene(symbol: str) -> str:
    official = normalise_gene(symbol)
    if official is None:
        raise ValueError(f"gene “{symbol[:30]}” is not an NCBI gene symbol or synonym")
    return official


def protein_change(text: str) -> tuple[str, str]:
    """(short, long) HGVS forms of a protein change; empty for none, unknown or synonymous."""
    text = unquote(text.strip())
    if not text or text in {".", "p.?", "p.="}:
        return "", ""
    change = normalise_protein_change(text)
    return change.short, change.long


def fraction(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if 0.0 <= value <= 1.0 else None


def is_non_coding(consequence: str) -> bool:
    return consequence in _NON_CODING or consequence.startswith(("synonymous", "intron", "UTR"))


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
