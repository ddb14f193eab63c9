"""The Hanahan-Weinberg capabilities and the MSigDB hallmark sets that read each one.

The mapping is written and cited in ``capabilities.json`` (one rationale and its sources per
capability). A capability with no fitting gene set maps to none and is not scored: an empty
mapping is an answer, not a gap to fill with the nearest set.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from inference.hallmarks.gene_sets import hallmark_sets

CAPABILITIES_FILE = Path(__file__).with_name("capabilities.json")


@dataclass(frozen=True)
class MappedSet:
    """One gene set of a capability; ``direction`` is +1 or -1 (see the file's ``scoring``)."""

    name: str
    direction: int


@dataclass(frozen=True)
class Capability:
    key: str
    name: str
    kind: str  # "hallmark" or "enabling characteristic"
    introduced: str  # source key: HW2000, HW2011 or H2022
    gene_sets: tuple[MappedSet, ...]
    related_sets: tuple[str, ...]
    rationale: str
    sources: tuple[str, ...]  # full citations

    @property
    def scored(self) -> bool:
        return bool(self.gene_sets)


@dataclass(frozen=True)
class CapabilityMap:
    title: str
    gene_set_licence: str
    scoring: str
    capabilities: tuple[Capability, ...]


class CapabilityFileError(ValueError):
    """``capabilities.json`` is inconsistent (unknown set, missing source, bad direction)."""


@cache
def capability_map() -> CapabilityMap:
    """Load and check ``capabilities.json``.

    Raises:
        CapabilityFileError: a set that is not an MSigDB hallmark set, a direction other than
            +1/-1, or a capability without a rationale or sources.
    """
    raw = json.loads(CAPABILITIES_FILE.read_text(encoding="utf-8"))
    citations: dict[str, str] = raw["sources"]
    known = set(hallmark_sets().sets)
    capabilities = []
    for item in raw["capabilities"]:
        key = item["key"]
        mapped = tuple(MappedSet(s["set"], int(s["direction"])) for s in item["gene_sets"])
        related = tuple(item.get("related_sets", ()))
        for name in [m.name for m in mapped] + list(related):
            if name not in known:
                raise CapabilityFileError(f"{key}: {name} is not an MSigDB hallmark set")
        if any(m.direction not in (1, -1) for m in mapped):
            raise CapabilityFileError(f"{key}: directions must be 1 or -1")
        if not item.get("rationale") or not item.get("sources"):
            raise CapabilityFileError(f"{key}: every capability needs a rationale and sources")
        unknown = [s for s in item["sources"] if s not in citations]
        if unknown or item["introduced"] not in citations:
            raise CapabilityFileError(f"{key}: unknown source {unknown or item['introduced']}")
        capabilities.append(
            Capability(
                key=key,
                name=item["name"],
                kind=item["kind"],
                introduced=item["introduced"],
                gene_sets=mapped,
                related_sets=related,
                rationale=item["rationale"],
                sources=tuple(citations[s] for s in item["sources"]),
            )
        )
    return CapabilityMap(
        title=raw["title"],
        gene_set_licence=raw["gene_set_licence"],
        scoring=raw["scoring"],
        capabilities=tuple(capabilities),
    )
