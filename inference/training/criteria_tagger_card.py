"""The criteria tagger's model card, written from the checkpoint's own metadata."""

from __future__ import annotations

from pathlib import Path
from typing import Any

_MEANING = {
    "Condition": "a disease, disorder or state (condition facets, CNS metastases, pregnancy)",
    "Drug": "a drug or drug class (prior therapy, washout)",
    "Procedure": "surgery, radiotherapy, transplant, other procedures",
    "Observation": "labs, vitals, scores such as ECOG (organ function, performance status)",
    "Eq-Comparison": "a whole threshold or window: operator + value + unit (lab, age, time)",
    "Eq-Operator": "the comparator (>=, less than, between, -)",
    "Eq-Value": "the number",
    "Eq-Unit": "the unit of a non-temporal value (/uL, mg/dL)",
    "Eq-Temporal-Unit": "days, weeks, months, years",
    "Eq-Temporal-Period": "past / current / future wording (history of, within, current)",
    "Age": "the age concept (age filter)",
    "Negation": "no, not, without (negated requirement)",
    "Life-Stage-And-Gender": "women, men, adults, children (sex and age group)",
    "Polarity": "positive / negative / normal / abnormal (biomarker status)",
}


def write_card(path: Path, meta: dict[str, Any], digest: str) -> Path:
    """Write the markdown card next to the checkpoint and return its path."""
    rows = "\n".join(
        f"| {t} | {_MEANING.get(t, '')} | {r['gold']} | {r['precision']:.3f} | {r['recall']:.3f} "
        f"| {r['f1']:.3f} | {meta['val'][t]['f1']:.3f} |"
        for t, r in meta["test"].items()
    )
    history = ", ".join(f"{h['epoch']}: {h['val_macro_f1']:.3f}" for h in meta["history"])
    text = f"""# Criteria tagger ({meta["version"]})

Typed entity spans in free-text eligibility criteria, for display as facets beside the rule
engine's verdicts. Research use only: it does not decide eligibility.

- File: `inference/weights/trials/criteria_tagger.pt`, sha256 `{digest}`
  (pinned as `WEIGHTS_SHA256` in `inference/trials/tagging.py`; loaded with
  `torch.load(weights_only=True)` after the hash check).
- Model: {meta["encoder"]} gives word-piece features (layers 3 and 6
  concatenated), averaged onto words (runs of letters, runs of digits, single other characters,
  so "≥18" and "30kg" split where annotators cut) plus four casing/digit flags; the shipped
  head is a projection (256), a BiLSTM (2 x 128) and one O/B/I classifier per entity type, so
  spans of different types may nest. Only the head is in the file; the encoder loads from its
  wheel at run time.
- Training: `python -m inference.training.criteria_tagger --data ../shared/data
  --budget-minutes {meta.get("budget_minutes", 15):g}`, seed 0, AdamW lr 2e-3, batch 32; stops
  after 4 epochs without a better validation macro-F1 or at the first epoch end past the
  wall-time budget (this run: {len(meta["history"])} epochs, so a faster machine may train longer
  and choose a later epoch); chosen epoch {meta["epoch"]}; {meta["seconds"]["total"]} s wall in
  all ({meta["seconds"]["features"]} s of it encoder features), {meta["machine"]}, on a shared
  2-core machine.

## Data and licence

{meta["data"]}: "The Leaf Clinical Trials Corpus: a new resource for query generation from
clinical trial eligibility criteria", Dobbins, Mullen, Uzuner, Yetisgen, Sci Data 9:490 (2022),
doi 10.1038/s41597-022-01521-0; repository uw-bionlp/clinical-trials-gov-data at 62d54af. The
corpus is reported as CC BY 4.0 (figshare deposit; not re-checked from here); the criteria texts
are ClinicalTrials.gov public-domain content. The LCT's own held-out batches 19-20 were not
available and were not used.

## Split (by trial, fixed before training)

{meta["split"]}. Trials: {meta["trials"]}; criterion lines: {meta["lines"]}. The validation
trials chose the epoch (macro-F1 by epoch: {history}). The test trials were scored once.

## Figures: span-level exact match on the test trials

A prediction counts only with the same type and the same character start and end as an LCT
annotation on the same line; everything else is a false positive, every unmatched gold span a
false negative.

| type | facet use | gold spans | precision | recall | F1 (test) | F1 (val) |
|---|---|---:|---:|---:|---:|---:|
{rows}

**Macro-F1 over the {len(meta["test"])} types: test {meta["test_macro_f1"]:.3f}, validation
{meta["val_macro_f1"]:.3f}.** Goal Q6: >= 0.60 on the test split.

## Limits

- LCT covers all specialties (oncology is a minority); oncology-specific wording (RECIST,
  biomarker names, lines of therapy) is less frequent than in our trials.
- Entity spans only: no relations, events or attribute values (which comparison belongs to
  which lab, operator kind, lab vs vital) are predicted.
- The corpus is mostly single-annotated (119 of 1,006 documents double-annotated) and 493 were
  machine-pre-annotated, so boundaries have annotator noise; exact-match scoring counts every
  boundary disagreement as both a miss and a false positive.
- Where two gold spans of one type overlap, training keeps the longer one; the shorter stays a
  recall miss.
- The encoder is uncased; casing is only seen through four flags.
"""
    path.write_text(text, encoding="utf-8")
    return path
