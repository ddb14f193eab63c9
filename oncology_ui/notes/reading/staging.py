"""TNM, the AJCC stage group, ECOG and Karnofsky."""

from __future__ import annotations

import re
from collections.abc import Iterator

from oncology_ui.notes.reading.proposal import (
    ECOG,
    KARNOFSKY,
    STAGE_GROUP,
    TNM,
    Proposal,
)

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
