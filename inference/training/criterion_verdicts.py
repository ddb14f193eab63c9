"""Train and cross-validate the note-reading criterion verdict classifier.

    python -m inference.training.criterion_verdicts --data ../shared/data \
        [--out inference/weights/trials/criterion_verdicts.json]

Data: TrialGPT criterion annotations, development part (Jin et al. 2024, NCBI public domain):
812 patient x criterion rows over 42 SIGIR patients. The rule engine judges each criterion from
the facts ``inference.trials.notes`` pulls from the note; the classifier is fitted on the rows the
engine leaves unknown (what it is used for). Cross-validation is by patient (5 folds, patients
sorted by id and dealt round-robin): no patient's rows train the model that scores them, and the
abstention threshold is picked inside each training part by an inner 4-fold patient split.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from inference.runtime import sha256_of
from inference.trials.criteria import parse_criteria
from inference.trials.eligibility import EligibilityOptions, evaluate_criterion
from inference.trials.notes import facts_from_note
from inference.trials.schema import CriterionKind, Verdict
from inference.trials.verdicts.features import pair_features
from inference.trials.verdicts.model import LABELS, VerdictModel, fit
from inference.trials.verdicts.reader import (
    WEIGHTS_PATH,
    NoteDocument,
    document_sentences,
    embed_cached,
)

logger = logging.getLogger(__name__)

VERSION = "criterion-verdicts-1.1"
GOLD = {
    "included": "met",
    "not included": "not_met",
    "excluded": "met",
    "not excluded": "not_met",
    "not enough information": "unknown",
    "not applicable": "not_applicable",
}
THRESHOLDS = (0.0, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7)
FOLDS = 5
#: Ridge penalties tried inside the training folds (see :func:`choose_settings`).
L2S = (1e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0)


@dataclass(frozen=True)
class Row:
    """One annotated patient x criterion pair, with the engine's strict label."""

    patient_id: str
    note: str
    criterion: str
    inclusion: bool
    gold: str
    engine: str
    free_text: bool


def _engine(
    note: str, criterion_text: str, inclusion: bool, closed_world: bool
) -> tuple[str, bool]:
    """The rule engine's label of one row and whether the criterion stayed free text."""
    facts = facts_from_note("patient", note, dt.date(2016, 1, 1))
    section = "Inclusion Criteria:" if inclusion else "Exclusion Criteria:"
    parsed = parse_criteria(f"{section}\n- {criterion_text}")
    criteria = [c for c in parsed if c.kind is not CriterionKind.TEXT] or list(parsed)
    free_text = all(c.kind is CriterionKind.TEXT for c in criteria)
    options = EligibilityOptions(therapy_history_complete=closed_world)
    verdicts = [evaluate_criterion(c, facts, options).verdict for c in criteria]
    if criteria and free_text:
        # Free text stays unknown unless it plainly concerns the other sex only.
        verdicts = [v for v in verdicts if v is Verdict.NOT_APPLICABLE] or [Verdict.UNKNOWN]
    decided = [v for v in verdicts if v is not Verdict.UNKNOWN]
    if verdicts and all(v is Verdict.NOT_APPLICABLE for v in verdicts):
        return "not_applicable", free_text
    label = "unknown"
    if decided:
        if inclusion:
            if Verdict.NOT_MET in decided:
                label = "not_met"
            elif len(decided) == len(verdicts) and Verdict.MET in decided:
                label = "met"
        elif Verdict.MET in decided:
            label = "met"
        elif len(decided) == len(verdicts):
            label = "not_met"
    if label == "unknown" and closed_world and not inclusion:
        # A full admission note would mention an excluding condition the patient has.
        return "not_met", free_text
    return label, free_text


def engine_label(note: str, criterion_text: str, inclusion: bool, closed_world: bool) -> str:
    """The rule engine's label (met / not_met / unknown / not_applicable) for one row."""
    return _engine(note, criterion_text, inclusion, closed_world)[0]


def load_rows(data: Path) -> list[Row]:
    """The development rows with gold and engine labels (the note's numbering removed)."""
    path = data / "trialgpt-criterion-annotations" / "criterion_annotations_dev.jsonl"
    if not path.exists():
        raise SystemExit(f"{path} is missing; pass --data pointing at the shared data folder")
    rows = []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        raw = json.loads(line)
        gold = GOLD.get(raw["expert_eligibility"])
        if gold is None:
            continue
        note = raw["note"]
        inclusion = raw["criterion_type"] == "inclusion"
        text = raw["criterion_text"] or ""
        engine, free_text = _engine(note, text, inclusion, False)
        rows.append(Row(raw["patient_id"], note, text, inclusion, gold, engine, free_text))
    return rows


def featurize_with_evidence(rows: Sequence[Row]) -> tuple[np.ndarray, list[str]]:
    """Feature matrix (N, F), each row's criterion against its note as the only document, and
    each row's closest sentence ("" when none), as the app reads them."""
    out = []
    evidence = []
    split: dict[str, list] = {}
    for row in rows:
        doc = (NoteDocument("note", "Admission note", "note", None, row.note),)
        sentences = split.setdefault(row.note, document_sentences(doc))
        pair = pair_features(row.criterion, row.inclusion, row.free_text, sentences, embed_cached)
        out.append(pair.vector)
        evidence.append(pair.evidence.text if pair.evidence is not None else "")
    return np.asarray(out, dtype=float), evidence


def patient_folds(patients: Sequence[str], k: int = FOLDS) -> np.ndarray:
    """Fold index per row: patients sorted by id and dealt round-robin (GroupKFold by patient)."""
    order = {p: i % k for i, p in enumerate(sorted(set(patients)))}
    return np.array([order[p] for p in patients])


def _labels(y: Sequence[str]) -> np.ndarray:
    return np.array([LABELS.index(v) for v in y])


def _accuracy(model: VerdictModel, x: np.ndarray, y: np.ndarray, threshold: float) -> float:
    decided = replace(model, threshold=threshold).decide(x)
    return float(np.mean([LABELS.index(d.label) == t for d, t in zip(decided, y, strict=True)]))


def choose_settings(x: np.ndarray, y: np.ndarray, patients: Sequence[str]) -> tuple[float, float]:
    """The ridge penalty and abstention threshold with the best inner-CV accuracy.

    Both are chosen by a 4-fold patient split of the rows given (the training part only); ties
    go to the stronger penalty and then the lower threshold.
    """
    folds = patient_folds(patients, FOLDS - 1)
    scores = np.zeros((len(L2S), len(THRESHOLDS)))
    for f in range(FOLDS - 1):
        train, test = folds != f, folds == f
        for i, l2 in enumerate(L2S):
            model = fit(x[train], y[train], l2=l2)
            for j, t in enumerate(THRESHOLDS):
                scores[i, j] += _accuracy(model, x[test], y[test], t) * test.sum()
    # L2S ascends: reversed, argmax's first maximum is the strongest penalty (simplest model).
    strongest_first = scores[::-1]
    row, column = np.unravel_index(int(np.argmax(strongest_first)), strongest_first.shape)
    return L2S[len(L2S) - 1 - int(row)], THRESHOLDS[int(column)]


def cross_validated(
    rows: Sequence[Row],
    x: np.ndarray,
    rules: bool = True,
    evidence: Sequence[str] | None = None,
) -> tuple[list[str], list[tuple[float, float]]]:
    """Out-of-fold labels for every row: engine label, or the fold model's for engine-unknown rows.

    ``evidence`` (each row's closest sentence, from ``featurize_with_evidence``) applies the
    app's in-situ / invasive guard as well as the relative's-finding one.

    Returns:
        The strict-reading labels and the (ridge penalty, threshold) chosen per fold.
    """
    patients = [r.patient_id for r in rows]
    folds = patient_folds(patients)
    undecided = np.array([r.engine == "unknown" for r in rows])
    y = _labels([r.gold for r in rows])
    labels = [r.engine for r in rows]
    settings = []
    for f in range(FOLDS):
        train_mask = (folds != f) & undecided
        l2, threshold = choose_settings(
            x[train_mask],
            y[train_mask],
            [p for p, m in zip(patients, train_mask, strict=True) if m],
        )
        model = fit(x[train_mask], y[train_mask], l2=l2, threshold=threshold)
        settings.append((l2, threshold))
        test = np.flatnonzero((folds == f) & undecided)
        texts = [rows[int(i)].criterion for i in test]
        closest = [evidence[int(i)] for i in test] if evidence is not None else None
        for i, decided in zip(test, model.decide(x[test], rules, texts, closest), strict=True):
            labels[i] = decided.label
    return labels, settings


def main(argv: Sequence[str] | None = None) -> None:
    """Fit on all development rows the engine leaves unknown and write the weights file."""
    import torch

    torch.set_num_threads(1)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=WEIGHTS_PATH)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    rows = load_rows(args.data)
    x, evidence = featurize_with_evidence(rows)
    labels, settings = cross_validated(rows, x, evidence=evidence)
    gold = [r.gold for r in rows]
    accuracy = float(np.mean([g == p for g, p in zip(gold, labels, strict=True)]))
    met = [p for g, p in zip(gold, labels, strict=True) if g == "met"]
    logger.info(
        "CV strict accuracy %.3f, met recall %.3f, (L2, threshold) per fold %s",
        accuracy,
        met.count("met") / len(met),
        settings,
    )
    undecided = np.array([r.engine == "unknown" for r in rows])
    patients = [r.patient_id for r, m in zip(rows, undecided, strict=True) if m]
    l2, threshold = choose_settings(x[undecided], _labels(gold)[undecided], patients)
    model = fit(x[undecided], _labels(gold)[undecided], l2=l2, version=VERSION, threshold=threshold)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(model.to_json(), indent=1) + "\n")
    logger.info(
        "wrote %s sha256 %s (L2 %g, threshold %.2f)",
        args.out,
        sha256_of(args.out),
        l2,
        model.threshold,
    )


if __name__ == "__main__":
    main()
