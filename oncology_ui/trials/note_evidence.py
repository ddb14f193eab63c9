"""Criterion-level suggestions read from the case's documents, stored beside the engine's verdicts.

The rule engine judges criteria from reviewed, structured facts only; what it leaves unknown is
read from the documents by ``inference.trials.verdicts``. A suggestion is stored on the verdict
as ``note_reading`` (verdict, probability, model version, the cited sentence and its document)
and shown as read from a note; the engine's verdict, the counts and the rank stay those of the
reviewed facts, so nothing unreviewed rules a patient in or out.
"""

from __future__ import annotations

import logging
from typing import Any

from inference.trials.schema import TrialMatch, Verdict
from inference.trials.verdicts import (
    NOT_MENTIONED,
    NoteDocument,
    NoteReading,
    read_unknown_verdicts,
)
from inference.trials.verdicts.reader import (
    document_sentences,
    encode_ahead,
)

logger = logging.getLogger(__name__)


def reading_to_json(reading: NoteReading) -> dict[str, Any]:
    """The stored form of one reading (what the checklist shows)."""
    doc = reading.document
    document_id = int(doc.ref.split(":", 1)[1]) if doc and doc.ref.startswith("document:") else None
    return {
        "verdict": reading.verdict.value,
        "decided": reading.verdict is not Verdict.UNKNOWN,
        "probability": reading.probability,
        "abstained": reading.abstained,
        "rule": reading.rule,
        "model_version": reading.model_version,
        "sentence": reading.sentence if doc else NOT_MENTIONED,
        "start": reading.start,
        "end": reading.end,
        "document_id": document_id,
        "document_title": doc.title if doc else "",
        "document_kind": doc.kind if doc else "",
        "document_date": doc.date.isoformat() if doc and doc.date else None,
    }


def note_readings(
    matches: tuple[TrialMatch, ...], documents: tuple[NoteDocument, ...]
) -> dict[tuple[str, str], dict[str, Any]]:
    """Readings of every unknown criterion of every match, by (nct_id, criterion_id).

    No documents, or a sentence model that is not installed, gives no readings (the engine's
    unknowns stay as they are, and the page says nothing was read).
    """
    if not documents:
        return {}
    out: dict[tuple[str, str], dict[str, Any]] = {}
    try:
        # One encoder pass over every unknown criterion and sentence, not one per criterion.
        unknown = [
            v.criterion.text for m in matches for v in m.verdicts if v.verdict is Verdict.UNKNOWN
        ]
        encode_ahead([*dict.fromkeys(unknown), *(s.text for s in document_sentences(documents))])
        for match in matches:
            _, readings = read_unknown_verdicts(match.verdicts, documents)
            for criterion_id, reading in readings.items():
                out[(match.nct_id, criterion_id)] = reading_to_json(reading)
    except RuntimeError:
        # The sentence model is an install-time extra; without it nothing is read.
        logger.warning("note reading skipped: the sentence embedding model is not installed")
        return {}
    return out


def attach_readings(
    match_json: dict[str, Any], readings: dict[tuple[str, str], dict[str, Any]]
) -> dict[str, Any]:
    """Put each verdict's reading on it and count the decided suggestions of the match."""
    suggested = 0
    for verdict in match_json["verdicts"]:
        reading = readings.get((match_json["nct_id"], verdict["criterion_id"]))
        if reading is not None:
            verdict["note_reading"] = reading
            suggested += int(reading["decided"])
    match_json["n_note_suggested"] = suggested
    return match_json


def documents_used(documents: tuple[NoteDocument, ...]) -> list[str]:
    """The facts-used lines that name the documents read."""
    return [
        f"document read for unknown criteria: {d.kind} “{d.title}” of {d.date or 'undated'}"
        for d in documents
    ]
