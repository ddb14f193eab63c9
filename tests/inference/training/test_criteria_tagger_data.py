"""Gold lines, word labels and span scoring of the criteria tagger, on a hand-made LCT document."""

from __future__ import annotations

import torch

from inference.training.criteria_tagger_data import (
    Line,
    SpanCounts,
    document_lines,
    macro_f1,
    word_labels,
)
from inference.trials.tagging import TAG_B, TAG_I, TAG_O, WORD_RE, Words

TEXT = "Inclusion Criteria:\n\n  -  ANC >= 1500/uL\n  -  No prior PD-1 inhibitors\n"
DOC = {
    "nct_id": "NCT03800001",
    "text": TEXT,
    "entities": [
        {"id": "T1", "type": "Observation", "spans": [[26, 29]], "text": "ANC"},
        {"id": "T2", "type": "Eq-Comparison", "spans": [[30, 40]], "text": ">= 1500/uL"},
        {"id": "T3", "type": "Eq-Value", "spans": [[33, 37]], "text": "1500"},
        {"id": "T4", "type": "Negation", "spans": [[46, 48]], "text": "No"},
        {"id": "T5", "type": "Drug", "spans": [[55, 70]], "text": "PD-1 inhibitors"},
        {"id": "T6", "type": "Study", "spans": [[0, 9]], "text": "Inclusion"},
    ],
}
TYPES = ("Observation", "Eq-Comparison", "Eq-Value", "Negation", "Drug")


def _words(text: str) -> Words:
    spans = tuple(m.span() for m in WORD_RE.finditer(text))
    return Words(spans, torch.zeros(len(spans), 1))


def test_lines_keep_their_own_gold_with_line_offsets_and_skip_blank_lines() -> None:
    lines = document_lines(DOC, TYPES)
    assert [line.text for line in lines] == [
        "Inclusion Criteria:",
        "  -  ANC >= 1500/uL",
        "  -  No prior PD-1 inhibitors",
    ]
    assert lines[0].gold == ()  # Study is not a tagger type
    ((kind, a, b), *_) = [g for g in lines[1].gold if g[0] == "Observation"]
    assert lines[1].text[a:b] == "ANC"
    assert {(k, lines[2].text[a:b]) for k, a, b in lines[2].gold} == {
        ("Negation", "No"),
        ("Drug", "PD-1 inhibitors"),
    }


def test_words_split_operators_digits_and_units_where_annotators_cut() -> None:
    assert [m.group() for m in WORD_RE.finditer("≥18 30kg/m² 1.5x")] == [
        "≥",
        "18",
        "30",
        "kg",
        "/",
        "m²",
        "1",
        ".",
        "5",
        "x",
    ]


def test_word_labels_mark_b_then_i_per_type_and_nest_across_types() -> None:
    line = document_lines(DOC, TYPES)[1]
    words = _words(line.text)
    labels = word_labels(line, words, TYPES)
    texts = [line.text[a:b] for a, b in words.spans]
    column = {t: [labels[w][k] for w in range(len(texts))] for k, t in enumerate(TYPES)}
    assert texts == ["-", "ANC", ">", "=", "1500", "/", "uL"]
    assert column["Observation"] == [TAG_O, TAG_B, TAG_O, TAG_O, TAG_O, TAG_O, TAG_O]
    assert column["Eq-Comparison"] == [TAG_O, TAG_O, TAG_B, TAG_I, TAG_I, TAG_I, TAG_I]
    assert column["Eq-Value"] == [TAG_O, TAG_O, TAG_O, TAG_O, TAG_B, TAG_O, TAG_O]


def test_span_counts_need_the_exact_type_start_and_end() -> None:
    counts = SpanCounts.empty()
    gold = [("Drug", 5, 20), ("Negation", 0, 2)]
    counts.add([("Drug", 5, 20), ("Negation", 0, 3), ("Eq-Value", 1, 2)], gold)
    table = counts.table(("Drug", "Negation", "Eq-Value"))
    assert table["Drug"] == {"gold": 1, "precision": 1.0, "recall": 1.0, "f1": 1.0}
    assert table["Negation"]["f1"] == 0.0 and table["Negation"]["gold"] == 1
    assert table["Eq-Value"]["precision"] == 0.0
    assert macro_f1(table) == 1.0 / 3


def test_a_line_without_gold_scores_its_predictions_as_false_positives() -> None:
    counts = SpanCounts.empty()
    counts.add([("Drug", 0, 3)], Line("NCT1", "test", "abc", ()).gold)
    assert counts.fp["Drug"] == 1 and counts.tp["Drug"] == 0
