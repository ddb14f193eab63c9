"""The public trial-ranking collections as patients, judgements and corpora (Q3, Q4, re-ranker).

SIGIR 2016 and TREC 2021 give patient notes (facts read with ``facts_from_note``); TREC PM 2017
gives structured topics (disease, gene variants, demographics). Each collection's corpus is the
``ctgov-trials`` records judged in it that have any text. Training and benchmarks only: reads
the shared data folder.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import defusedxml.ElementTree as SafeET

from inference.trials.evaluation import load_qrels, load_queries
from inference.trials.notes import facts_from_note
from inference.trials.records import iter_jsonl, trial_from_corpus_json
from inference.trials.schema import Biomarker, PatientFacts, TrialRecord

PM2017_AS_OF = dt.date(2017, 4, 1)
# Oncology topics of TREC 2021, as listed in ctgov-trials/SOURCE.md ("core" group).
TREC2021_ONCOLOGY = frozenset(
    {
        "trec-20211",
        "trec-20214",
        "trec-20218",
        "trec-202111",
        "trec-202115",
        "trec-202117",
        "trec-202125",
        "trec-202131",
        "trec-202161",
    }
)
ONCOLOGY_WORDS = (
    "cancer",
    "carcinoma",
    "tumor",
    "tumour",
    "lymphoma",
    "leukemia",
    "sarcoma",
    "melanoma",
    "myeloma",
    "glioma",
    "astrocytoma",
    "metasta",
    "malignan",
    "neoplasm",
    "blastoma",
)


@dataclass(frozen=True)
class Topic:
    """One judged patient: the baseline's query text and our structured facts."""

    topic_id: str
    text: str
    facts: PatientFacts
    oncology: bool


@dataclass(frozen=True)
class Collection:
    """A judged collection: its name, corpus, topics and graded judgements."""

    name: str
    key: str
    trials: tuple[TrialRecord, ...]
    topics: tuple[Topic, ...]
    qrels: dict[str, dict[str, int]]


def load_judged_trials(data: Path, collection: str) -> list[TrialRecord]:
    """Trials judged in ``collection`` (``sigir2016``, ``trec2021``, ``trecpm2017``) with text."""
    corpus = data / "ctgov-trials" / "trials.jsonl.gz"
    if not corpus.exists():
        raise SystemExit(f"{corpus} is missing; pass --data pointing at the shared data folder")
    trials = []
    for ref, obj in iter_jsonl(corpus):
        if not isinstance(obj, dict) or not (obj.get("judged_in") or {}).get(collection):
            continue
        trial = trial_from_corpus_json(obj, ref)
        if trial.title or trial.summary or trial.eligibility_text:
            trials.append(trial)
    return trials


def load_pm_topics(path: Path) -> dict[str, dict[str, str]]:
    """TREC PM topic number -> {disease, gene, demographic, other}."""
    root = SafeET.parse(path).getroot()
    topics: dict[str, dict[str, str]] = {}
    for topic in root.findall("topic"):
        topics[topic.get("number", "")] = {
            field: (topic.findtext(field) or "").strip()
            for field in ("disease", "gene", "demographic", "other")
        }
    return topics


def pm_topic_text(topic: dict[str, str]) -> str:
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
        markers.append(Biomarker(gene, status, variant, PM2017_AS_OF, "topic"))
    return tuple(markers)


def pm_topic_facts(topic_id: str, topic: dict[str, str]) -> PatientFacts:
    """Structured facts of one TREC PM topic."""
    demo = re.match(r"(\d+)-year-old (male|female)", topic["demographic"])
    return PatientFacts(
        patient_id=f"pm2017-{topic_id}",
        as_of=PM2017_AS_OF,
        age_years=float(demo.group(1)) if demo else None,
        sex=demo.group(2) if demo else None,
        diagnosis_text=topic["disease"],
        biomarkers=parse_genes(topic["gene"]),
        comorbidities=tuple(c.strip() for c in topic["other"].split(",") if c.strip()),
        note_text=pm_topic_text(topic),
    )


def _note_collection(data: Path, name: str, folder: str, key: str, as_of: dt.date) -> Collection:
    queries = load_queries(data / folder / "queries.jsonl")
    qrels = load_qrels(data / folder / "qrels" / "test.tsv")
    topics = []
    for qid in sorted(q for q in queries if q in qrels):
        text = queries[qid]
        if key == "trec2021":
            oncology = qid in TREC2021_ONCOLOGY
        else:
            oncology = any(w in text.lower() for w in ONCOLOGY_WORDS)
        topics.append(Topic(qid, text, facts_from_note(qid, text, as_of), oncology))
    return Collection(name, key, tuple(load_judged_trials(data, key)), tuple(topics), qrels)


def load_collections(data: Path) -> tuple[Collection, ...]:
    """SIGIR 2016, TREC 2021 and TREC PM 2017, in that order."""
    pm = data / "trec-pm-2017"
    raw = load_pm_topics(pm / "topics2017.xml")
    qrels = load_qrels(pm / "qrels-treceval-clinical_trials.2017.txt")
    pm_topics = tuple(
        # Every PM topic is an oncology patient.
        Topic(qid, pm_topic_text(raw[qid]), pm_topic_facts(qid, raw[qid]), True)
        for qid in sorted(raw, key=int)
        if qid in qrels
    )
    return (
        _note_collection(
            data, "SIGIR 2016", "trialgpt-sigir2016", "sigir2016", dt.date(2016, 1, 1)
        ),
        _note_collection(data, "TREC 2021", "trialgpt-trec2021", "trec2021", dt.date(2021, 4, 27)),
        Collection(
            "TREC PM 2017",
            "trecpm2017",
            tuple(load_judged_trials(data, "trecpm2017")),
            pm_topics,
            qrels,
        ),
    )
