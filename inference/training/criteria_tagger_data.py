"""LCT criterion lines, their gold spans and span-level scoring for the criteria tagger.

Training (:mod:`inference.training.criteria_tagger`) and benchmark Q6 read the corpus and score
through this module, so both use one split and one metric:

* a line is one non-empty line of a trial's eligibility text (no LCT entity crosses a line);
* gold entities are the LCT text-bound annotations of the tagger's types on that line;
* a prediction counts only with the same type and exactly the same character start and end.
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inference.trials.tagging import TAG_B, TAG_I, TAG_O, Words, split_of

CORPUS = Path("lct-eligibility-annotations") / "lct_annotations_dev.jsonl.gz"


@dataclass(frozen=True)
class Line:
    """One criterion line with its gold entities (offsets relative to the line)."""

    nct_id: str
    split: str
    text: str
    gold: tuple[tuple[str, int, int], ...]


def load_documents(data_dir: Path) -> list[dict[str, Any]]:
    """The 909 annotated LCT trials (one dict per trial).

    Raises:
        SystemExit: the corpus file is missing.
    """
    path = data_dir / CORPUS
    if not path.exists():
        raise SystemExit(f"{path} is missing; pass --data pointing at the shared data folder")
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def document_lines(doc: dict[str, Any], types: Sequence[str]) -> list[Line]:
    """The non-empty lines of one trial with their gold entities of ``types``."""
    wanted = set(types)
    entities = [
        (e["type"], e["spans"][0][0], e["spans"][-1][1])
        for e in doc["entities"]
        if e["type"] in wanted
    ]
    split = split_of(doc["nct_id"])
    lines = []
    offset = 0
    for raw in doc["text"].split("\n"):
        start, end = offset, offset + len(raw)
        offset = end + 1
        if not raw.strip():
            continue
        gold = tuple(
            sorted({(t, a - start, b - start) for t, a, b in entities if start <= a and b <= end})
        )
        lines.append(Line(doc["nct_id"], split, raw, gold))
    return lines


def corpus_lines(docs: Iterable[dict[str, Any]], types: Sequence[str]) -> list[Line]:
    """Every criterion line of ``docs`` in corpus order."""
    return [line for doc in docs for line in document_lines(doc, types)]


def word_labels(line: Line, words: Words, types: Sequence[str]) -> list[list[int]]:
    """Gold O/B/I per word and type: (words, n_types) as nested lists.

    A word gets B when it is the first word overlapping an entity and I for later ones. Where two
    gold spans of one type overlap, the longer one wins (the other is then a recall miss).
    """
    labels = [[TAG_O] * len(types) for _ in words.spans]
    index = {t: k for k, t in enumerate(types)}
    for kind, a, b in sorted(line.gold, key=lambda g: g[1] - g[2]):
        t = index[kind]
        covered = [w for w, (ws, we) in enumerate(words.spans) if ws < b and we > a]
        if not covered or any(labels[w][t] != TAG_O for w in covered):
            continue
        for rank, w in enumerate(covered):
            labels[w][t] = TAG_B if rank == 0 else TAG_I
    return labels


@dataclass
class SpanCounts:
    """True positives, false positives and false negatives per type."""

    tp: Counter[str]
    fp: Counter[str]
    fn: Counter[str]

    @classmethod
    def empty(cls) -> SpanCounts:
        return cls(Counter(), Counter(), Counter())

    def add(
        self, predicted: Iterable[tuple[str, int, int]], gold: Iterable[tuple[str, int, int]]
    ) -> None:
        """Count one line's exact (type, start, end) matches."""
        p, g = set(predicted), set(gold)
        for kind, _, _ in p & g:
            self.tp[kind] += 1
        for kind, _, _ in p - g:
            self.fp[kind] += 1
        for kind, _, _ in g - p:
            self.fn[kind] += 1

    def table(self, types: Sequence[str]) -> dict[str, dict[str, float]]:
        """Per type: gold count, precision, recall, F1 (rounded to 3 places)."""
        out = {}
        for t in types:
            tp, fp, fn = self.tp[t], self.fp[t], self.fn[t]
            precision = tp / (tp + fp) if tp + fp else 0.0
            recall = tp / (tp + fn) if tp + fn else 0.0
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
            out[t] = {
                "gold": tp + fn,
                "precision": round(precision, 3),
                "recall": round(recall, 3),
                "f1": round(f1, 3),
            }
        return out


def macro_f1(table: dict[str, dict[str, float]]) -> float:
    """Unweighted mean F1 over the table's types (unrounded inputs are already 3-place)."""
    return sum(row["f1"] for row in table.values()) / len(table)
