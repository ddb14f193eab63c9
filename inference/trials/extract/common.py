"""What every extractor shares: :class:`Structure`, comparator words, numbers and negation cues."""

from __future__ import annotations

import re
from dataclasses import dataclass

from inference.trials.schema import (
    BiomarkerRequirement,
    CriterionKind,
    LabThreshold,
    NumericBound,
    TherapyRequirement,
)


@dataclass(frozen=True)
class Structure:
    """What one extractor found; ``alternative`` marks an "or" link to the previous structure."""

    kind: CriterionKind
    present: bool = True
    bound: NumericBound | None = None
    lab: LabThreshold | None = None
    biomarker: BiomarkerRequirement | None = None
    therapy: TherapyRequirement | None = None
    sex: str = ""
    terms: tuple[str, ...] = ()
    alternative: bool = False


_NEG_CUE_RE = re.compile(
    r"\b(?:no|not|without|absence of|free of|never|none|neither|nor|lack of|negative for|"
    r"excluding|exclude|denies)\b",
    re.I,
)
UNIT_DAYS = {"day": 1, "week": 7, "month": 30, "year": 365}
WORD_NUM = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "zero": 0}


def negated(text: str, start: int, window: int = 60) -> bool:
    clause = re.split(r"[;.]|\bbut\b|\bexcept\b", text[max(0, start - window) : start])[-1]
    cues = list(_NEG_CUE_RE.finditer(clause))
    if not cues:
        return False
    cue = cues[-1]
    # "no more than", "not less than" are comparators, not negations.
    tail = clause[cue.start() :].lower()
    return not re.match(r"(?:no|not)\s+(?:more|less|greater|fewer|lower|higher)\b", tail)
