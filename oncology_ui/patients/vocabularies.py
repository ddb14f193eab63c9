"""Diagnosis vocabularies: OncoTree (shipped TSV) and ICD-10-CM (the simple-icd-10-cm package)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import simple_icd_10_cm as icd10

ONCOTREE_RELEASE = "oncotree_2025_10_03"
_ONCOTREE_FILE = Path(__file__).parent / "vocab" / f"{ONCOTREE_RELEASE}_flat.tsv"


@dataclass(frozen=True)
class OncoTreeNode:
    code: str
    name: str
    main_type: str
    tissue: str
    parent: str
    level: int


@cache
def oncotree() -> dict[str, OncoTreeNode]:
    """All OncoTree nodes of the shipped release, by code."""
    nodes: dict[str, OncoTreeNode] = {}
    with _ONCOTREE_FILE.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            nodes[row["code"]] = OncoTreeNode(
                code=row["code"],
                name=row["name"],
                main_type=row["main_type"],
                tissue=row["tissue"],
                parent=row["parent"],
                level=int(row["level"] or 0),
            )
    return nodes


def oncotree_lookup(code: str) -> OncoTreeNode | None:
    return oncotree().get(code.strip().upper())


def oncotree_lineage(code: str) -> tuple[str, ...] | None:
    """The code and its OncoTree ancestors, nearest first; None for a code that is not OncoTree."""
    nodes = oncotree()
    node = nodes.get(code.strip().upper())
    if node is None:
        return None
    lineage = []
    while node is not None and node.code not in lineage:
        lineage.append(node.code)
        node = nodes.get(node.parent)
    return tuple(lineage)


def oncotree_search(text: str, *, limit: int = 20) -> list[OncoTreeNode]:
    """Nodes whose code or name contains ``text`` (case-insensitive), exact code first."""
    needle = text.strip().lower()
    if not needle:
        return []
    hits = [
        node
        for node in oncotree().values()
        if needle in node.code.lower() or needle in node.name.lower()
    ]
    hits.sort(key=lambda node: (node.code.lower() != needle, node.level, node.name))
    return hits[:limit]


def icd10_normalise(code: str) -> str:
    """Upper-case with the dot after the category (``c50911`` -> ``C50.911``)."""
    compact = code.strip().upper().replace(".", "")
    return compact if len(compact) <= 3 else f"{compact[:3]}.{compact[3:]}"


def icd10_lookup(code: str) -> str | None:
    """The ICD-10-CM description for a valid code or category, else None."""
    normal = icd10_normalise(code)
    if not normal or not icd10.is_valid_item(normal):
        return None
    return str(icd10.get_description(normal))


def icd10_is_neoplasm(code: str) -> bool:
    """True for chapter II codes (C00-D49), the neoplasms a tumor board discusses."""
    normal = icd10_normalise(code)
    return normal[:1] == "C" or (
        normal[:1] == "D" and normal[1:3].isdigit() and int(normal[1:3]) <= 49
    )
