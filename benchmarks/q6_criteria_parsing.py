"""Q6: criteria tagger entity spans, and rule-parser entity types per line, on LCT (dev part).

Main figure (goal 0.60): the criteria tagger's (``inference.trials.tagging``) span-level
exact-match entity macro-F1 over its 14 LCT types on the held-out test trials (sha256(NCT id)
mod 10 in 8-9; the tagger never saw them, see its model card). Scoring lives in
``inference.training.criteria_tagger_data`` and is the one the training run reports.

Side by side: the rule parser yields structured criteria, not character spans, so it is scored
per criterion line, on all 909 trials as before and on the test trials alone, beside the tagger
scored the same way. For each non-empty line of a trial's text, the gold types are the LCT
entity types that start inside it, and the predicted types are those implied by what
``extract_structures`` found on that line (for the tagger: the types of its spans, mapped
below). Precision, recall and F1 per type are micro-averaged over lines.

Type mapping (gold <- LCT; predicted <- parser):
- Age: ``Age`` entity <- an AGE criterion.
- Lab: ``Observation`` with Observation-Type-Value=lab <- a LAB criterion.
- Value: ``Eq-Comparison`` <- any numeric bound (age, lab, ECOG/KPS, life expectancy, washout,
  prior lines).
- Temporal: ``Eq-Temporal-Unit``/``Eq-Temporal-Period`` <- a washout window or life expectancy.
- Drug: ``Drug`` <- a prior-therapy or washout agent other than radiotherapy or surgery.
- Condition: ``Condition`` <- a condition, stage, brain-metastases or pregnancy criterion.
- Negation: ``Negation`` <- any criterion read as an absence (``present`` false).

The tagger's spans map the same way (Observation -> Lab, although it does not tell labs from
vitals or scores, which costs it precision on Lab; Eq-Comparison -> Value;
Eq-Temporal-Unit/Period -> Temporal).
"""

from __future__ import annotations

import argparse
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks.common import BenchmarkResult, result_line
from inference.training.criteria_tagger_data import (
    SpanCounts,
    corpus_lines,
    load_documents,
    macro_f1,
)
from inference.trials.extract import Structure, extract_structures
from inference.trials.schema import CriterionKind
from inference.trials.tagging import WEIGHTS_PATH, WEIGHTS_SHA256, load_tagger, split_of

ID = "Q6"
TITLE = "Criteria tagger span entity macro-F1 on held-out LCT trials (rule parser per line beside)"
GOAL = 0.60
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
#: Tagger type -> line-level type (Lab is approximated by every Observation).
_TAGGER_LINE_TYPE = {**_GOLD_TYPE, "Observation": "Lab"}
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


def _line_table(
    tp: Counter[str], fp: Counter[str], fn: Counter[str]
) -> dict[str, dict[str, float]]:
    counts = SpanCounts(tp, fp, fn)
    return {
        t: {"gold_lines": row["gold"], **{k: row[k] for k in ("precision", "recall", "f1")}}
        for t, row in counts.table(TYPES).items()
    }


def _print_table(title: str, table: dict[str, dict[str, float]], gold_key: str) -> None:
    print(title)
    print(f"{'type':22} {'gold':>6} {'prec':>6} {'rec':>6} {'F1':>6}")
    for t, row in table.items():
        p, r, f = row["precision"], row["recall"], row["f1"]
        print(f"{t:22} {row[gold_key]:6d} {p:6.3f} {r:6.3f} {f:6.3f}")
    print(f"{'macro':22} {'':6} {'':6} {'':6} {macro_f1(table):6.3f}")


def run(args: argparse.Namespace) -> BenchmarkResult:
    """Run Q6 and print the tables; returns the result dict."""
    docs = load_documents(Path(args.data))
    if args.quick:
        docs = docs[:100]
    tagger = load_tagger(WEIGHTS_PATH, expected_sha256=WEIGHTS_SHA256)
    test_docs = [d for d in docs if split_of(d["nct_id"]) == "test"]
    lines = corpus_lines(test_docs, tagger.types)
    started = time.perf_counter()
    tagged = tagger.tag([line.text for line in lines])
    ms_per_line = 1000 * (time.perf_counter() - started) / max(len(lines), 1)
    spans = SpanCounts.empty()
    for line, found in zip(lines, tagged, strict=True):
        spans.add(((e.type, e.start, e.end) for e in found), line.gold)
    span_table = spans.table(tagger.types)
    tagger_macro = round(macro_f1(span_table), 3)
    _print_table("Tagger, span-level exact match, test trials:", span_table, "gold")
    print(f"tagging: {ms_per_line:.1f} ms per criterion line ({len(lines)} lines, 1 process)")

    rule_all = _rule_lines(docs)
    rule_test = _rule_lines(test_docs)
    tagger_lines = _tagger_lines(test_docs, tagged)
    _print_table("Rule parser, line level, all trials:", rule_all["table"], "gold_lines")
    _print_table("Rule parser, line level, test trials:", rule_test["table"], "gold_lines")
    _print_table("Tagger, line level, test trials:", tagger_lines, "gold_lines")
    return result_line(
        id=ID,
        metric="criteria tagger span-level entity macro-F1, LCT test trials (sha256 mod 10 in 8-9)",
        ours=tagger_macro,
        baseline=None,
        ratio=None,
        goal=GOAL,
        met=tagger_macro >= GOAL,
        per_type=span_table,
        test_trials=len(test_docs),
        test_lines=len(lines),
        ms_per_line=round(ms_per_line, 2),
        tagger_sha256=tagger.sha256,
        line_level={
            "rule_parser_all_trials": round(macro_f1(rule_all["table"]), 3),
            "rule_parser_test_trials": round(macro_f1(rule_test["table"]), 3),
            "tagger_test_trials": round(macro_f1(tagger_lines), 3),
            "rule_parser_all_trials_per_type": rule_all["table"],
            "rule_parser_test_trials_per_type": rule_test["table"],
            "tagger_test_trials_per_type": tagger_lines,
        },
        documents=len(docs),
        lines=rule_all["lines"],
        quick=bool(args.quick),
    )


def _doc_lines(doc: dict[str, Any]) -> list[tuple[int, int, str]]:
    out = []
    offset = 0
    for raw in doc["text"].split("\n"):
        start, end = offset, offset + len(raw)
        offset = end + 1
        if raw.strip():
            out.append((start, end, raw))
    return out


def _count(
    tp: Counter[str], fp: Counter[str], fn: Counter[str], gold: set[str], predicted: set[str]
) -> None:
    for t in TYPES:
        if t in gold and t in predicted:
            tp[t] += 1
        elif t in predicted:
            fp[t] += 1
        elif t in gold:
            fn[t] += 1


def _rule_lines(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """The rule parser's line-level table (unchanged scoring from the first Q6)."""
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    lines = 0
    for doc in docs:
        for start, end, raw in _doc_lines(doc):
            lines += 1
            predicted = predicted_types(extract_structures(_BULLET.sub("", raw)))
            _count(tp, fp, fn, gold_types(doc, start, end), predicted)
    return {"table": _line_table(tp, fp, fn), "lines": lines}


def _tagger_lines(
    docs: list[dict[str, Any]], tagged: list[tuple[Any, ...]]
) -> dict[str, dict[str, float]]:
    """The tagger scored like the rule parser; ``tagged`` follows the docs' non-empty lines."""
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    at = 0
    for doc in docs:
        for start, end, _ in _doc_lines(doc):
            predicted = {
                _TAGGER_LINE_TYPE[e.type] for e in tagged[at] if e.type in _TAGGER_LINE_TYPE
            }
            at += 1
            _count(tp, fp, fn, gold_types(doc, start, end), predicted)
    return _line_table(tp, fp, fn)
