"""The curated rules: standard of care and resistance (``standard_of_care.yaml``) and the safety
gate (``safety_rules.yaml``), each checked against the drug vocabulary and OncoTree."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, cast

from inference.therapy.kbformat import (
    KbFileError,
    OncoTreeLineage,
    YamlDoc,
    entry_line,
    list_field,
    refuse_unknown_keys,
    text_field,
    unique_id,
    without_lines,
    yaml_read,
)
from inference.therapy.types import (
    Drug,
    Guideline,
    ResistanceRule,
    SafetyRule,
    SafetyState,
    StandardRule,
)

LAB_CHECK_KEYS = {
    "kind",
    "lab",
    "unit",
    "block_below",
    "caution_below",
    "block_above",
    "caution_above",
    "scale",
    "liver_metastases",
}
CHECK_KINDS = {
    "lab": LAB_CHECK_KEYS,
    "ecog": {"kind", "block_at_or_above", "caution_at_or_above"},
    "pregnancy": {"kind"},
    "comorbidity": {"kind", "match"},
    "comedication": {"kind", "match"},
    "prior_toxicity": {"kind"},
    "recent_bleeding": {"kind", "within_days"},
}
CONDITION_KEYS = {
    "gene",
    "variants",
    "codons",
    "deletion_in",
    "kind",
    "partner",
    "biomarker",
    "status",
    "any",
}
CONDITION_KINDS = {"mutation", "truncating", "amplification", "deletion", "fusion"}
BIOMARKERS = {"ER", "PR", "HER2", "PD-L1", "MSI", "MMR", "TMB"}
_PROTEIN = re.compile(r"^[A-Z]\d+[A-Z*]?$|^[A-Z]\d+_[A-Z]\d+(DEL|INS|DELINS)[A-Z]*$")


def _guideline(file: str, entry: dict[str, Any]) -> Guideline:
    value = entry.get("guideline")
    if not isinstance(value, dict):
        raise KbFileError(
            file, entry_line(entry), "every rule cites its guideline (name, version, section)"
        )
    return Guideline(
        name=text_field(file, value, "name"),
        version=text_field(file, value, "version"),
        section=text_field(file, value, "section"),
    )


def _condition(file: str, condition: Any, line: int) -> None:
    if not isinstance(condition, dict):
        raise KbFileError(file, line, "a condition must be a mapping")
    line = entry_line(condition) or line
    refuse_unknown_keys(file, condition, CONDITION_KEYS)
    if "any" in condition:
        for inner in list_field(file, condition, "any", required=True):
            _condition(file, inner, line)
        return
    if "biomarker" in condition:
        if condition["biomarker"] not in BIOMARKERS:
            raise KbFileError(file, line, f"unknown biomarker “{condition['biomarker']}”")
        list_field(file, condition, "status", required=True)
        return
    if not condition.get("gene"):
        raise KbFileError(file, line, "a condition names a gene, a biomarker or “any”")
    if condition.get("kind") and condition["kind"] not in CONDITION_KINDS:
        raise KbFileError(file, line, f"unknown kind “{condition['kind']}”")
    for variant in list_field(file, condition, "variants"):
        if not _PROTEIN.match(str(variant)):
            raise KbFileError(file, line, f"“{variant}” is not a protein change like V600E")
    span = condition.get("deletion_in")
    if span is not None and (
        not isinstance(span, list) or len(span) != 2 or not all(isinstance(v, int) for v in span)
    ):
        raise KbFileError(file, line, "deletion_in is [first residue, last residue]")


def _diseases_known(
    file: str, entry: dict[str, Any], lineage_of: OncoTreeLineage
) -> tuple[str, ...]:
    codes = tuple(str(c) for c in list_field(file, entry, "disease", required=True))
    for code in codes:
        if lineage_of(code) is None:
            raise KbFileError(file, entry_line(entry), f"“{code}” is not an OncoTree code")
    return codes


def _drugs_known(file: str, entry: dict[str, Any], key: str, names: set[str]) -> tuple[str, ...]:
    drugs = tuple(str(d).lower() for d in list_field(file, entry, key))
    missing = [d for d in drugs if d not in names]
    if missing:
        raise KbFileError(
            file, entry_line(entry), f"drug(s) not in drugs.yaml: {', '.join(missing)}"
        )
    return drugs


def standard_read(
    folder: Path, lineage_of: OncoTreeLineage, drugs: tuple[Drug, ...]
) -> tuple[tuple[StandardRule, ...], tuple[ResistanceRule, ...], str]:
    """``standard_of_care.yaml``: the guideline rules, the resistance rules and the version."""
    doc = yaml_read(folder, "standard_of_care.yaml")
    file = doc.name
    names = {drug.name for drug in drugs}
    rules: list[StandardRule] = []
    ids: set[str] = set()
    for entry in list_field(file, doc.data, "rules", required=True):
        refuse_unknown_keys(
            file,
            entry,
            {
                "id",
                "disease",
                "option",
                "requires",
                "absent",
                "stages",
                "lines",
                "min_line",
                "guideline",
                "pmids",
            },
        )
        rule_id = unique_id(file, entry, ids)
        option = entry.get("option")
        if not isinstance(option, dict):
            raise KbFileError(file, entry_line(entry), "“option” (label and drugs) is missing")
        for condition in [*list_field(file, entry, "requires"), *list_field(file, entry, "absent")]:
            _condition(file, condition, entry_line(entry))
        stages = tuple(str(s) for s in list_field(file, entry, "stages"))
        if any(s not in {"0", "I", "II", "III", "IV"} for s in stages):
            raise KbFileError(file, entry_line(entry), "stages are 0, I, II, III or IV")
        rules.append(
            StandardRule(
                rule_id=rule_id,
                diseases=_diseases_known(file, entry, lineage_of),
                label=text_field(file, option, "label"),
                drugs=_drugs_known(file, option, "drugs", names),
                requires=tuple(without_lines(c) for c in list_field(file, entry, "requires")),
                absent=tuple(without_lines(c) for c in list_field(file, entry, "absent")),
                stages=stages,
                lines=tuple(int(n) for n in list_field(file, entry, "lines")),
                min_line=int(entry.get("min_line", 0) or 0),
                guideline=_guideline(file, entry),
                pmids=tuple(str(p) for p in list_field(file, entry, "pmids", required=True)),
                source_line=entry_line(entry),
            )
        )
    resistance = _resistance_rules(doc, drugs, lineage_of, ids)
    return tuple(rules), tuple(resistance), str(doc.data["version"])


def _resistance_rules(
    doc: YamlDoc, drugs: tuple[Drug, ...], lineage_of: OncoTreeLineage, ids: set[str]
) -> list[ResistanceRule]:
    """The ``resistance`` section: markers that make drugs or drug classes less effective."""
    file = doc.name
    names = {drug.name for drug in drugs}
    classes = {c for drug in drugs for c in drug.classes}
    resistance: list[ResistanceRule] = []
    for entry in list_field(file, doc.data, "resistance"):
        refuse_unknown_keys(
            file,
            entry,
            {
                "id",
                "disease",
                "markers",
                "drugs",
                "drug_classes",
                "statement",
                "guideline",
                "pmids",
            },
        )
        rule_id = unique_id(file, entry, ids)
        _condition(file, entry.get("markers"), entry_line(entry))
        wanted = tuple(str(c) for c in list_field(file, entry, "drug_classes"))
        if any(c not in classes for c in wanted):
            raise KbFileError(file, entry_line(entry), "a drug class is not used in drugs.yaml")
        listed = _drugs_known(file, entry, "drugs", names)
        if not wanted and not listed:
            raise KbFileError(file, entry_line(entry), "name the drugs or drug classes affected")
        resistance.append(
            ResistanceRule(
                rule_id=rule_id,
                diseases=_diseases_known(file, entry, lineage_of),
                markers=without_lines(entry["markers"]),
                drugs=listed,
                drug_classes=wanted,
                statement=text_field(file, entry, "statement"),
                guideline=_guideline(file, entry),
                pmids=tuple(str(p) for p in list_field(file, entry, "pmids", required=True)),
                source_line=entry_line(entry),
            )
        )
    return resistance


def safety_read(folder: Path, drugs: tuple[Drug, ...]) -> tuple[tuple[SafetyRule, ...], int, str]:
    doc = yaml_read(folder, "safety_rules.yaml")
    file = doc.name
    names = {drug.name for drug in drugs}
    classes = {c for drug in drugs for c in drug.classes}
    rules: list[SafetyRule] = []
    ids: set[str] = set()
    for entry in list_field(file, doc.data, "rules", required=True):
        refuse_unknown_keys(file, entry, {"id", "applies_to", "check", "verdict", "source"})
        rule_id = unique_id(file, entry, ids)
        applies = entry.get("applies_to")
        if not isinstance(applies, dict):
            raise KbFileError(file, entry_line(entry), "“applies_to” is missing")
        wanted = tuple(str(c) for c in list_field(file, applies, "classes"))
        if any(c not in classes for c in wanted):
            raise KbFileError(file, entry_line(entry), "a drug class is not used in drugs.yaml")
        listed = _drugs_known(file, applies, "drugs", names)
        if not (applies.get("all") is True or wanted or listed):
            raise KbFileError(file, entry_line(entry), "applies_to needs all, classes or drugs")
        check = entry.get("check")
        if not isinstance(check, dict) or check.get("kind") not in CHECK_KINDS:
            raise KbFileError(
                file,
                entry_line(entry),
                f"check kind must be one of {', '.join(sorted(CHECK_KINDS))}",
            )
        refuse_unknown_keys(file, check, CHECK_KINDS[check["kind"]])
        if check["kind"] == "lab":
            text_field(file, check, "lab")
            text_field(file, check, "unit")
            limits = [
                k
                for k in ("block_below", "caution_below", "block_above", "caution_above")
                if k in check
            ]
            if not limits:
                raise KbFileError(file, entry_line(entry), "a lab check needs at least one limit")
            for key in limits:
                if not isinstance(check[key], int | float):
                    raise KbFileError(file, entry_line(entry), f"{key} must be a number")
        if check["kind"] in {"comorbidity", "comedication"}:
            list_field(file, check, "match", required=True)
        verdict = entry.get("verdict")
        if verdict not in {"blocked", "caution"}:
            raise KbFileError(file, entry_line(entry), "verdict must be blocked or caution")
        rules.append(
            SafetyRule(
                rule_id=rule_id,
                applies_all=applies.get("all") is True,
                applies_classes=wanted,
                applies_drugs=listed,
                check=without_lines(check),
                verdict=cast(SafetyState, verdict),
                source=text_field(file, entry, "source"),
                source_line=entry_line(entry),
            )
        )
    max_age = doc.data.get("max_lab_age_days", 30)
    if not isinstance(max_age, int) or max_age <= 0:
        raise KbFileError(file, 1, "max_lab_age_days must be a positive whole number")
    return tuple(rules), max_age, str(doc.data["version"])
