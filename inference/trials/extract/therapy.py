"""Prior and concurrent therapy requirements (class or drug, washout, number of lines)."""

from __future__ import annotations

import re

from inference.trials.extract.common import UNIT_DAYS, WORD_NUM, Structure, negated
from inference.trials.lexicon import (
    DRUG_SUFFIX_RE,
    THERAPY_CLASS_PATTERNS,
)
from inference.trials.schema import (
    CriterionKind,
    TherapyRequirement,
)

# ------------------------------------------------------------------ therapy
_WITHIN_RE = re.compile(
    r"within\s+(?:the\s+)?(?:last\s+|past\s+|previous\s+|preceding\s+)?(\d+|one|two|three|four|"
    r"five|six)\s*(days?|weeks?|months?|years?)|(\d+)\s*(days?|weeks?|months?)\s+(?:prior to|"
    r"before|of)\s+(?:the\s+)?(?:first|start|initiation|day 1|study|enrol|registration|"
    r"randomi|cycle)",
    re.I,
)
_SINCE_RE = re.compile(
    r"(?:at least|more than|>=?|≥)\s*(\d+)\s*(days?|weeks?|months?|years?)\s+(?:since|from|"
    r"after|must have (?:elapsed|passed))",
    re.I,
)
_LINES_RE = re.compile(
    r"(?P<cmp>at least|no more than|not more than|up to|a maximum of|maximum of|≤|<=|≥|>=|"
    r"fewer than|less than|more than)?\s*(?P<n>\d|one|two|three|four|five)\s*"
    r"(?:-|–|to)?\s*(?P<n2>\d)?\s*(?:or more\s+|or fewer\s+|or less\s+)?(?:prior\s+|previous\s+|"
    r"lines?\s+of\s+)?(?:systemic\s+)?(?:lines?|regimens?)\b"
    r"(?P<tail>\s*(?:or more|or fewer|or less))?",
    re.I,
)
_PRIOR_CUE_RE = re.compile(
    r"\b(?:prior|previous(?:ly)?|received|receiving|treated with|treatment with|exposure to|"
    r"exposed to|history of|naive|naïve|refractory|progress\w* (?:on|after|following)|"
    r"failed)\b",
    re.I,
)


def _therapy_mentions(text: str) -> list[tuple[int, str]]:
    found: list[tuple[int, int, str]] = []
    for key, pattern in THERAPY_CLASS_PATTERNS.items():
        for m in re.finditer(pattern, text, re.I):
            found.append((m.start(), m.end(), key))
    for m in DRUG_SUFFIX_RE.finditer(text):
        found.append((m.start(), m.end(), m.group(0).lower()))
    # Longest mention first at each position; a mention inside an earlier one is the same
    # therapy ("EGFR tyrosine kinase inhibitor" is not also a generic "tyrosine kinase inhibitor").
    found.sort(key=lambda f: (f[0], -(f[1] - f[0])))
    unique: list[tuple[int, str]] = []
    last_end = -1
    for start, end, key in found:
        if start < last_end:
            continue
        unique.append((start, key))
        last_end = end
    return unique


def extract_therapy(text: str) -> list[Structure]:
    """Prior-therapy content: washouts, prior agents or classes, numbers of prior lines."""
    mentions = _therapy_mentions(text)
    out: list[Structure] = []
    lines = _LINES_RE.search(text)
    if lines and re.search(r"prior|previous|received|line|regimen", text, re.I):
        n1 = lines.group("n")
        n = int(n1) if n1.isdigit() else WORD_NUM[n1.lower()]
        n2 = int(lines.group("n2")) if lines.group("n2") else None
        cmp = (lines.group("cmp") or "").lower()
        tail = (lines.group("tail") or "").lower() + lines.group(0).lower()
        low = high = None
        if n2 is not None:
            low, high = n, n2
        elif cmp in {"at least", "≥", ">="} or "or more" in tail:
            low = n
        elif cmp == "more than":
            low = n + 1
        elif (
            cmp
            in {"no more than", "not more than", "up to", "a maximum of", "maximum of", "≤", "<="}
            or "or fewer" in tail
            or "or less" in tail
        ):
            high = n
        elif cmp in {"fewer than", "less than"}:
            high = n - 1
        if low is not None or high is not None:
            agent = mentions[0][1] if mentions else "systemic therapy"
            out.append(
                Structure(
                    CriterionKind.PRIOR_THERAPY,
                    therapy=TherapyRequirement(agent=agent, min_lines=low, max_lines=high),
                )
            )
            return out
    if not mentions:
        return out
    within = _WITHIN_RE.search(text)
    since = _SINCE_RE.search(text)
    window = within or since
    if window:
        groups = [g for g in window.groups() if g]
        count = int(groups[0]) if groups[0].isdigit() else WORD_NUM[groups[0].lower()]
        days = count * UNIT_DAYS[groups[1].lower().rstrip("s")]
        # "completed at least 3 weeks prior to the start" is a minimum gap, not a recent dose.
        minimum_gap = window is within and bool(
            re.search(r"(?:at least|more than|>=?|≥)\s*$", text[: window.start()], re.I)
        )
        for pos, agent in mentions:
            present = not negated(text, pos) if window is within and not minimum_gap else False
            out.append(
                Structure(
                    CriterionKind.WASHOUT,
                    present=present,
                    therapy=TherapyRequirement(agent=agent, within_days=days),
                    alternative=bool(out),
                )
            )
        return out
    if not _PRIOR_CUE_RE.search(text):
        return out
    naive = re.search(
        r"na[iï]ve|untreated|no prior|not (?:have )?(?:been )?(?:previously )?"
        r"(?:received|treated)",
        text,
        re.I,
    )
    for pos, agent in mentions:
        present = not (naive or negated(text, pos))
        out.append(
            Structure(
                CriterionKind.PRIOR_THERAPY,
                present=present,
                therapy=TherapyRequirement(agent=agent),
                alternative=bool(out),
            )
        )
    return out
