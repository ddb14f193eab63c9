"""Curated rule conditions (``requires``, ``absent``, resistance ``markers``) against a case.

A condition is true, false or unknown: unknown when the gene or biomarker it needs was not
tested, with what was missing, so a rule that cannot be evaluated is listed, never silently
dropped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from inference.therapy.types import Finding, PatientState


@dataclass
class Evaluation:
    """A condition's value: True, False, or None (unknown) with what was missing."""

    value: bool | None
    missing: list[str] = field(default_factory=list)
    matched: list[str] = field(default_factory=list)


def _marker_present(condition: dict[str, Any], finding: Finding) -> bool:
    if finding.gene != condition["gene"] and not (
        finding.kind == "fusion" and finding.partner_gene == condition["gene"]
    ):
        return False
    kind = condition.get("kind", "")
    partner = condition.get("partner", "")
    if finding.kind == "expression":
        return kind == "amplification" and finding.gene == "ERBB2"
    if kind == "fusion" or finding.kind == "fusion":
        if kind != "fusion" or finding.kind != "fusion":
            return False
        return not partner or partner in {finding.gene, finding.partner_gene}
    if kind in {"amplification", "deletion"}:
        level = finding.copy_number_level or 0
        return finding.kind == "copy_number" and (
            level >= 2 if kind == "amplification" else level <= -2
        )
    if finding.kind != "mutation" or finding.silent:
        return False
    if kind == "truncating":
        return finding.truncating
    variants = condition.get("variants") or []
    codons = condition.get("codons") or []
    span = condition.get("deletion_in")
    if not (variants or codons or span):
        return True  # any non-silent mutation of the gene
    if finding.protein_key in variants:
        return True
    if codons and finding.codon in codons and not finding.is_deletion and not finding.truncating:
        return True
    return bool(
        span
        and finding.is_deletion
        and finding.position is not None
        and span[0] <= finding.position <= span[1]
    )


def evaluate(
    condition: dict[str, Any], state: PatientState, findings: tuple[Finding, ...]
) -> Evaluation:
    if "any" in condition:
        parts = [evaluate(inner, state, findings) for inner in condition["any"]]
        if any(p.value for p in parts):
            return Evaluation(True, matched=[m for p in parts if p.value for m in p.matched])
        if any(p.value is None for p in parts):
            return Evaluation(None, missing=[m for p in parts for m in p.missing])
        return Evaluation(False)
    if "biomarker" in condition:
        status = state.biomarker(condition["biomarker"])
        if status is None or status == "":
            return Evaluation(None, missing=[f"{condition['biomarker']} status"])
        ok = status in condition["status"]
        return Evaluation(ok, matched=[f"{condition['biomarker']} {status}"] if ok else [])
    hits = [f for f in findings if _marker_present(condition, f)]
    if hits:
        return Evaluation(True, matched=[f"{f.gene} {f.label}" for f in hits])
    tested = condition["gene"] in state.tested_genes
    if condition.get("kind") == "amplification" and condition["gene"] == "ERBB2":
        # HER2 by IHC/ISH counts as testing ERBB2 amplification.
        tested = tested or state.biomarker("HER2") not in (None, "")
    if not tested:
        return Evaluation(None, missing=[f"{condition['gene']} status (not tested)"])
    return Evaluation(False)


def all_present(
    conditions: Iterable[dict[str, Any]], state: PatientState, findings: tuple[Finding, ...]
) -> Evaluation:
    parts = [evaluate(c, state, findings) for c in conditions]
    if any(p.value is False for p in parts):
        return Evaluation(False)
    if any(p.value is None for p in parts):
        return Evaluation(None, missing=[m for p in parts for m in p.missing])
    return Evaluation(True, matched=[m for p in parts for m in p.matched])


def none_present(
    conditions: Iterable[dict[str, Any]], state: PatientState, findings: tuple[Finding, ...]
) -> Evaluation:
    parts = [evaluate(c, state, findings) for c in conditions]
    if any(p.value for p in parts):
        return Evaluation(False)
    if any(p.value is None for p in parts):
        return Evaluation(None, missing=[m for p in parts for m in p.missing])
    return Evaluation(True)
