"""Receptor and biomarker results: ER/PR %, HER2 IHC and ISH, PD-L1, MSI/MMR, TMB."""

from __future__ import annotations

import re
from collections.abc import Iterator

from oncology_ui.clinical.parsers.biomarkers import BiomarkerError, normalise_biomarker
from oncology_ui.notes.reading.context import (
    _E,
    _W,
    _words,
)
from oncology_ui.notes.reading.proposal import (
    BIOMARKER,
    Proposal,
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
