"""Reads for the therapies section, the what-if view, the board and the report.

The section reads the stored ranking (never computes on page load): two or three queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

from oncology_ui.analysis.sections import survival_chart
from oncology_ui.patients.models import Case
from oncology_ui.therapies.kb import kb_active
from oncology_ui.therapies.models import TherapyDecision, TherapyRanking

PUBMED_URL = "https://pubmed.ncbi.nlm.nih.gov/{id}/"
CIVIC_URL = "https://civicdb.org/links/evidence_items/{id}"
SAFETY_LABELS = {"clear": "Clear", "caution": "Caution", "blocked": "Blocked"}
MIN_COMPARE, MAX_COMPARE = 2, 3


def ranking_latest(case: Case) -> TherapyRanking | None:
    return TherapyRanking.objects.filter(case=case).order_by("-created_at", "-id").first()


class _References:
    """One option's numbered reference list: each citation once, rows point to it by number.

    Guideline citations, PubMed ids and safety-rule sources are keyed by their text, so the same
    PMID cited by a guideline rule and a CIViC item, or the same label section behind two safety
    rules, is listed once.
    """

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.items: dict[tuple[str, str], dict[str, Any]] = {}

    def cite(self, kind: str, key: str, text: str, url: str = "") -> dict[str, Any]:
        found = self.items.get((kind, key))
        if found is None:
            number = len(self.items) + 1
            found = {
                "number": number,
                "anchor": f"{self.prefix}-ref-{number}",
                "kind": kind,
                "text": text,
                "url": url,
            }
            self.items[(kind, key)] = found
        return found


def _refs(refs: list[dict[str, Any]], references: _References) -> list[dict[str, Any]]:
    out = []
    for ref in refs:
        civic_id = ref["item_id"].removeprefix("EID") if ref["source"] == "civic" else ""
        cited = []
        if ref["source"] == "guideline" and ref.get("citation"):
            cited.append(references.cite("guideline", ref["citation"], ref["citation"]))
        for pmid in ref["pmids"]:
            cited.append(
                references.cite("pubmed", pmid, f"PubMed {pmid}", PUBMED_URL.format(id=pmid))
            )
        out.append(
            {
                **ref,
                "cited": list({c["number"]: c for c in cited}.values()),
                "civic_url": CIVIC_URL.format(id=civic_id) if civic_id else "",
            }
        )
    return out


def _option_view(
    item: dict[str, Any], decision: TherapyDecision | None, anchor: str
) -> dict[str, Any]:
    option = item["option"]
    safety = item["safety"]
    references = _References(anchor)
    supporting = _refs(option["supporting"], references)
    opposing = _refs(option["opposing"], references)
    checks = [
        {**check, "cited": references.cite("safety", check["source"], check["source"])}
        for check in safety["checks"]
    ]
    return {
        "rank": item["rank"],
        "anchor": anchor,
        "key": option["key"],
        "label": option["label"],
        "option": option,
        "tier": option["tier"],
        "investigational": bool(option.get("investigational")),
        "supporting": supporting,
        "opposing": opposing,
        "safety": safety,
        "checks": checks,
        "safety_label": SAFETY_LABELS[safety["state"]],
        "deciding": [c for c in checks if c["verdict"] == safety["state"]],
        "flagged_data": [c for c in checks if c["data"] != "ok"],
        "references": list(references.items.values()),
        "benefit": item["benefit"],
        "why": item["why"],
        "decision": decision,
    }


def ranking_view(ranking: TherapyRanking, decisions: list[TherapyDecision]) -> dict[str, Any]:
    """The stored ranking, shaped for the template (links built, decisions attached).

    Options with guideline or clinical evidence are ``options``; investigational ones (only
    preclinical or case-report evidence) are ``investigational``, shown apart and collapsed.
    Each option carries its numbered ``references``: every citation once, full text there.
    """
    result = ranking.result
    latest: dict[str, TherapyDecision] = {}
    for decision in decisions:  # newest first
        latest.setdefault(decision.option_key, decision)
    every = [
        _option_view(item, latest.get(item["option"]["key"]), f"option-{item['rank']}")
        for item in result.get("options", [])
    ]
    return {
        "options": [o for o in every if not o["investigational"]],
        "investigational": [o for o in every if o["investigational"]],
        "all_options": every,
        "flags": [
            {**flag, "pubmed": [{"id": p, "url": PUBMED_URL.format(id=p)} for p in flag["pmids"]]}
            for flag in result.get("resistance_flags", [])
        ],
        "unknowns": result.get("unknowns", {}),
        "inputs_used": result.get("inputs_used", []),
        "inputs_missing": result.get("inputs_missing", []),
        "model": result.get("model", {}),
        "planned_line": result.get("planned_line"),
        "computed_at": result.get("computed_at", ""),
        "estimable_count": sum(1 for o in every if o["benefit"]["estimable"]),
    }


def therapies_section(request: HttpRequest, case: Case) -> dict[str, Any]:
    """Section loader: the latest stored ranking, its decisions and the active KB version."""
    ranking = ranking_latest(case)
    decisions = list(ranking.decisions.select_related("decided_by")) if ranking else []
    active = kb_active()
    return {
        "therapy_ranking": ranking,
        "therapy_view": ranking_view(ranking, decisions) if ranking else None,
        "therapy_decisions": decisions,
        "therapy_kb_version": active.version if active else "",
        "therapy_kb_outdated": bool(ranking and active and ranking.kb_id != active.pk),
        "can_rank_therapies": request.user.has_perm("therapies.add_therapyranking"),
        "can_decide_therapies": request.user.has_perm("therapies.add_therapydecision"),
    }


@dataclass(frozen=True)
class WhatIfSeries:
    key: str
    label: str
    css: str
    chart: dict[str, Any] | None
    refusal: str
    survival_at: tuple[dict[str, Any], ...]
    propensity: float | None
    trial: str = ""
    agreement: str = ""
    difference: tuple[float, float, float] | None = None
    horizon_months: float | None = None
    filled_fields: tuple[str, ...] = ()


def _clipped(curve: dict[str, list[float]], horizon: float) -> dict[str, list[float]]:
    """The curve up to ``horizon`` months, so that every series shares one time axis."""
    keep = [i for i, t in enumerate(curve["times_months"]) if t <= horizon + 1e-9]
    return {name: [values[i] for i in keep] for name, values in curve.items()}


def _controls(drawn: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One control-arm benefit per trial among the drawn options (the comparison's reference)."""
    seen: dict[str, dict[str, Any]] = {}
    for benefit in drawn:
        if benefit.get("control_curve") and benefit.get("trial") not in seen:
            seen[benefit["trial"]] = benefit
    return list(seen.values())


def whatif_view(ranking: TherapyRanking, keys: list[str]) -> dict[str, Any]:
    """The curves of the chosen options from the stored ranking, or why each is refused.

    Nothing is recomputed: the what-if numbers are the ones stored with the ranking. Each trial's
    control arm is drawn once beside the options it was compared with, on one shared time axis.
    """
    by_key = {item["option"]["key"]: item for item in ranking.result.get("options", [])}
    problems: list[str] = []
    unique = list(dict.fromkeys(keys))
    unknown = [key for key in unique if key not in by_key]
    if unknown:
        problems.append("Some chosen options are not part of this ranking; they were left out.")
    chosen = [key for key in unique if key in by_key]
    if keys and not MIN_COMPARE <= len(chosen) <= MAX_COMPARE:
        problems.append(f"Choose {MIN_COMPARE} or {MAX_COMPARE} options to compare.")
    series: list[WhatIfSeries] = []
    if not problems:
        usable = {
            key: bool(
                by_key[key]["benefit"]["estimable"]
                and by_key[key]["benefit"].get("overlap_supported") is not False
                and by_key[key]["benefit"].get("curve")
            )
            for key in chosen
        }
        drawn = [by_key[key]["benefit"] for key in chosen if usable[key]]
        horizon = min(
            (
                b["curve"]["times_months"][-1]
                for b in drawn + [c for c in _controls(drawn) if c.get("control_curve")]
            ),
            default=0.0,
        )
        for position, key in enumerate(chosen):
            item = by_key[key]
            benefit = item["benefit"]
            series.append(
                WhatIfSeries(
                    key=key,
                    label=item["option"]["label"],
                    css=f"series-{position + 1}",
                    chart=survival_chart(_clipped(benefit["curve"], horizon))
                    if usable[key]
                    else None,
                    refusal="" if usable[key] else benefit["reason"],
                    survival_at=tuple(benefit.get("survival_at") or ()),
                    propensity=benefit.get("propensity"),
                    trial=benefit.get("trial", ""),
                    agreement=benefit.get("agreement", ""),
                    difference=tuple(benefit["difference"]) if benefit.get("difference") else None,
                    horizon_months=benefit.get("horizon_months"),
                    filled_fields=tuple(benefit.get("filled_fields") or ()),
                )
            )
        for control in _controls(drawn):
            series.append(
                WhatIfSeries(
                    key=f"control:{control['trial']}",
                    label=f"{control['control_label']}: control arm of the {control['trial']}",
                    css="series-control",
                    chart=survival_chart(_clipped(control["control_curve"], horizon)),
                    refusal="",
                    survival_at=(),
                    propensity=None,
                    trial=control["trial"],
                )
            )
    frame = next((s.chart for s in series if s.chart), None)
    return {
        "choices": [
            {
                "key": key,
                "label": item["option"]["label"],
                "rank": item["rank"],
                "estimable": item["benefit"]["estimable"],
                "checked": key in chosen,
            }
            for key, item in by_key.items()
        ],
        "series": series,
        "frame": frame,
        "drawn": [s for s in series if s.chart],
        "refused": [s for s in series if not s.chart],
        "problems": problems,
        "model": ranking.result.get("model", {}),
    }


def therapy_option_labels(case: Case) -> list[str]:
    """For the board: the latest ranking's option labels, best first."""
    ranking = ranking_latest(case)
    return ranking.option_labels if ranking else []
