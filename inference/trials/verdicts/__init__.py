"""Note-aware decisions for criteria the rule engine leaves unknown (see :mod:`.reader`)."""

from inference.trials.verdicts.reader import (
    NOT_MENTIONED,
    NoteDocument,
    NoteReading,
    read_criterion,
    read_unknown_verdicts,
    shipped_model,
)

__all__ = [
    "NOT_MENTIONED",
    "NoteDocument",
    "NoteReading",
    "read_criterion",
    "read_unknown_verdicts",
    "shipped_model",
]
