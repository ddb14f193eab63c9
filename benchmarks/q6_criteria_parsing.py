"""Q6: criteria-parser entity detection per type on the Leaf Clinical Trials corpus (dev part).

The parser yields structured criteria, not character spans, so this is scored per criterion
line: for each non-empty line of a trial's text, the gold types are the LCT entity types that
start inside it, and the predicted types are those implied by what ``extract_structures`` found
on that line. Precision, recall and F1 per type are micro-averaged over lines.

Type mapping (gold <- LCT; predicted <- parser):
- Age: ``Age`` entity <- an AGE criterion.
- Lab: ``Observation`` with Observation-Type-Value=lab <- a LAB criterion.
- Value: ``Eq-Comparison`` <- any numeric bound (age, lab, ECOG/KPS, life expectancy, washout,
  prior lines).
- Temporal: ``Eq-Temporal-Unit``/``Eq-Temporal-Period`` <- a washout window or life expectancy.
- Drug: ``Drug`` <- a prior-therapy or washout agent other than radiotherapy or surgery.
- Condition: ``Condition`` <- a condition, stage, brain-metastases or pregnancy criterion.
- Negation: ``Negation`` <- any criterion read as an absence (``present`` false).
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks.common import BenchmarkResult, result_line
from inference.trials.extract import Structure, extract_structures
from inference.trials.schema import CriterionKind

ID = "Q6"
TITLE = "Criteria parser entity-type F1 per line on LCT (no baseline)"
TYPES = ("Age", "Lab", "Value", "Temporal", "Drug", "Condition", "Negation")
#: LCT entity type -> our type (a lab is an Observation with the lab attribute, see below).
_GOLD_TYPE = {
    "Age": "Age",
    "Eq-Comparison": "Value",
    "Eq-Temporal-Unit": "Temporal",
    "Eq-Temporal-Period": "Temporal",
    "Drug": "Drug",
    "Condition": "Condition",
    "Negation": "Negation",
}
_BULLET = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)]|[a-z][.)])\s*")


def gold_types(doc: dict[str, Any], start: int, end: int) -> set[str]:
    """LCT entity types (mapped) starting inside [start, end)."""
    # The lab attribute sits on the Observation event; its trigger is the entity.
    triggers = {e["id"]: e["trigger"] for e in doc["events"]}
    lab_ids = {
        triggers.get(a["target"], a["target"])
        for a in doc["attributes"]
        if a["type"] == "Observation-Type-Value" and a["value"] == "lab"
    }
    found: set[str] = set()
    for entity in doc["entities"]:
        begin = entity["spans"][0][0]
        if not start <= begin < end:
            continue
        kind = entity["type"]
        if kind == "Observation" and entity["id"] in lab_ids:
            found.add("Lab")
        elif kind in _GOLD_TYPE:
            found.add(_GOLD_TYPE[kind])
    return found


def predicted_types(structures: list[Structure]) -> set[str]:
    """Types implied by the parser's structures for one line."""
    found: set[str] = set()
    for s in structures:
        if s.kind is CriterionKind.AGE:
            found |= {"Age", "Value"}
        elif s.kind is CriterionKind.LAB:
            found |= {"Lab", "Value"}
        elif s.kind in {CriterionKind.PERFORMANCE_STATUS}:
            found.add("Value")
        elif s.kind is CriterionKind.LIFE_EXPECTANCY:
            found |= {"Value", "Temporal"}
        elif s.kind in {CriterionKind.WASHOUT, CriterionKind.PRIOR_THERAPY}:
            therapy = s.therapy
            if therapy and therapy.agent not in {"radiotherapy", "surgery"}:
                found.add("Drug")
            if therapy and therapy.within_days is not None:
                found |= {"Value", "Temporal"}
            if therapy and (therapy.min_lines is not None or therapy.max_lines is not None):
                found.add("Value")
        elif s.kind in {
            CriterionKind.CONDITION,
            CriterionKind.STAGE,
            CriterionKind.BRAIN_METASTASES,
            CriterionKind.PREGNANCY,
        }:
            found.add("Condition")
        if not s.present:
            found.add("Negation")
    return found


def run(args: argparse.Namespace) -> BenchmarkResult:
    """Run Q6 and print a table; returns the result dict."""
    path = Path(args.data) / "lct-eligibility-annotations" / "lct_annotations_dev.jsonl.gz"
    if not path.exists():
        raise SystemExit(f"{path} is missing; pass --data pointing at the shared data folder")
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        docs = [json.loads(line) for line in handle if line.strip()]
    if args.quick:
        docs = docs[:100]
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    lines = 0
    for doc in docs:
        offset = 0
        for raw in doc["text"].split("\n"):
            start, end = offset, offset + len(raw)
            offset = end + 1
            if not raw.strip():
                continue
            lines += 1
            gold = gold_types(doc, start, end)
            predicted = predicted_types(extract_structures(_BULLET.sub("", raw)))
            for t in TYPES:
                if t in gold and t in predicted:
                    tp[t] += 1
                elif t in predicted:
                    fp[t] += 1
                elif t in gold:
                    fn[t] += 1
    per_type: dict[str, dict[str, float]] = {}
    print(f"{'type':10} {'gold':>6} {'prec':>6} {'rec':>6} {'F1':>6}")
    for t in TYPES:
        precision = tp[t] / (tp[t] + fp[t]) if tp[t] + fp[t] else 0.0
        recall = tp[t] / (tp[t] + fn[t]) if tp[t] + fn[t] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_type[t] = {
            "gold_lines": tp[t] + fn[t],
            "precision": round(precision, 3),
            "recall": round(recall, 3),
            "f1": round(f1, 3),
        }
        print(f"{t:10} {tp[t] + fn[t]:6d} {precision:6.3f} {recall:6.3f} {f1:6.3f}")
    macro = sum(v["f1"] for v in per_type.values()) / len(per_type)
    return result_line(
        id=ID,
        metric="macro F1 over entity types (line level)",
        ours=round(macro, 3),
        baseline=None,
        ratio=None,
        goal=None,
        met=None,
        per_type=per_type,
        documents=len(docs),
        lines=lines,
        quick=bool(args.quick),
    )
