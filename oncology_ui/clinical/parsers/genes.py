"""Gene symbols and protein changes in one canonical form.

Symbols: NCBI official symbols and their synonyms (``vocab/gene_synonyms.tsv.gz``, from oncoref):
``HER2`` -> ``ERBB2``, ``PD-L1`` -> ``CD274``. Protein changes: HGVS ``p.`` in one- and
three-letter forms, so ``V600E``, ``p.V600E``, ``p.Val600Glu`` and ``p.(Val600Glu)`` are one change.
"""

from __future__ import annotations

import csv
import gzip
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from inference.trials.protein_change import AA3_TO_1
from oncology_ui.clinical.parsers import VOCAB_DIR

AA1_TO_3 = {one: three for three, one in AA3_TO_1.items()}
_KEYWORDS = ("delins", "del", "ins", "dup", "fs", "ext", "_", "=", "?")


class HgvsError(ValueError):
    """A protein change that is not HGVS ``p.`` notation."""


@dataclass(frozen=True)
class ProteinChange:
    """A normalised protein change: ``short`` is ``p.V600E``, ``long`` is ``p.Val600Glu``."""

    short: str
    long: str

    @property
    def key(self) -> str:
        """The form CIViC names variants with: ``V600E``, ``E746_A750DEL``."""
        return self.short.removeprefix("p.").upper()

    @property
    def is_truncating(self) -> bool:
        return "*" in self.short or "fs" in self.short

    @property
    def is_silent(self) -> bool:
        return self.short.endswith("=")

    @property
    def codon(self) -> str:
        """``V600`` for ``p.V600E``: the reference residue and position, or ``""``."""
        body = self.short.removeprefix("p.")
        head = body[:1]
        digits = ""
        for char in body[1:]:
            if not char.isdigit():
                break
            digits += char
        return f"{head}{digits}" if head and digits else ""


def _tokens(body: str) -> list[str]:
    """Split a ``p.`` body into amino-acid letters, numbers and keywords."""
    out: list[str] = []
    i = 0
    while i < len(body):
        rest = body[i:]
        keyword = next((k for k in _KEYWORDS if rest.startswith(k)), None)
        if keyword:
            out.append(keyword)
            i += len(keyword)
            continue
        three = rest[:3].capitalize()
        if len(rest) >= 3 and three in AA3_TO_1:
            out.append(AA3_TO_1[three])
            i += 3
            continue
        char = body[i]
        if char in AA1_TO_3:
            out.append(char)
        elif char == "X":
            out.append("*")
        elif char.isdigit():
            j = i
            while j < len(body) and body[j].isdigit():
                j += 1
            out.append(body[i:j])
            i = j
            continue
        else:
            raise HgvsError(f"“{body[:40]}” is not an HGVS protein change (at “{rest[:8]}”)")
        i += 1
    return out


@lru_cache(maxsize=4096)
def normalise_protein_change(text: str) -> ProteinChange:
    """``"V600E"``, ``"p.Val600Glu"`` or ``"ENSP0001:p.(Val600Glu)"`` -> ``ProteinChange``.

    Raises:
        HgvsError: the text is not an HGVS protein change.
    """
    body = text.strip()
    if ":" in body:
        body = body.rsplit(":", 1)[1]
    body = body.removeprefix("p.").strip()
    if body.startswith("(") and body.endswith(")"):
        body = body[1:-1]
    if not body or len(body) > 80:
        raise HgvsError(f"“{text[:40]}” is not an HGVS protein change")
    tokens = _tokens(body)
    if not tokens or not any(token.isdigit() for token in tokens) and tokens != ["?"]:
        raise HgvsError(f"“{text[:40]}” has no residue position")
    short = "".join(tokens)
    long = "".join(AA1_TO_3.get(token, token) if len(token) == 1 else token for token in tokens)
    return ProteinChange(short=f"p.{short}", long=f"p.{long}")


@lru_cache(maxsize=2)
def _symbols(folder: Path) -> dict[str, str]:
    table: dict[str, str] = {}
    with gzip.open(folder / "gene_synonyms.tsv.gz", "rt", encoding="utf-8") as handle:
        reader = csv.reader(handle, delimiter="\t")
        next(reader)
        for alias, official in reader:
            # Official symbols come first in the file, so an alias never shadows a symbol.
            table.setdefault(alias.upper(), official)
    return table


def normalise_gene(symbol: str, *, folder: Path = VOCAB_DIR) -> str | None:
    """The NCBI official symbol for ``symbol`` (official or synonym), or None if unknown."""
    key = symbol.strip().upper()
    if not key:
        return None
    return _symbols(folder).get(key)
