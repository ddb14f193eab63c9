"""The 50 MSigDB hallmark gene sets and a programme score per set.

The sets ship in ``msigdb_hallmark_sets.json`` (source, citation and licence inside the file).
A programme score is the mean of the set's member genes on the expression scale given (for
OncoBoard: z-scores against the cancer type's reference cohort). A set scores only where enough
of its members were measured: with a handful of genes the mean says more about those genes than
about the programme.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

SETS_FILE = Path(__file__).with_name("msigdb_hallmark_sets.json")
MIN_MEMBERS = 5


@dataclass(frozen=True)
class HallmarkSets:
    source: str
    licence: str
    sets: Mapping[str, tuple[str, ...]]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self.sets))


@cache
def hallmark_sets() -> HallmarkSets:
    raw = json.loads(SETS_FILE.read_text(encoding="utf-8"))
    sets = {name: tuple(genes) for name, genes in raw["sets"].items()}
    return HallmarkSets(source=raw["source"], licence=raw["licence"], sets=sets)


@dataclass(frozen=True)
class HallmarkMembership:
    """Which columns of an expression matrix belong to each hallmark set."""

    names: tuple[str, ...]
    columns: tuple[tuple[int, ...], ...]
    set_sizes: tuple[int, ...]

    def coverage(self) -> dict[str, float]:
        """Share of each set's genes present in the matrix."""
        return {
            name: len(cols) / size
            for name, cols, size in zip(self.names, self.columns, self.set_sizes, strict=True)
        }


def hallmark_membership(
    genes: Sequence[str], *, min_members: int = MIN_MEMBERS
) -> HallmarkMembership:
    """Map each hallmark set to the matrix columns of its member genes.

    Sets with fewer than ``min_members`` genes in ``genes`` are left out.
    """
    index = {gene.upper(): i for i, gene in enumerate(genes)}
    names: list[str] = []
    columns: list[tuple[int, ...]] = []
    sizes: list[int] = []
    sets = hallmark_sets().sets
    for name in sorted(sets):
        cols = tuple(index[g] for g in sets[name] if g.upper() in index)
        if len(cols) >= min_members:
            names.append(name)
            columns.append(cols)
            sizes.append(len(sets[name]))
    return HallmarkMembership(tuple(names), tuple(columns), tuple(sizes))


def hallmark_scores(values: np.ndarray, membership: HallmarkMembership) -> np.ndarray:
    """Programme scores: mean member value per set, ignoring missing (NaN) members.

    Args:
        values: expression, shape (..., genes); the last axis follows the membership's genes.
        membership: from ``hallmark_membership`` on the same gene order.

    Returns:
        shape (..., sets); NaN where no member of a set was measured.
    """
    out = np.full((*values.shape[:-1], len(membership.names)), np.nan, dtype=float)
    for j, cols in enumerate(membership.columns):
        block = values[..., list(cols)]
        present = ~np.isnan(block)
        count = present.sum(axis=-1)
        total = np.where(present, block, 0.0).sum(axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[..., j] = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return out
