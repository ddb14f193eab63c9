"""Prior therapies with their line, date and response."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

from inference.trials.lexicon import THERAPY_CLASSES
from oncology_ui.notes.reading.proposal import (
    PRIOR_THERAPY,
    Proposal,
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
