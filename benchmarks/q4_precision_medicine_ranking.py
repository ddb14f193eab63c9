"""Q4: TREC Precision Medicine 2017 clinical-trials task (30 oncology topics with variants).

Each topic gives a disease, gene variants, age/sex and comorbidities. Ours builds structured
PatientFacts from those fields (biomarkers with variants), retrieves with BM25 (+ MiniLM when the
corpus vectors are cached) and re-ranks by eligibility. Baseline: bm25s over the same trials with
the topic fields joined as text. Corpus: trials judged in TREC PM 2017 that have text.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import re
from pathlib import Path

import defusedxml.ElementTree as SafeET

from benchmarks.common import BenchmarkResult, result_line
from benchmarks.q3_trial_ranking import REPORTED_VARIANTS, evaluate_collection, load_judged_trials
from inference.trials.evaluation import load_qrels
from inference.trials.schema import Biomarker, PatientFacts

ID = "Q4"
TITLE = "TREC PM 2017 trial ranking NDCG@10 / P@10 vs bm25s"
GOAL = 1.5
AS_OF = dt.date(2017, 4, 1)


def load_topics(path: Path) -> dict[str, dict[str, str]]:
    """Topic number -> {disease, gene, demographic, other}."""
    root = SafeET.parse(path).getroot()
    topics: dict[str, dict[str, str]] = {}
    for topic in root.findall("topic"):
        topics[topic.get("number", "")] = {
            field: (topic.findtext(field) or "").strip()
            for field in ("disease", "gene", "demographic", "other")
        }
    return topics


def topic_text(topic: dict[str, str]) -> str:
    """The topic as one text: what the baseline searches with."""
    other = "" if topic["other"].lower() == "none" else f" Other: {topic['other']}."
    return f"{topic['demographic']} with {topic['disease']}. Genes: {topic['gene']}.{other}"


def parse_genes(text: str) -> tuple[Biomarker, ...]:
    """Read "KRAS (G13D), BRAF (V600E)", "CDK4 Amplification", "EML4-ALK Fusion transcript"."""
    markers = []
    for item in re.split(r",\s*", text):
        m = re.match(r"\s*([A-Za-z0-9-]+)\s*(?:\(([^)]*)\))?\s*(.*)$", item)
        if not m:
            continue
        gene, variant, rest = m.group(1).upper(), (m.group(2) or "").strip(), m.group(3).lower()
        status = "mutated"
        if "amplif" in rest:
            status = "amplified"
        elif "fusion" in rest or "-" in gene:
            status = "fusion"
            gene = gene.split("-")[-1]
        elif "loss" in rest or "deletion" in rest:
            status = "mutated"
        markers.append(Biomarker(gene, status, variant, AS_OF, "topic"))
    return tuple(markers)


def topic_facts(topic_id: str, topic: dict[str, str]) -> PatientFacts:
    """Structured facts of one topic."""
    demo = re.match(r"(\d+)-year-old (male|female)", topic["demographic"])
    return PatientFacts(
        patient_id=f"pm2017-{topic_id}",
        as_of=AS_OF,
        age_years=float(demo.group(1)) if demo else None,
        sex=demo.group(2) if demo else None,
        diagnosis_text=topic["disease"],
        biomarkers=parse_genes(topic["gene"]),
        comorbidities=tuple(c.strip() for c in topic["other"].split(",") if c.strip()),
        note_text=topic_text(topic),
    )


def run(args: argparse.Namespace) -> BenchmarkResult:
    """Run Q4 and print a table; returns the result dict."""
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    data = Path(args.data)
    topics = load_topics(data / "trec-pm-2017" / "topics2017.xml")
    qrels = load_qrels(data / "trec-pm-2017" / "qrels-treceval-clinical_trials.2017.txt")
    queries = {number: topic_text(topic) for number, topic in topics.items()}
    trials = load_judged_trials(data, "trecpm2017")
    result = evaluate_collection(
        "TREC PM 2017",
        trials,
        queries,
        qrels,
        set(queries),  # every topic is an oncology patient
        args.quick,
        AS_OF,
        facts_for=lambda qid, _text: topic_facts(qid, topics[qid]),
    )
    variants = REPORTED_VARIANTS
    print(f"{'variant':28} {'NDCG@10':>8} {'P@10':>6}")
    for v in variants:
        print(f"{v:28} {result[f'{v}/all/ndcg@10']:8.3f} {result[f'{v}/all/p@10']:6.3f}")
    ours = result["hybrid+eligibility/all/ndcg@10"]
    base = result["bm25s_raw/all/ndcg@10"]
    ratio = ours / base if base else 0.0
    return result_line(
        id=ID,
        metric="NDCG@10 (ours = hybrid+eligibility)",
        ours=ours,
        baseline=base,
        ratio=round(ratio, 3),
        goal=GOAL,
        met=ratio >= GOAL,
        quick=bool(args.quick),
        detail=result,
    )
