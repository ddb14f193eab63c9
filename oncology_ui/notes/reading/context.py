"""Sections and ConText-style assertion flags (negated, historical, hypothetical, family)."""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

from oncology_ui.notes.reading.proposal import (
    Flags,
)

# --- sections ----------------------------------------------------------------------------------

_SECTION_KINDS = {
    "family": ("family history", "family hx", "fh", "family medical history"),
    "history": (
        "past medical history",
        "pmh",
        "past history",
        "past oncologic history",
        "oncologic history",
        "oncological history",
        "oncology history",
        "treatment history",
        "past surgical history",
        "psh",
        "prior treatment",
        "prior treatments",
        "previous treatment",
    ),
    "plan": (
        "plan",
        "assessment and plan",
        "assessment & plan",
        "a/p",
        "recommendation",
        "recommendations",
        "discussion and plan",
    ),
}
_HEADER_TO_KIND = {name: kind for kind, names in _SECTION_KINDS.items() for name in names}
# Any "Words:" at the start of a line is a header; only the known ones change the flags.
_HEADER = re.compile(r"^[ \t]*([A-Za-z][A-Za-z /&'-]{1,40}?)[ \t]*:", re.M)


def sections(text: str) -> list[tuple[int, str]]:
    """``(start offset, section kind)`` in order; kind is "" for a header that sets no flag."""
    found = [(0, "")]
    for match in _HEADER.finditer(text):
        header = " ".join(match.group(1).lower().split())
        found.append((match.start(), _HEADER_TO_KIND.get(header, "")))
    return found


def _section_at(spans: list[tuple[int, str]], offset: int) -> str:
    """The kind of the last section that starts at or before ``offset`` (spans are sorted)."""
    index = bisect_right(spans, offset, key=lambda span: span[0]) - 1
    return spans[index][1] if index >= 0 else ""


# --- ConText -----------------------------------------------------------------------------------

_W = r"(?<![\w-])"  # a word start that is not inside a hyphenated word ("non-smoker")
_E = r"(?![\w-])"


def _words(*phrases: str) -> re.Pattern[str]:
    return re.compile(_W + "(?:" + "|".join(phrases) + ")" + _E, re.I)


_FORWARD = {
    "negated": _words(
        r"no",
        r"not",
        r"without",
        r"denies",
        r"denied",
        r"negative for",
        r"free of",
        r"absence of",
        r"no evidence of",
        r"no sign of",
        r"never",
        r"rules? out",
        r"ruled out",
        r"neither",
        r"nor",
    ),
    "historical": _words(
        r"history of",
        r"h/o",
        r"previously",
        r"previous",
        r"prior",
        r"in the past",
        r"status post",
        r"s/p",
        r"formerly",
        r"completed",
        r"received",
        r"was treated with",
        r"had been",
        r"progressed on",
        r"progression on",
        r"at diagnosis",
        r"initially",
    ),
    "hypothetical": _words(
        r"if",
        r"consider",
        r"considering",
        r"would",
        r"should",
        r"candidate for",
        r"plan(?:ned)? to",
        r"will (?:start|begin|receive|be started on)",
        r"to start",
        r"recommend(?:ed|s)?",
        r"possible",
        r"may",
        r"discuss(?:ed)?",
        r"options? (?:include|of)",
        r"eligible for",
        r"in case of",
        # A diagnosis not yet made: "suspicious for", "cannot exclude".
        r"suspicious for",
        r"concerning for",
        r"suspect(?:ed)?",
        r"suspicion of",
        r"cannot (?:be )?exclude(?:d)?",
        r"differential (?:diagnosis )?(?:includes?|of)",
    ),
    "family": _words(
        r"mother",
        r"father",
        r"sister",
        r"brother",
        r"aunt",
        r"uncle",
        r"daughter",
        r"son",
        r"grandmother",
        r"grandfather",
        r"cousin",
        r"niece",
        r"nephew",
        r"maternal",
        r"paternal",
        r"family history of",
    ),
}
_BACKWARD = {
    "negated": _words(
        r"(?:was |were |is |are )?ruled out",
        r"(?:was |were |is |are )?(?:not seen|not identified|not present|not detected|absent)",
        r"(?:was |were |is |are )?excluded",
        r"(?:was |were |is |are )?(?:negative|unremarkable|clear)",
    ),
    "historical": _words(r"previously", r"in the past", r"ago", r"at diagnosis"),
    "hypothetical": _words(r"pending", r"(?:is |was )?planned", r"to be (?:started|given)"),
    "family": _words(r"in (?:her|his) (?:mother|father|sister|brother|aunt|uncle)"),
}
# Phrases that contain a trigger but do not modify: "no change in", "not only".
_PSEUDO = _words(
    r"no change",
    r"no further",
    r"not only",
    r"no longer",
    r"no increase",
    r"no significant change",
    r"without difficulty",
    r"not certain whether",
    # Results, not negations: "HER2 not amplified", "MLH1 not lost".
    r"not amplified",
    r"non-?amplified",
    r"not overexpressed",
    r"not lost",
)
_TERMINATOR = re.compile(
    _W + r"(?:but|however|although|though|except|apart from|aside from|which|who|now|currently|"
    r"presents?|presented|today|remains?)" + _E + r"|[;:]",
    re.I,
)
# How far a trigger reaches, in characters, within its sentence.
_FORWARD_SCOPE = 80
_BACKWARD_SCOPE = 30
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(])|\n\s*\n|\n(?=\s*[-*•]|\s*\d+[.)]\s)")


def _sentence_bounds(text: str) -> list[tuple[int, int]]:
    bounds, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        bounds.append((start, match.start()))
        start = match.end()
    bounds.append((start, len(text)))
    return bounds


@dataclass
class _Sentence:
    start: int
    end: int
    triggers: list[tuple[str, str, int, int]]  # (category, direction, start, end)
    terminators: list[int]


def _sentence_context(text: str, start: int, end: int) -> _Sentence:
    chunk = text[start:end]
    pseudo = [(m.start(), m.end()) for m in _PSEUDO.finditer(chunk)]

    def in_pseudo(a: int, b: int) -> bool:
        return any(p0 <= a and b <= p1 for p0, p1 in pseudo)

    triggers: list[tuple[str, str, int, int]] = []
    for direction, table in (("forward", _FORWARD), ("backward", _BACKWARD)):
        for category, pattern in table.items():
            for m in pattern.finditer(chunk):
                if not in_pseudo(m.start(), m.end()):
                    triggers.append((category, direction, start + m.start(), start + m.end()))
    terminators = [start + m.start() for m in _TERMINATOR.finditer(chunk)]
    return _Sentence(start, end, triggers, terminators)


def _flags_for(
    sentence: _Sentence, start: int, end: int, section: str, *, value_words: bool
) -> Flags:
    """ConText flags for the target ``[start, end)``.

    ``value_words``: the fact reads "negative"/"positive" as its own value (biomarkers), so a
    backward "negative" after it belongs to the next result, not to this one.
    """
    found: set[str] = set()
    for category, direction, t0, t1 in sentence.triggers:
        if t0 < end and start < t1:
            continue  # inside the fact: its value, not a modifier
        if direction == "forward" and t1 <= start and start - t1 <= _FORWARD_SCOPE:
            if not any(t1 <= stop < start for stop in sentence.terminators):
                found.add(category)
        elif direction == "backward" and t0 >= end and t0 - end <= _BACKWARD_SCOPE:
            if category == "negated" and value_words:
                continue
            if not any(end <= stop < t0 for stop in sentence.terminators):
                found.add(category)
    if section == "family":
        found.add("family")
    elif section == "history":
        found.add("historical")
    elif section == "plan":
        found.add("hypothetical")
    return Flags(
        negated="negated" in found,
        historical="historical" in found,
        hypothetical="hypothetical" in found,
        family="family" in found,
    )
