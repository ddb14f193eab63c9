"""Split clinical documents into sentences and flag each sentence's ConText-style modifiers.

A small, plain-Python reading of ConText (Harkema et al. 2009): a cue word before a term in the
same clause marks it negated, historical, hypothetical or about a family member. Only the cue
lists and the clause scope are kept; there is no trigger grammar. ``inference`` never imports the
app, so this does not reuse ``oncology_ui/notes/reading``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Sentence ends, line breaks and the "0. " numbering the SIGIR notes carry.
_SPLIT_RE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'])|\n+")
_NUMBERING_RE = re.compile(r"^\s*(?:\d{1,3}[.)]|[-*•])\s+")
_WORD_RE = re.compile(r"[a-z][a-z0-9-]{2,}")
_CLAUSE_BREAK_RE = re.compile(r"[;:]|\bbut\b|\bhowever\b|\bexcept\b|\balthough\b", re.I)

NEGATION_RE = re.compile(
    r"\b(?:no|not|denies|denied|deny|without|negative for|free of|absence of|absent|never|"
    r"none|neither|nor|ruled out|unremarkable|non-)\b",
    re.I,
)
HISTORY_RE = re.compile(
    r"\b(?:history of|h/o|previous(?:ly)?|prior|past|s/p|status post|years? ago|months? ago|"
    r"formerly|remote|resolved|in (?:19|20)\d\d)\b",
    re.I,
)
FAMILY_RE = re.compile(
    r"\b(?:family history|mother|father|sister|brother|sibling|aunt|uncle|grand(?:mother|father)|"
    r"cousin|daughter|son|parents?)\b",
    re.I,
)
HYPOTHETICAL_RE = re.compile(
    r"\b(?:if|should|rule out|r/o|possible|possibly|suspected|suspicion of|concern for|"
    r"evaluate for|may have|might)\b",
    re.I,
)
_STOP_TEXT = (
    "with without have has had history known patients patient subjects must other than that "
    "this these those from into within prior previous current currently any such active "
    "diagnosis disease study treatment therapy severe significant clinically including which "
    "will would should their there years year months weeks days more less least over under "
    "following defined evidence participants condition conditions and the for are who not "
    "was were been being can may also all only one two age aged old per than use used "
    "patient's subject who's able criteria inclusion exclusion documented confirmed"
)
STOP = frozenset(_STOP_TEXT.split(" "))


# A heading ("Past medical history:", "SURGICAL PATHOLOGY REPORT") states nothing about the
# patient; cited as evidence it made suggestions look read from the note when they were not.
_HEADING_RE = re.compile(r"[^.!?:]{1,60}:")


def is_heading(body: str) -> bool:
    """A short line ending in a colon, or a title: two to six words in capitals, no number, no
    full stop ("DCIS." or "NO METASTASES." are statements, kept)."""
    words = body.split()
    if len(words) > 6:
        return False
    if _HEADING_RE.fullmatch(body):
        return True
    return (
        len(words) >= 2
        and body.upper() == body
        and not body.endswith((".", "!", "?"))
        and not any(c.isdigit() for c in body)
    )


@dataclass(frozen=True)
class Sentence:
    """One sentence of one document, with its character span in that document."""

    document: int
    start: int
    end: int
    text: str


def split_sentences(text: str, document: int = 0) -> list[Sentence]:
    """Sentences of ``text`` with spans into ``text``; numbering like ``"3. "`` and headings
    (:func:`is_heading`) are dropped."""
    out: list[Sentence] = []
    position = 0
    for piece in _SPLIT_RE.split(text):
        start = text.find(piece, position) if piece else position
        if start < 0:
            start = position
        position = start + len(piece)
        lead = _NUMBERING_RE.match(piece)
        offset = lead.end() if lead else 0
        body = piece[offset:].strip()
        if len(body) < 3 or is_heading(body):
            continue
        begin = start + offset + (len(piece[offset:]) - len(piece[offset:].lstrip()))
        out.append(Sentence(document, begin, begin + len(body), body))
    return out


def stems(text: str) -> list[str]:
    """Content-word stems (first six letters) in order, without stop words, deduplicated."""
    words = [w for w in _WORD_RE.findall(text.lower()) if w not in STOP]
    return list(dict.fromkeys(w[:6] for w in words))


@dataclass(frozen=True)
class Modifiers:
    """ConText flags of a term inside a sentence."""

    negated: bool
    historical: bool
    family: bool
    hypothetical: bool


def _clause_before(sentence: str, position: int) -> str:
    return _CLAUSE_BREAK_RE.split(sentence[:position])[-1]


def modifiers(sentence: str, terms: list[str]) -> Modifiers:
    """Flags of the criterion's terms (stems) in ``sentence``; cues must precede a term.

    The scope runs from a cue to the end of its clause, so the clause before the *last* term
    found is read ("MRI of the brain shows no evidence of metastases" negates metastases).
    When no term occurs the whole sentence is the scope (the cue may govern a synonym).
    """
    lower = sentence.lower()
    position = len(lower)
    found = [m.start() for t in terms for m in re.finditer(rf"\b{re.escape(t)}", lower)]
    if found:
        position = max(found)
    clause = _clause_before(lower, position)
    # "no more than" / "not less than" are comparators, not negations.
    negation = [
        m
        for m in NEGATION_RE.finditer(clause)
        if not re.match(
            r"(?:no|not)\s+(?:more|less|greater|fewer|lower|higher)\b", clause[m.start() :]
        )
    ]
    return Modifiers(
        negated=bool(negation),
        historical=bool(HISTORY_RE.search(clause)),
        family=bool(FAMILY_RE.search(lower)),
        hypothetical=bool(HYPOTHETICAL_RE.search(clause)),
    )
