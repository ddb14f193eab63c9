"""Crossing the inference boundary: engine dataclasses to JSON-safe dicts and back.

``inference.trials`` speaks frozen dataclasses; the database stores JSON. Everything that
converts between the two lives here so the shape is defined once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
from typing import Any

from inference.trials.schema import (
    BiomarkerRequirement,
    Criterion,
    CriterionKind,
    CriterionVerdict,
    LabThreshold,
    Location,
    NumericBound,
    TherapyRequirement,
    TrialMatch,
    TrialRecord,
)

# Coarse intervention types from intervention names: TrialRecord keeps names only, and the
# legacy XML and the shared JSONL spell types differently. Order matters: first match wins.
_INTERVENTION_TYPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("radiation", re.compile(r"radiat|radiother|\bSBRT\b|\bIMRT\b|brachy|proton|\bGy\b", re.I)),
    (
        "procedure",
        re.compile(r"surg|resection|ectomy|transplant|biopsy|ablation|procedure", re.I),
    ),
    ("behavioral", re.compile(r"behavio|counsel|exercise|education|questionnaire|survey", re.I)),
    ("device", re.compile(r"device|imaging|\bPET\b|\bMRI\b|\bCT\b|scan", re.I)),
    ("drug", re.compile(r"\w+(mab|nib|lib|rib|sib|parib|platin|taxel|rubicin|cept)\b", re.I)),
)
INTERVENTION_TYPES = ("drug", "radiation", "procedure", "device", "behavioral", "other")


def intervention_types(names: tuple[str, ...] | list[str]) -> list[str]:
    """Coarse types of a trial's interventions; a name no pattern recognises counts as drug.

    Most unrecognised names in oncology registries are agents (codes like "MK-3475",
    combinations, "chemotherapy"), so "drug" is the honest default; "other" is kept for
    placebo / observation arms.
    """
    found: list[str] = []
    for name in names:
        kind = next((k for k, pattern in _INTERVENTION_TYPES if pattern.search(name)), "")
        if not kind:
            kind = (
                "other" if re.search(r"placebo|observation|no intervention", name, re.I) else "drug"
            )
        if kind not in found:
            found.append(kind)
    return found


def record_to_fields(trial: TrialRecord) -> dict[str, Any]:
    """The Trial model fields that come straight from a TrialRecord."""
    return {
        "title": trial.title[:1000],
        "summary": trial.summary,
        "conditions": list(trial.conditions),
        "interventions": list(trial.interventions),
        "intervention_types": intervention_types(trial.interventions),
        "keywords": list(trial.keywords),
        "phase": trial.phase[:40],
        "status": trial.status[:40],
        "min_age_years": trial.min_age_years,
        "max_age_years": trial.max_age_years,
        "sex": trial.sex[:10] or "all",
        "locations": [dataclasses.asdict(loc) for loc in trial.locations],
        "eligibility_text": trial.eligibility_text,
        "source": trial.source[:40],
    }


def record_sha256(trial: TrialRecord) -> str:
    """A fingerprint of the record's content: an unchanged record is not rewritten on refresh."""
    payload = json.dumps(dataclasses.asdict(trial), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def row_to_record(row: Any) -> TrialRecord:
    """A TrialRecord from a Trial row (or any object with the same attributes)."""
    return TrialRecord(
        nct_id=row.nct_id,
        title=row.title,
        summary=row.summary,
        conditions=tuple(row.conditions),
        interventions=tuple(row.interventions),
        keywords=tuple(row.keywords),
        phase=row.phase,
        status=row.status,
        min_age_years=row.min_age_years,
        max_age_years=row.max_age_years,
        sex=row.sex,
        locations=tuple(Location(**loc) for loc in row.locations),
        eligibility_text=row.eligibility_text,
        source=row.source,
    )


def criterion_to_json(criterion: Criterion) -> dict[str, Any]:
    """A Criterion as a JSON-ready dict (nested requirement dataclasses as dicts)."""
    out = dataclasses.asdict(criterion)
    out["kind"] = criterion.kind.value
    out["terms"] = list(criterion.terms)
    return out


def criterion_from_json(obj: dict[str, Any]) -> Criterion:
    """Inverse of :func:`criterion_to_json`."""
    values = dict(obj)
    values["kind"] = CriterionKind(values.get("kind", "text"))
    values["terms"] = tuple(values.get("terms") or ())
    for key, cls in (
        ("bound", NumericBound),
        ("lab", LabThreshold),
        ("biomarker", BiomarkerRequirement),
        ("therapy", TherapyRequirement),
    ):
        if values.get(key) is not None:
            values[key] = cls(**values[key])
    return Criterion(**values)


def criterion_structure(criterion: dict[str, Any]) -> str:
    """The parsed content of a stored criterion in a few words, for the trial page."""
    kind = criterion.get("kind", "text")
    if kind == "text":
        return "not parsed (free text)"
    if kind == "permissive":
        return "a permission (informational, not checked)"
    if kind == "prior_malignancy":
        return _other_malignancy_words(criterion)
    parts: list[str] = []
    bound = criterion.get("bound")
    if bound:
        low, high = bound.get("low"), bound.get("high")
        unit = bound.get("unit") or ""
        if low is not None and high is not None:
            parts.append(f"{low:g}–{high:g} {unit}".strip())
        elif low is not None:
            parts.append(f"{'≥' if bound.get('low_inclusive', True) else '>'} {low:g} {unit}")
        elif high is not None:
            parts.append(f"{'≤' if bound.get('high_inclusive', True) else '<'} {high:g} {unit}")
    lab = criterion.get("lab")
    if lab:
        limit = f"{lab['value']:g} x ULN" if lab.get("uln_multiple") else f"{lab['value']:g}"
        unit = "" if lab.get("uln_multiple") else f" {lab.get('unit', '')}"
        text = f"{lab['analyte']} {lab['comparator']} {limit}{unit}"
        if lab.get("value_with_liver_metastases") is not None:
            text += f" ({lab['value_with_liver_metastases']:g} x ULN with liver metastases)"
        parts.append(text)
    marker = criterion.get("biomarker")
    if marker:
        parts.append(
            " ".join(p for p in (marker["gene"], marker.get("variant"), marker["status"]) if p)
        )
    therapy = criterion.get("therapy")
    if therapy:
        if therapy.get("agent"):
            parts.append(f"agent: {therapy['agent']}")
        if therapy.get("within_days") is not None:
            parts.append(f"within {therapy['within_days']} days")
        if therapy.get("min_lines") is not None:
            parts.append(f"at least {therapy['min_lines']} prior lines")
        if therapy.get("max_lines") is not None:
            parts.append(f"at most {therapy['max_lines']} prior lines")
    if criterion.get("sex"):
        parts.append(str(criterion["sex"]))
    if criterion.get("terms"):
        parts.append(", ".join(criterion["terms"][:5]))
    return "; ".join(parts) or kind.replace("_", " ")


def _other_malignancy_words(criterion: dict[str, Any]) -> str:
    words = "a malignancy other than the one being matched"
    high = (criterion.get("bound") or {}).get("high")
    if high is not None:
        words += f", within {high:g} years"
    labels = {
        "except:skin": "non-melanoma skin",
        "except:in_situ": "in situ",
        "except:cured": "cured",
    }
    exceptions = [
        labels.get(t, t.removeprefix("except:site:")) for t in criterion.get("terms") or ()
    ]
    if exceptions:
        words += "; except " + ", ".join(exceptions)
    return words


def _date(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def verdict_to_json(verdict: CriterionVerdict) -> dict[str, Any]:
    c = verdict.criterion
    return {
        "criterion_id": c.criterion_id,
        "text": c.text,
        "inclusion": c.inclusion,
        "kind": c.kind.value,
        "present": c.present,
        "group_id": c.group_id,
        "any_of_group": c.any_of_group,
        "verdict": verdict.verdict.value,
        "excludes": verdict.excludes_patient,
        "satisfied": verdict.satisfied,
        "evidence": [
            {"fact": e.fact, "value": e.value, "date": _date(e.date), "source": e.source}
            for e in verdict.evidence
        ],
        "resolver": verdict.resolver,
        "explanation": verdict.explanation,
    }


def match_to_json(match: TrialMatch, trial: Any) -> dict[str, Any]:
    """One ranked match with the trial facts the list shows and filters on (a snapshot)."""
    s = match.summary
    return {
        "nct_id": match.nct_id,
        "patient_id": match.patient_id,
        "title": trial.title,
        "phase": trial.phase,
        "status": trial.status,
        "intervention_types": list(trial.intervention_types),
        "biomarker_driven": trial.biomarker_driven,
        "score": match.score,
        "retrieval_score": match.retrieval_score,
        "excluded": s.excluded,
        "n_satisfied": s.n_satisfied,
        "n_failed": s.n_failed,
        "n_unknown": s.n_unknown,
        "n_not_applicable": s.n_not_applicable,
        "rank_reasons": list(match.rank_reasons),
        "verdicts": [verdict_to_json(v) for v in match.verdicts],
    }
