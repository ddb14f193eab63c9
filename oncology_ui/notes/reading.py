"""Reading a clinical document: sections, ConText-style assertion flags, and proposed facts.

Plain Python (no Django, no network, no downloaded model), so it runs in a job, a benchmark or a
test alike. Why not medspacy: medspacy 1.3.1 hard-depends on medspacy_quickumls, which pulls
Unidecode (GPL-2.0+) into the runtime closure, and on Python 3.11 it needs spaCy < 3.8, whose
thinc requires numpy < 2 (the app pins numpy 2.4). So the two pieces of medspacy the brief asked
for are written here as small rules in the same shape:

1. **Sectionizer**: a line that starts with a known header (``Family history:``, ``PMH:``,
   ``Plan:``) opens a section; family-history sections flag their facts as family, past-history
   and treatment-history sections as historical, plan sections as hypothetical.
2. **ConText** (Harkema et al. 2009): per sentence, trigger phrases with a direction (forward,
   backward) and a scope that ends at a terminator (``but``, ``however``, ``now``, ``;``) flag a
   target as negated, historical, hypothetical or about a family member. A trigger that lies
   inside the fact itself ("ER negative") is the fact's value, not a modifier.

Facts: receptor and biomarker results (ER/PR %, intensity; HER2 IHC score and ISH ratio; PD-L1
TPS/CPS; MSI/MMR; TMB), TNM and the AJCC stage group, ECOG and Karnofsky, lab values with units
checked against the lab catalogue, prior therapies with line and response, metastatic sites,
menopausal and pregnancy status, and key comorbidities with their ICD-10-CM category. Each keeps
its character span in the document.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache

from inference.trials.lexicon import THERAPY_CLASSES
from oncology_ui.clinical.parsers.biomarkers import BiomarkerError, normalise_biomarker
from oncology_ui.clinical.parsers.catalogue import Analyte, Catalogue, load_catalogue
from oncology_ui.clinical.parsers.labs import LabRecord, LabValueError, PatientContext, normalise

# --- what a proposal is ------------------------------------------------------------------------

BIOMARKER = "biomarker"
TNM = "tnm"
STAGE_GROUP = "stage_group"
ECOG = "ecog"
KARNOFSKY = "karnofsky"
LAB = "lab"
PRIOR_THERAPY = "prior_therapy"
METASTATIC_SITE = "metastatic_site"
MENOPAUSAL_STATUS = "menopausal_status"
PREGNANCY = "pregnancy"
COMORBIDITY = "comorbidity"

KINDS = (
    BIOMARKER,
    TNM,
    STAGE_GROUP,
    ECOG,
    KARNOFSKY,
    LAB,
    PRIOR_THERAPY,
    METASTATIC_SITE,
    MENOPAUSAL_STATUS,
    PREGNANCY,
    COMORBIDITY,
)


@dataclass(frozen=True)
class Flags:
    """The ConText assertion of a fact: none set means a current fact about the patient."""

    negated: bool = False
    historical: bool = False
    hypothetical: bool = False
    family: bool = False


@dataclass(frozen=True)
class Proposal:
    """One fact read from the text, not yet reviewed.

    ``value`` holds the fields the accepted row needs (strings and numbers only, so it can be
    stored as JSON and edited in a form); ``start``/``end`` are character offsets in the text.
    """

    kind: str
    label: str
    value: dict[str, str | int | float | None]
    start: int
    end: int
    section: str = ""
    flags: Flags = field(default_factory=Flags)


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


# --- biomarkers --------------------------------------------------------------------------------

_MARKER_NAME = re.compile(
    _W + r"(?P<name>ER|PR|PgR|HER-?2(?:/neu)?|ERBB2|PD-?L1|MSI|MMR|TMB|"
    r"o?estrogen receptors?|progesterone receptors?|microsatellite (?:instability|stable)|"
    r"mismatch repair|tumou?r mutational burden|MSI-H(?:igh)?|MSS|dMMR|pMMR)" + _E,
    re.I,
)
_CANONICAL = {
    "er": "ER",
    "estrogen receptor": "ER",
    "oestrogen receptor": "ER",
    "estrogen receptors": "ER",
    "oestrogen receptors": "ER",
    "pr": "PR",
    "pgr": "PR",
    "progesterone receptor": "PR",
    "progesterone receptors": "PR",
    "her2": "HER2",
    "her-2": "HER2",
    "her2/neu": "HER2",
    "her-2/neu": "HER2",
    "erbb2": "HER2",
    "pd-l1": "PD-L1",
    "pdl1": "PD-L1",
    "msi": "MSI",
    "microsatellite instability": "MSI",
    "microsatellite stable": "MSI",
    "msi-h": "MSI",
    "msi-high": "MSI",
    "mss": "MSI",
    "mmr": "MMR",
    "mismatch repair": "MMR",
    "dmmr": "MMR",
    "pmmr": "MMR",
    "tmb": "TMB",
    "tumor mutational burden": "TMB",
    "tumour mutational burden": "TMB",
}
_PERCENT = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d+)?)\s*%")
_IHC_SCORE = re.compile(r"(?<![\w.])([0-3])\s*\+(?!\d)")
_RATIO = re.compile(r"ratio\D{0,12}?(\d{1,2}(?:\.\d{1,2})?)", re.I)
_INTENSITY = _words(r"weak", r"moderate", r"strong", r"intermediate")
_STATUS_WORD = _words(
    r"positive",
    r"negative",
    r"equivocal",
    r"amplified",
    r"not amplified",
    r"non-?amplified",
    r"high",
    r"low",
    r"stable",
    r"deficient",
    r"proficient",
    r"intact",
    r"retained",
    r"loss",
)
_TPS = re.compile(r"\bTPS\b\D{0,6}?(<?\s*\d{1,3}(?:\.\d+)?)\s*%?", re.I)
_CPS = re.compile(r"\bCPS\b\D{0,6}?(<?\s*\d{1,3}(?:\.\d+)?)", re.I)
_TMB_VALUE = re.compile(r"(\d{1,4}(?:\.\d+)?)\s*(?:mut(?:ations)?/Mb|muts?/Mb|/Mb)", re.I)
_ISH = re.compile(r"\b(?:FISH|ISH|CISH|SISH|dual[- ]probe)\b", re.I)
_BOUNDARY = re.compile(r"[.;\n]|\bbut\b|\bwhile\b", re.I)


def _canonical_marker(written: str) -> str:
    key = written.lower().replace("/neu", "/neu")
    if key.startswith("her") and "2" in key:
        return "HER2"
    return _CANONICAL.get(key, _CANONICAL.get(key.replace("-", ""), ""))


def _marker_window(text: str, match: re.Match[str], next_start: int) -> tuple[int, int]:
    """The words after a marker name that describe its result: up to the next marker name, a
    sentence end, or 60 characters."""
    start = match.end()
    stop = min(next_start, start + 60, len(text))
    cut = _BOUNDARY.search(text, start, stop)
    if cut is not None:
        # A decimal point is not a sentence end ("ratio 2.3").
        while cut is not None and text[cut.start()] == "." and cut.start() + 1 < len(text):
            if not text[cut.start() + 1].isdigit():
                break
            cut = _BOUNDARY.search(text, cut.start() + 1, stop)
        if cut is not None:
            stop = cut.start()
    return start, stop


def _biomarker(
    name: str, method: str, value: str, status: str, start: int, end: int, extra: str = ""
) -> Proposal | None:
    """A proposal only if the clinical normaliser accepts it (the row it would become)."""
    try:
        record = normalise_biomarker(
            name=name,
            method=method,
            value=value,
            unit="",
            status=status,
            measured_on=None,
            source_ref="",
            source_key="",
        )
    except BiomarkerError:
        return None
    shown = " ".join(p for p in (record.name, record.method, value, extra, status) if p)
    if record.status and record.status not in shown:
        shown += f" ({record.status})"
    return Proposal(
        BIOMARKER,
        shown,
        {
            "name": record.name,
            "method": record.method,
            "value": value,
            "status": status,
            "derived_status": record.status,
            "intensity": extra,
        },
        start,
        end,
    )


def _status_of(words: str) -> str:
    lowered = words.lower().replace("-", "")
    if lowered in {"not amplified", "nonamplified"}:
        return "not amplified"
    return lowered


def biomarker_proposals(text: str) -> Iterator[Proposal]:
    names = [m for m in _MARKER_NAME.finditer(text) if _canonical_marker(m.group("name"))]
    canonical = [_canonical_marker(m.group("name")) for m in names]
    # The result runs to the next *other* marker: "HER2 ISH: not amplified, HER2/CEP17 ratio
    # 1.4" is one HER2 result. Found walking backwards, so hostile text stays linear.
    next_other = [len(text)] * len(names)
    for i in range(len(names) - 2, -1, -1):
        same = canonical[i + 1] == canonical[i]
        next_other[i] = next_other[i + 1] if same else names[i + 1].start()
    consumed = 0  # the end of the last result read: a name inside it is part of that result
    for i, match in enumerate(names):
        written = match.group("name")
        # "ER" and "PR" only in capitals: "er" and "pr" are words in notes ("per", "Dr").
        if written.lower() in {"er", "pr"} and written not in {"ER", "PR"}:
            continue
        if match.start() < consumed:
            continue
        name = canonical[i]
        next_start = next_other[i]
        w0, w1 = _marker_window(text, match, next_start)
        window = text[w0:w1]
        lowered_name = written.lower()
        found: list[Proposal | None] = []
        status_match = _STATUS_WORD.search(window)
        status = _status_of(status_match.group(0)) if status_match else ""
        status_end = w0 + status_match.end() if status_match else match.end()
        # Names that carry their result: MSI-H, MSS, dMMR, pMMR.
        implied = {
            "msi-h": "high",
            "msi-high": "high",
            "mss": "stable",
            "microsatellite stable": "stable",
            "dmmr": "deficient",
            "pmmr": "proficient",
        }.get(lowered_name)
        if implied:
            found.append(_biomarker(name, "", "", implied, match.start(), match.end()))
        elif name in {"ER", "PR"}:
            percent = _PERCENT.search(window)
            intensity = _INTENSITY.search(window)
            if status in {"positive", "negative"} or percent:
                value = f"{percent.group(1)}%" if percent else ""
                ends = [m.end() for m in (percent, intensity, status_match) if m]
                found.append(
                    _biomarker(
                        name,
                        "IHC",
                        value,
                        status if status in {"positive", "negative"} else "",
                        match.start(),
                        w0 + max(ends) if ends else match.end(),
                        intensity.group(0).lower() if intensity else "",
                    )
                )
        elif name == "HER2":
            score = _IHC_SCORE.search(window)
            ratio = _RATIO.search(window)
            if score:
                found.append(
                    _biomarker(
                        name, "IHC", f"{score.group(1)}+", "", match.start(), w0 + score.end()
                    )
                )
            if ratio:
                amplified = re.search(r"not amplified|non-?amplified|amplified", window, re.I)
                found.append(
                    _biomarker(
                        name,
                        "ISH",
                        ratio.group(1),
                        _status_of(amplified.group(0)) if amplified else "",
                        match.start(),
                        w0 + max(ratio.end(), amplified.end() if amplified else 0),
                    )
                )
            if (
                not score
                and not ratio
                and status
                in {
                    "positive",
                    "negative",
                    "equivocal",
                    "amplified",
                    "not amplified",
                }
            ):
                method = "ISH" if _ISH.search(window) or "amplified" in status else "IHC"
                found.append(_biomarker(name, method, "", status, match.start(), status_end))
        elif name == "PD-L1":
            for pattern, method in ((_TPS, "TPS"), (_CPS, "CPS")):
                score_match = pattern.search(window)
                if score_match:
                    number = score_match.group(1).replace(" ", "")
                    value = f"{number}%" if method == "TPS" else number
                    found.append(
                        _biomarker(name, method, value, "", match.start(), w0 + score_match.end())
                    )
            if not found:
                percent = _PERCENT.search(window)
                if percent:
                    found.append(
                        _biomarker(
                            name,
                            "TPS",
                            f"{percent.group(1)}%",
                            "",
                            match.start(),
                            w0 + percent.end(),
                        )
                    )
        elif name == "TMB":
            value_match = _TMB_VALUE.search(window)
            if value_match:
                found.append(
                    _biomarker(
                        name, "", value_match.group(1), "", match.start(), w0 + value_match.end()
                    )
                )
            elif status in {"high", "low"}:
                found.append(_biomarker(name, "", "", status, match.start(), status_end))
        elif name in {"MSI", "MMR"} and status:
            allowed = (
                {"high", "low", "stable"}
                if name == "MSI"
                else {"deficient", "proficient", "intact", "retained", "loss"}
            )
            if status in allowed:
                found.append(_biomarker(name, "", "", status, match.start(), status_end))
        kept = [p for p in found if p is not None]
        if kept:
            consumed = max(p.end for p in kept)
        yield from kept


# --- staging and performance status ------------------------------------------------------------

_TNM = re.compile(
    r"(?<![\w/])(?P<prefix>y?[cp]|r|yp)?T(?P<t>is|[0-4X](?:[a-d](?:[1-3])?)?|0)"
    r"(?:\s*,?\s*(?P<nprefix>y?[cp])?N(?P<n>[0-3X](?:[a-c])?(?:\s?\((?:sn|mi|i\+|i-|mol\+)\))?))?"
    r"(?:\s*,?\s*(?P<mprefix>y?[cp])?M(?P<m>[01X](?:[a-d])?(?:\(i\+\))?))?(?![\w+])"
)
_ROMAN = {"0": "0", "1": "I", "2": "II", "3": "III", "4": "IV"}
_STAGE = re.compile(
    r"(?<![\w-])(?:AJCC\s+(?:\d+(?:th)?\s+(?:edition\s+)?)?)?(?:(?:clinical|pathologic(?:al)?|"
    r"prognostic|anatomic)\s+)?[Ss]tage(?:\s+group)?\s*:?\s*(?P<group>IV|III|II|I|0|[1-4])"
    r"(?P<sub>[ABC][1-3]?)?(?![\w])"
)
_ECOG = re.compile(
    r"(?<![\w-])(?:ECOG|WHO)(?:\s+(?:PS|performance status|performance score))?"
    r"(?:\s+(?:score|status|grade))?\s*(?:of|is|was|=|:|-)?\s*(?P<value>[0-4])(?!\d|\.\d)"
    r"|(?<![\w-])(?:performance status|PS)\s*(?:\(ECOG\))?\s*(?:of|is|was|=|:)?\s*"
    r"(?P<value2>[0-4])(?!\d|\.\d)",
)
_KARNOFSKY = re.compile(
    r"(?<![\w-])(?:Karnofsky(?:\s+performance\s+(?:status|score))?|KPS)\s*(?:score\s*)?"
    r"(?:of|is|was|=|:)?\s*(?P<value>100|[1-9]0)\s*%?(?!\d)",
    re.I,
)


def _tnm_part(prefix: str, letter: str, value: str) -> str:
    return f"{prefix}{letter}{value}".replace(" ", "")[:10]


def staging_proposals(text: str) -> Iterator[Proposal]:
    for m in _TNM.finditer(text):
        prefix = (m.group("prefix") or "").lower()
        # A bare "T2" is an MRI weighting as often as a tumour category: need a c/p prefix or
        # an N category after it.
        if not prefix and m.group("n") is None:
            continue
        if m.group("t") == "0" and m.group("n") is None:
            continue
        prefix = prefix or "c"
        staging = "pathological" if "p" in prefix else "clinical"
        t = _tnm_part(prefix, "T", m.group("t"))
        n = _tnm_part(m.group("nprefix") or prefix, "N", m.group("n")) if m.group("n") else ""
        mm = _tnm_part(m.group("mprefix") or prefix, "M", m.group("m")) if m.group("m") else ""
        label = " ".join(p for p in (t, n, mm) if p)
        yield Proposal(
            TNM, label, {"staging": staging, "t": t, "n": n, "m": mm}, m.start(), m.end()
        )
    for m in _STAGE.finditer(text):
        group = _ROMAN.get(m.group("group"), m.group("group")) + (m.group("sub") or "")
        yield Proposal(STAGE_GROUP, f"Stage {group}", {"stage_group": group}, m.start(), m.end())


def performance_proposals(text: str) -> Iterator[Proposal]:
    for m in _ECOG.finditer(text):
        value = int(m.group("value") or m.group("value2"))
        yield Proposal(ECOG, f"ECOG {value}", {"ecog": value}, m.start(), m.end())
    for m in _KARNOFSKY.finditer(text):
        value = int(m.group("value"))
        yield Proposal(KARNOFSKY, f"Karnofsky {value}%", {"karnofsky": value}, m.start(), m.end())


# --- labs --------------------------------------------------------------------------------------

# Aliases that are ordinary words or abbreviations of something else in a note ("pt" = patient,
# "mg" = milligram, "ca" = cancer, "k" = thousand, "hr" = hours, "ER" ...), and vital signs.
_LAB_ALIAS_STOP = {
    "pt",
    "mg",
    "ca",
    "k",
    "na",
    "cl",
    "hr",
    "rr",
    "ht",
    "wt",
    "map",
    "tp",
    "ld",
    "cr",
    "temp",
    "fib",
    "glu",
    "alb",
    "bands",
    "weight",
    "height",
    "body weight",
    "body height",
    "stature",
    "pulse",
    "egfr",
    "gfr",
    "co2",
    "psa",
}
_LAB_SKIP_CATEGORIES = {"vital", "vitals", "derived"}
_UNIT = (
    r"(?:x|×)?\s*10\s*\^?\s*(?:9|⁹|12|3)\s*/\s*(?:L|l|uL|µL|mm3)|10\*(?:9|12|3)/L|"
    r"[KM]/(?:uL|µL|mm3)|/(?:uL|µL|mm3)|cells/(?:uL|µL|mm3)|"
    r"g/dL|g/dl|g/L|mg/dL|mg/dl|mg/L|µg/L|ug/L|ng/mL|ng/ml|pg/mL|kU/L|U/mL|IU/mL|"
    r"mmol/L|mmol/l|µmol/L|umol/L|μmol/L|U/L|IU/L|mL/min(?:/1\.73\s*m2)?|fL|pg|%|s|sec"
)
_LAB_VALUE = re.compile(
    r"\s*(?:level|count|of|was|is|at|:|=|-)?\s*(?:level|of|was|is|:|=)?\s*"
    r"(?P<value>[<>≤≥]?\s*\d+(?:\.\d+)?)\s*(?P<unit>" + _UNIT + r")?(?![\w/])"
)


@lru_cache(maxsize=1)
def _lab_names() -> tuple[re.Pattern[str], dict[str, Analyte], Catalogue]:
    catalogue = load_catalogue()
    names: dict[str, Analyte] = {}
    for analyte in catalogue.analytes.values():
        if analyte.category in _LAB_SKIP_CATEGORIES:
            continue
        for name in (analyte.name, *analyte.aliases):
            key = " ".join(name.lower().split())
            if key in _LAB_ALIAS_STOP or len(key) < 2:
                continue
            names.setdefault(key, analyte)
    ordered = sorted(names, key=len, reverse=True)
    pattern = re.compile(
        r"(?<![\w-])(?:" + "|".join(re.escape(n) for n in ordered) + r")(?![\w-])", re.I
    )
    return pattern, names, catalogue


def note_lab_record(
    *,
    catalogue: Catalogue,
    analyte: Analyte,
    value_text: str,
    unit: str,
    on: date,
    context: PatientContext | None = None,
    source_ref: str = "",
    source_key: str = "",
) -> LabRecord:
    """A lab value written in a note, normalised as an imported one would be.

    The note gives no time of day or reference range: the value counts as taken at midnight UTC
    of ``on`` and is flagged against the catalogue's range. Raises :class:`LabValueError` for no
    unit, an unknown unit or an implausible value, both when reading and when accepting.
    """
    return normalise(
        catalogue=catalogue,
        analyte=analyte,
        loinc="",
        name=analyte.name,
        value_text=value_text,
        unit=unit,
        collected_at=datetime.combine(on, datetime.min.time(), tzinfo=UTC),
        reference=None,
        context=context or PatientContext(),
        source_ref=source_ref,
        source_key=source_key,
    )


def lab_proposals(text: str, *, on: date | None) -> Iterator[Proposal]:
    pattern, names, catalogue = _lab_names()
    day = on or date(2000, 1, 1)
    for m in pattern.finditer(text):
        value = _LAB_VALUE.match(text, m.end(), min(len(text), m.end() + 40))
        if value is None:
            continue
        analyte = names[" ".join(m.group(0).lower().split())]
        unit = (value.group("unit") or "").strip()
        unit = re.sub(r"^(?:x|×)\s*", "", unit).replace(" ", "").replace("⁹", "9")
        unit = unit.replace("10^9/l", "10^9/L").replace("μ", "µ")
        if unit in {"K/uL", "K/µL"}:
            unit = "10^3/uL"
        value_text = value.group("value").replace(" ", "")
        try:
            record = note_lab_record(
                catalogue=catalogue, analyte=analyte, value_text=value_text, unit=unit, on=day
            )
        except LabValueError:
            continue  # no unit, an unknown unit, or an implausible value: not proposed
        yield Proposal(
            LAB,
            f"{analyte.name} {value_text} {unit}".strip(),
            {
                "analyte": analyte.key,
                "name": analyte.name,
                "loinc": analyte.loinc,
                "value": value_text,
                "unit": unit,
                "converted": record.value,
                "converted_unit": record.unit,
            },
            m.start(),
            value.end(),
        )


# --- therapies ---------------------------------------------------------------------------------

_EXTRA_DRUGS = {
    "chemotherapy": (
        "capecitabine",
        "cyclophosphamide",
        "fluorouracil",
        "5-fu",
        "gemcitabine",
        "eribulin",
        "vinorelbine",
        "pemetrexed",
        "irinotecan",
        "folfox",
        "folfiri",
        "folfirinox",
        "capox",
        "xelox",
        "ac-t",
        "tc",
    ),
    "antibody-drug conjugate": (
        "trastuzumab deruxtecan",
        "t-dxd",
        "t-dm1",
        "sacituzumab govitecan",
    ),
    "targeted therapy": ("alpelisib", "everolimus", "sotorasib", "adagrasib", "cetuximab"),
    "endocrine therapy": ("goserelin", "leuprolide", "elacestrant"),
}
_LOCAL = {
    "radiotherapy": r"radiotherapy|radiation therapy|radiation|irradiation|SBRT|WBRT|"
    r"stereotactic radiosurgery",
    "surgery": r"mastectomy|lumpectomy|wide local excision|quadrantectomy|lobectomy|"
    r"pneumonectomy|colectomy|hemicolectomy|resection|axillary (?:lymph node )?dissection|"
    r"sentinel (?:lymph )?node biopsy|whipple|gastrectomy|hysterectomy|oophorectomy",
}
_LINE = re.compile(
    r"(?P<n>first|second|third|fourth|fifth|1st|2nd|3rd|4th|5th|[1-5]L)[- ]line|"
    r"line\s*(?:of therapy\s*)?(?P<m>[1-5])\b",
    re.I,
)
_LINE_WORDS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5}
_RESPONSE = (
    ("PD", re.compile(r"progress(?:ed|ion|ive disease)", re.I)),
    ("CR", re.compile(r"complete (?:metabolic )?response", re.I)),
    ("PR", re.compile(r"partial response", re.I)),
    ("SD", re.compile(r"stable disease", re.I)),
)
_DATE = re.compile(
    r"(?P<iso>(?:19|20)\d\d-[01]\d-[0-3]\d)|(?P<mon>[01]?\d)/(?P<year>(?:19|20)\d\d)|"
    r"(?P<word>(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?\s+(?:19|20)\d\d)|"
    r"(?<![\d/-])(?P<bare>(?:19|20)\d\d)(?![\d/]|-[01]\d-)"
)
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def _first_date(text: str) -> tuple[str, str]:
    """``(ISO date, the words it came from)`` of the first date in ``text``; a month or a bare
    year becomes its first day, and the words say so on the row."""
    m = _DATE.search(text)
    if m is None:
        return "", ""
    written = m.group(0)
    if m.group("iso"):
        return m.group("iso"), written
    if m.group("year"):
        month = int(m.group("mon"))
        return (f"{m.group('year')}-{month:02d}-01" if 1 <= month <= 12 else ""), written
    if m.group("word"):
        month = _MONTHS.index(written[:3].lower()) + 1
        return f"{written[-4:]}-{month:02d}-01", written
    return f"{m.group('bare')}-01-01", written


@lru_cache(maxsize=1)
def _therapy_pattern() -> tuple[re.Pattern[str], dict[str, tuple[str, str]]]:
    names: dict[str, tuple[str, str]] = {}
    for group, members in (*THERAPY_CLASSES.items(), *_EXTRA_DRUGS.items()):
        for drug in members:
            names.setdefault(drug.lower(), ("systemic", group))
    parts = [re.escape(n) for n in sorted(names, key=len, reverse=True) if n != "tc"]
    alternatives = "|".join(parts)
    local = "|".join(f"(?P<{kind}>{pattern})" for kind, pattern in _LOCAL.items())
    pattern = re.compile(rf"(?<![\w-])(?:(?P<drug>{alternatives})|{local})(?![\w-])", re.I)
    return pattern, names


def therapy_proposals(text: str, sentence_of: dict[int, tuple[int, int]]) -> Iterator[Proposal]:
    pattern, names = _therapy_pattern()
    matches = list(pattern.finditer(text))
    used: set[int] = set()
    for i, m in enumerate(matches):
        if i in used:
            continue
        s0, s1 = sentence_of.get(m.start(), (0, len(text)))
        if m.group("drug"):
            # Drugs given together ("letrozole and palbociclib", "AC-T") are one regimen.
            drugs = [m.group("drug")]
            end = m.end()
            for j in range(i + 1, len(matches)):
                nxt = matches[j]
                gap = text[end : nxt.start()]
                if nxt.group("drug") and re.fullmatch(r"\s*(?:\+|/|and|plus|with|,)\s*", gap, re.I):
                    drugs.append(nxt.group("drug"))
                    end = nxt.end()
                    used.add(j)
                else:
                    break
            kind, group = "systemic", names[drugs[0].lower()][1]
            regimen = " + ".join(d.lower() for d in drugs)
        else:
            kind = "radiotherapy" if m.group("radiotherapy") else "surgery"
            group, regimen, end = kind, m.group(0).lower(), m.end()
        sentence = text[s0:s1]
        line = _LINE.search(sentence)
        line_number: int | None = None
        if line:
            word = (line.group("n") or line.group("m") or "").lower().rstrip("l")
            line_number = _LINE_WORDS.get(word) or int(re.sub(r"\D", "", word) or 0) or None
        response = next((code for code, rx in _RESPONSE if rx.search(sentence)), "")
        start_date, date_words = _first_date(text[m.start() : s1]) or ("", "")
        label = regimen + (f", line {line_number}" if line_number else "")
        label += f", from {date_words}" if date_words else ""
        label += f" ({response})" if response else ""
        yield Proposal(
            PRIOR_THERAPY,
            label,
            {
                "therapy_kind": kind,
                "regimen": regimen,
                "drug_class": group,
                "line": line_number,
                "response": response,
                "start": start_date,
                "date_as_written": date_words,
            },
            m.start(),
            end,
        )


# --- metastatic sites and menopausal status ---------------------------------------------------

_SITES = {
    "brain": r"brain|cerebral|intracranial|CNS",
    "leptomeningeal": r"leptomeningeal",
    "liver": r"liver|hepatic",
    "bone": r"bones?|osseous|skeletal|bony",
    "lung": r"lungs?|pulmonary",
    "pleura": r"pleural",
    "adrenal": r"adrenals?",
    "peritoneum": r"peritoneal",
    "lymph node": r"(?:distant )?(?:lymph )?nodal|lymph nodes?",
    "skin": r"skin|cutaneous",
}
_SITE_WORD = "|".join(f"(?:{p})" for p in _SITES.values())
_SITE_LIST = rf"(?:{_SITE_WORD})(?:\s*(?:,|and|or|/)\s*(?:{_SITE_WORD}))*"
_MET_WORD = (
    r"metastas[ie]s|metastatic (?:disease|deposits?|lesions?)|mets|secondar(?:y|ies)|"
    r"deposits?|lesions?"
)
_METASTASIS = re.compile(
    rf"(?<![\w-])(?P<before>{_SITE_LIST})\s+(?:{_MET_WORD})(?![\w-])|"
    rf"(?<![\w-])(?:metastas[ie]s|metastatic(?: disease)?|mets|spread)\s+(?:to|in|of|involving)\s+"
    rf"(?:the\s+)?(?P<after>{_SITE_LIST})(?![\w-])",
    re.I,
)
# "Brain MRI negative": an imaging study of a site that found no disease.
_CLEAR_IMAGING = re.compile(
    r"(?<![\w-])(?P<site>brain|head|liver|bone)\s+(?:MRI|CT|scan|imaging|scintigraphy)\s*"
    r"(?:was|is|:)?\s*(?:negative|clear|unremarkable|normal)(?:\s+for\s+metastas[ie]s)?(?![\w-])",
    re.I,
)
_MENOPAUSE = re.compile(r"(?<![\w-])(?P<which>pre|peri|post)[- ]?menopausal(?![\w-])", re.I)


def _site_names(words: str) -> list[str]:
    out = []
    for part in re.split(r"\s*(?:,|and|or|/)\s*", words, flags=re.I):
        for site, pattern in _SITES.items():
            if re.fullmatch(pattern, part.strip(), re.I) and site not in out:
                out.append(site)
    return out


def site_proposals(text: str) -> Iterator[Proposal]:
    for m in _METASTASIS.finditer(text):
        words = m.group("before") or m.group("after")
        for site in _site_names(words):
            yield Proposal(
                METASTATIC_SITE, f"Metastasis: {site}", {"site": site}, m.start(), m.end()
            )
    for m in _CLEAR_IMAGING.finditer(text):
        site = {"head": "brain"}.get(m.group("site").lower(), m.group("site").lower())
        yield Proposal(
            METASTATIC_SITE,
            f"Metastasis: {site}",
            {"site": site},
            m.start(),
            m.end(),
            flags=Flags(negated=True),
        )
    for m in _MENOPAUSE.finditer(text):
        status = m.group("which").lower() + "menopausal"
        yield Proposal(
            MENOPAUSAL_STATUS, status.capitalize(), {"status": status}, m.start(), m.end()
        )


# --- pregnancy and key comorbidities -----------------------------------------------------------

# A test result is read as written; "pregnant" alone is left to ConText ("not pregnant").
_PREGNANCY_TEST = re.compile(
    r"(?<![\w-])(?P<before>negative|positive)\s+(?:serum\s+|urine\s+)?(?:beta[- ]?hCG|"
    r"pregnancy test)(?![\w-])|(?<![\w-])(?:serum\s+|urine\s+)?(?:beta[- ]?hCG|pregnancy test)"
    r"\s*(?:was|is|:)?\s*(?P<after>negative|positive)(?![\w-])",
    re.I,
)
_PREGNANT = re.compile(r"(?<![\w-])pregnant(?![\w-])", re.I)

#: Key comorbidities for eligibility, with their ICD-10-CM category (simple-icd-10-cm checks them).
COMORBIDITIES: dict[str, tuple[str, str]] = {
    r"type 2 diabetes(?: mellitus)?|T2DM|diabetes mellitus type 2|NIDDM": (
        "E11",
        "Type 2 diabetes",
    ),
    r"type 1 diabetes(?: mellitus)?|T1DM|IDDM": ("E10", "Type 1 diabetes"),
    r"hypertension|HTN": ("I10", "Hypertension"),
    r"(?:congestive )?heart failure|CHF|HFrEF|HFpEF": ("I50", "Heart failure"),
    r"coronary artery disease|CAD|ischa?emic heart disease": ("I25", "Coronary artery disease"),
    r"myocardial infarction|heart attack": ("I21", "Myocardial infarction"),
    r"atrial fibrillation|AF|AFib": ("I48", "Atrial fibrillation"),
    r"COPD|chronic obstructive pulmonary disease": ("J44", "COPD"),
    r"interstitial lung disease|ILD|pulmonary fibrosis|pneumonitis": (
        "J84",
        "Interstitial lung disease / pneumonitis",
    ),
    r"chronic kidney disease|CKD": ("N18", "Chronic kidney disease"),
    r"cirrhosis": ("K74", "Liver cirrhosis"),
    r"hepatitis B|HBV": ("B18.1", "Chronic hepatitis B"),
    r"hepatitis C|HCV": ("B18.2", "Chronic hepatitis C"),
    r"HIV": ("B20", "HIV"),
    r"rheumatoid arthritis": ("M06", "Rheumatoid arthritis"),
    r"systemic lupus(?: erythematosus)?|SLE": ("M32", "Systemic lupus erythematosus"),
    r"Crohn'?s(?: disease)?": ("K50", "Crohn's disease"),
    r"ulcerative colitis": ("K51", "Ulcerative colitis"),
    r"stroke|cerebrovascular accident|CVA": ("I63", "Stroke"),
    r"deep vein thrombosis|DVT|venous thromboembolism|VTE": ("I82", "Venous thromboembolism"),
    r"peripheral neuropathy|polyneuropathy": ("G62.9", "Peripheral neuropathy"),
}
# Abbreviations match only as written (capitals): "af", "cad", "sle" are words or parts of them.
_COMORBIDITY = re.compile(
    "|".join(
        f"(?P<c{i}>(?<![\\w-])(?:{pattern})(?![\\w-]))" for i, pattern in enumerate(COMORBIDITIES)
    )
)
_COMORBIDITY_I = re.compile(_COMORBIDITY.pattern, re.I)


def pregnancy_proposals(text: str) -> Iterator[Proposal]:
    tests = list(_PREGNANCY_TEST.finditer(text))
    for m in tests:
        positive = (m.group("before") or m.group("after")).lower() == "positive"
        yield Proposal(
            PREGNANCY,
            "Pregnant (positive test)" if positive else "Not pregnant (negative test)",
            {"status": "pregnant"},
            m.start(),
            m.end(),
            flags=Flags(negated=not positive),
        )
    for m in _PREGNANT.finditer(text):
        if any(t.start() <= m.start() < t.end() for t in tests):
            continue
        yield Proposal(PREGNANCY, "Pregnant", {"status": "pregnant"}, m.start(), m.end())


def comorbidity_proposals(text: str) -> Iterator[Proposal]:
    entries = list(COMORBIDITIES.values())
    for m in _COMORBIDITY_I.finditer(text):
        index = next(i for i, group in enumerate(m.groups()) if group is not None)
        written = m.group(0)
        # A short abbreviation counts only as written in the table (capitals: "AF", not "af").
        if len(written) <= 5 and not _COMORBIDITY.fullmatch(written):
            continue
        code, display = entries[index]
        yield Proposal(
            COMORBIDITY,
            display,
            {"condition": display, "icd10": code},
            m.start(),
            m.end(),
        )


# --- the whole document ------------------------------------------------------------------------


def read_document(text: str, *, on: date | None = None) -> list[Proposal]:
    """Every fact in ``text`` with its span, section and ConText flags, in text order.

    Args:
        text: the document's text (already length-checked by the caller).
        on: the document's date: lab values are dated with it.
    """
    bounds = _sentence_bounds(text)
    section_spans = sections(text)
    sentence_cache: dict[int, _Sentence] = {}

    starts = [s0 for s0, _ in bounds]

    def sentence_at(offset: int) -> tuple[int, int]:
        """The sentence holding ``offset`` (a fact never starts in the gap between two)."""
        index = max(0, bisect_right(starts, offset) - 1)
        return bounds[index]

    raw: list[Proposal] = []
    raw.extend(biomarker_proposals(text))
    raw.extend(staging_proposals(text))
    raw.extend(performance_proposals(text))
    raw.extend(lab_proposals(text, on=on))
    therapy_starts = {}
    pattern, _ = _therapy_pattern()
    for m in pattern.finditer(text):
        therapy_starts[m.start()] = sentence_at(m.start())
    raw.extend(therapy_proposals(text, therapy_starts))
    raw.extend(site_proposals(text))
    raw.extend(pregnancy_proposals(text))
    raw.extend(comorbidity_proposals(text))

    out: list[Proposal] = []
    seen: set[tuple[str, int, int, str]] = set()
    for proposal in sorted(raw, key=lambda p: (p.start, p.end, p.kind)):
        key = (proposal.kind, proposal.start, proposal.end, proposal.label)
        if key in seen:
            continue
        seen.add(key)
        s0, s1 = sentence_at(proposal.start)
        if s0 not in sentence_cache:
            sentence_cache[s0] = _sentence_context(text, s0, s1)
        flags = _flags_for(
            sentence_cache[s0],
            proposal.start,
            proposal.end,
            _section_at(section_spans, proposal.start),
            value_words=proposal.kind in {BIOMARKER, LAB},
        )
        given = proposal.flags
        flags = Flags(
            negated=flags.negated or given.negated,
            historical=flags.historical or given.historical,
            hypothetical=flags.hypothetical or given.hypothetical,
            family=flags.family or given.family,
        )
        out.append(
            Proposal(
                proposal.kind,
                proposal.label[:200],
                proposal.value,
                proposal.start,
                proposal.end,
                _section_at(section_spans, proposal.start),
                flags,
            )
        )
    return out
