"""Split eligibility text into atomic criteria and extract their structure.

Splitting handles "Inclusion/Exclusion Criteria" sections, PDQ-style headings ("PATIENT
CHARACTERISTICS: Age: 18 and over"), bullets, numbering, nested lists and markdown tables.
Extraction (``inference.trials.extract``) turns each leaf into zero or more structured criteria;
what cannot be extracted stays as a ``TEXT`` criterion, later judged unknown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from inference.trials.extract import Structure, extract_structures
from inference.trials.schema import (
    IN_SITU_TERM,
    Criterion,
    CriterionKind,
    NumericBound,
    TherapyRequirement,
    TrialRecord,
)

_SECTION_RE = re.compile(
    r"^\s*(?:[-*•]\s*)?(?:key\s+|main\s+|major\s+|general\s+|additional\s+)?"
    r"(?P<kind>inclusion|exclusion|eligibility|ineligibility)"
    r"(?:\s+criteria|\s+criterion|\s+criteria\s*\([^)]*\))?\s*(?P<colon>[:：])?\s*(?P<rest>.*)$",
    re.I,
)
_EXCLUDED_IF_RE = re.compile(
    r"^\s*(?:patients|subjects|participants)\s+(?:will be|are)\s+(?:excluded|ineligible)\s+if"
    r"|^\s*(?:exclusion|exclusions)\s*$",
    re.I,
)
_PDQ_HEADINGS = (
    "DISEASE CHARACTERISTICS|PATIENT CHARACTERISTICS|PRIOR CONCURRENT THERAPY|Age|"
    "Performance status|Life expectancy|Hematopoietic|Hepatic|Renal|Cardiovascular|Pulmonary|"
    "Biologic therapy|Chemotherapy|Endocrine therapy|Radiotherapy|Surgery|Menopausal status|Sex|"
    "Inclusion Criteria|Exclusion Criteria"
)
_INLINE_HEADING_RE = re.compile(rf"(?<=\S)\s+(?=(?:{_PDQ_HEADINGS})\s*:)")
_HEADING_ONLY_RE = re.compile(r"^(?P<head>[A-Z][A-Za-z /&,()-]{1,40}):\s*(?P<rest>.*)$")
_MARKER_RE = re.compile(
    r"^(?P<indent>\s*)(?P<marker>[-*•·▪◦●○➢►]|o(?=\s)|\d{1,2}[.)](?!\d)|\(\d{1,2}\)|"
    r"[a-zA-Z][.)](?=\s)|\([a-zA-Z]\)|(?:i|ii|iii|iv|v|vi|vii|viii|ix|x)[.)](?=\s))\s+(?P<text>.*)$"
)
_ANY_OF_RE = re.compile(
    r"\b(?:one|any|either)\s+of\s+the\s+following|\bat\s+least\s+one\s+of\b|\beither\b\s*:", re.I
)
_SENTENCE_RE = re.compile(r"(?<=[a-z0-9)\]])\.\s+(?=[A-Z])")
_TABLE_SEP_RE = re.compile(r"^\s*\|?\s*:?-{2,}")
_EMPTY_LEAF_RE = re.compile(
    r"^\s*(?:[^:]{0,60}:|not specified|none|n/?a|see disease characteristics)\.?\s*$", re.I
)


@dataclass
class _Node:
    text: str
    indent: int
    marker: str
    inclusion: bool
    children: list[_Node] = field(default_factory=list)


def _is_foreign(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return False
    ascii_letters = sum(1 for c in letters if c.isascii())
    return ascii_letters / len(letters) < 0.6


def _prepare_lines(text: str) -> list[str]:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    out: list[str] = []
    for raw in text.split("\n"):
        line = raw.rstrip()
        if line.lstrip().startswith("|"):
            if _TABLE_SEP_RE.match(line.lstrip("| ")) or set(line.strip()) <= set("|-: "):
                continue
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            line = "- " + " ".join(c for c in cells if c)
        # PDQ records flattened to one line: put each heading on its own line.
        starts_pdq = _HEADING_ONLY_RE.match(line.strip()) or line.strip()[:1].islower()
        if len(_INLINE_HEADING_RE.findall(line)) >= 1 and starts_pdq:
            for piece in _INLINE_HEADING_RE.split(line):
                out.append(piece)
            continue
        out.append(line)
    return out


def _build_tree(lines: list[str]) -> list[_Node]:
    has_markers = any(_MARKER_RE.match(line) for line in lines if line.strip())
    has_blank = _has_paragraph_breaks(lines)
    roots: list[_Node] = []
    stack: list[_Node] = []
    inclusion = True
    blank_before = True
    heading: _Node | None = None
    heading_text: _Node | None = None
    last_len = 0
    for line in lines:
        if not line.strip():
            blank_before = True
            continue
        # Wrapped paragraphs: a line continues the previous one when that one filled the width.
        previous_len, last_len = last_len, len(line.strip())
        section = _SECTION_RE.match(line)
        if (
            section
            and (section.group("colon") or len(line.strip()) < 40)
            and ("criteri" in line.lower() or section.group("colon"))
        ):
            kind = section.group("kind").lower()
            inclusion = kind in {"inclusion", "eligibility"}
            stack, heading = [], None
            rest = section.group("rest").strip()
            blank_before = True
            if not rest:
                continue
            line = rest
        elif _EXCLUDED_IF_RE.match(line):
            inclusion = False
            stack, heading = [], None
            blank_before = True
            continue
        marker = _MARKER_RE.match(line)
        if marker:
            indent = len(marker.group("indent"))
            node = _Node(marker.group("text").strip(), indent, marker.group("marker"), inclusion)
            while stack and (
                stack[-1].indent > indent
                or (
                    stack[-1].indent == indent
                    and not (
                        stack[-1].text.rstrip().endswith(":")
                        and _marker_style(stack[-1].marker) != _marker_style(node.marker)
                    )
                )
            ):
                stack.pop()
            parent = stack[-1] if stack else heading
            (parent.children if parent else roots).append(node)
            stack.append(node)
            blank_before = False
            continue
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        head = _HEADING_ONLY_RE.match(stripped)
        # The item on the heading's own line: a wrap in mid-phrase continues it, and the next
        # PDQ heading may follow it directly.
        after_heading_text = heading_text is not None and bool(stack) and stack[-1] is heading_text
        if (
            head
            and len(head.group("head").split()) <= 5
            and (not stack or blank_before or after_heading_text)
        ):
            node = _Node(head.group("head") + ":", -1, "", inclusion)
            roots.append(node)
            heading, stack = node, []
            rest = head.group("rest").strip()
            if rest:
                for part in _split_sentences(rest):
                    node.children.append(_Node(part, 0, "", inclusion))
                heading_text = node.children[-1]
                stack = [heading_text]
            blank_before = False
            continue
        wrapped = bool(stack) and not blank_before and _cut_mid_phrase(stack[-1].text, stripped)
        continuation = stack and (
            wrapped
            or (not after_heading_text and has_markers and not blank_before)
            or (not after_heading_text and has_markers and indent > stack[-1].indent)
            or (
                not after_heading_text
                and not has_markers
                and has_blank
                and not blank_before
                and previous_len >= 60
            )
        )
        if continuation:
            stack[-1].text = f"{stack[-1].text} {stripped}"
        else:
            node = _Node(stripped, indent, "", inclusion)
            parent = heading
            (parent.children if parent else roots).append(node)
            stack = [node]
        blank_before = False
    return roots


# Words a wrapped line can end on only in mid-phrase ("No prior / chemotherapy").
_DANGLING_RE = re.compile(r"\b(?:no|prior|of|the|to|than|for|a|an|least|one|with|in)$", re.I)


def _cut_mid_phrase(previous: str, line: str) -> bool:
    """True when ``line`` carries on ``previous`` cut by a line wrap in mid-phrase.

    PDQ records run their items on without separators, so a wrap is usually a fair place to
    split; but not inside "one of / the following ..." or after "No prior /", which would leave
    a criterion that ends "... breast cancer of one" and another that begins "of the following".
    """
    if not line[:1].islower():
        return False
    tail = previous.rstrip()
    if _DANGLING_RE.search(tail):
        return True
    joined = f"{tail[-40:]} {line[:40]}"
    return bool(_ANY_OF_RE.search(joined)) and not _ANY_OF_RE.search(tail[-40:])


def _has_paragraph_breaks(lines: list[str]) -> bool:
    """True when blank lines separate content lines (not just surround section headers)."""
    content = [i for i, line in enumerate(lines) if line.strip() and not _SECTION_RE.match(line)]
    for a, b in zip(content, content[1:], strict=False):
        if b - a > 1 and all(not lines[i].strip() for i in range(a + 1, b)):
            return True
    return False


def _marker_style(marker: str) -> str:
    if marker[:1].isdigit() or marker.startswith("("):
        return "number"
    if marker[:1].isalpha() and len(marker) > 1:
        return "letter"
    return "bullet"


_LIST_ANNOUNCED_RE = re.compile(rf"(?:{_ANY_OF_RE.pattern})[^.:]{{0,40}}:", re.I)
# Items of a list run on after "one of the following:" are short; a longer sentence after
# them is the next criterion.
_LIST_ITEM_MAX = 60


def _split_sentences(text: str) -> list[str]:
    """Sentences of ``text``; one that announces a list ("one of the following:") keeps it."""
    pieces: list[str] = []
    open_list = False
    for piece in (p.strip() for p in _SENTENCE_RE.split(text)):
        if not piece:
            continue
        if open_list and len(piece) <= _LIST_ITEM_MAX:
            pieces[-1] = f"{pieces[-1]}. {piece}"
            continue
        pieces.append(piece)
        open_list = bool(_LIST_ANNOUNCED_RE.search(piece))
    return pieces


def parse_criteria(text: str) -> tuple[Criterion, ...]:
    """Split eligibility text into atomic, structured criteria.

    Args:
        text: the raw eligibility text of one trial.

    Returns:
        The criteria in text order. Leaves of nested lists are atomic; their parent line is kept
        as ``context``-style prefix in ``group_id`` and "one of the following" parents make their
        children an any-of group. Non-English lines stay ``TEXT``.
    """
    roots = _build_tree(_prepare_lines(text))
    criteria: list[Criterion] = []
    counters = {True: 0, False: 0}
    for root in roots:
        counters[root.inclusion] += 1
        prefix = f"{'inc' if root.inclusion else 'exc'}-{counters[root.inclusion]}"
        _emit(root, prefix, "", "", False, criteria)
    return tuple(criteria)


def _emit(
    node: _Node,
    cid: str,
    context: str,
    group_id: str,
    any_of: bool,
    out: list[Criterion],
) -> None:
    if node.children:
        heading = node.text.rstrip(":").strip()
        child_any = bool(_ANY_OF_RE.search(node.text))
        for index, child in enumerate(node.children, start=1):
            _emit(
                child,
                f"{cid}.{index}",
                heading,
                cid if child_any else group_id,
                child_any or any_of,
                out,
            )
        return
    if _EMPTY_LEAF_RE.match(node.text):
        return  # a heading with nothing under it, or "Not specified": nothing to judge
    pieces = (
        _split_sentences(node.text) if not node.marker and len(node.text) > 200 else [node.text]
    )
    for p_index, piece in enumerate(pieces, start=1):
        piece_id = cid if len(pieces) == 1 else f"{cid}.s{p_index}"
        out.extend(_structure(piece, piece_id, node.inclusion, context, group_id, any_of))


def _structure(
    text: str, cid: str, inclusion: bool, context: str, group_id: str, any_of: bool
) -> list[Criterion]:
    base = Criterion(
        criterion_id=cid,
        text=text,
        inclusion=inclusion,
        context=context,
        group_id=group_id,
        any_of_group=any_of,
    )
    if _is_foreign(text):
        return [base]
    found = extract_structures(text, context=context)
    if not found:
        return [base]
    items: list[Criterion] = []
    groups = [] if any_of else _alternative_groups(found, inclusion)
    for index, structure in enumerate(found):
        suffix = "" if len(found) == 1 else chr(ord("a") + index)
        own_group = next((g for g in groups if index in g), None)
        items.append(
            replace(
                base,
                criterion_id=f"{cid}{suffix}",
                kind=structure.kind,
                present=structure.present,
                bound=structure.bound,
                lab=structure.lab,
                biomarker=structure.biomarker,
                therapy=structure.therapy,
                sex=structure.sex,
                terms=structure.terms,
                group_id=(f"{cid}~{min(own_group)}" if len(groups) > 1 else cid)
                if own_group
                else group_id,
                any_of_group=bool(own_group) or any_of,
            )
        )
    return items


def _alternative_groups(found: list[Structure], inclusion: bool) -> list[set[int]]:
    """Index sets of the structures of one line that are alternatives to each other.

    Only a run joined by "or" ("creatinine <= 1.5 x ULN or CrCl >= 60") is a group, and only
    when either member satisfies the criterion: an inclusion that asks for something present.
    "No prior chemotherapy or radiotherapy" asks for neither, and an exclusion "prior
    chemotherapy or radiotherapy" excludes on either, so their members each count on their own
    (an ER-negative requirement elsewhere on the line is never rescued by them).
    """
    if not inclusion:
        return []
    groups: list[set[int]] = []
    for index, structure in enumerate(found):
        if structure.alternative and index > 0 and structure.present and found[index - 1].present:
            if groups and index - 1 in groups[-1]:
                groups[-1].add(index)
            else:
                groups.append({index - 1, index})
    return groups


# The trial's setting, read from its title: treatment before surgery. A title that also speaks of
# what comes after surgery ("adjuvant T-DM1 for residual disease after neoadjuvant therapy")
# enrols after surgery, and one before surgery of metastases or a recurrence ("before surgery in
# colorectal cancer that has metastasized to the liver") follows an earlier operation on the
# primary, so neither says anything of this kind.
_BEFORE_SURGERY_RE = re.compile(
    r"\bneo-?\s?adjuvant\b|\bpre-?\s?operative\b|\bbefore surgery\b|\bprior to surgery\b",
    re.I,
)
_AFTER_SURGERY_RE = re.compile(
    r"\b(?<!neo)(?<!neo-)(?<!neo )adjuvant\b|\bpost-?\s?operative\b|\bperi-?\s?operative\b|"
    r"\bafter\b|\bfollowing\b|\bresidual\b|\bpost-?neoadjuvant\b|metasta|recurren|relaps|"
    r"\bbiopsy\b",
    re.I,
)
_IN_SITU_CONDITION_RE = re.compile(r"in[- ]situ|\bDCIS\b|\bLCIS\b", re.I)


def record_criteria(trial: TrialRecord) -> tuple[Criterion, ...]:
    """Criteria that follow from the trial's record rather than its eligibility text.

    Age and sex come from the structured fields. Two more come from what the record says the
    trial is for, because a clinician rules a trial out on them before reading a criterion:
    a trial that treats before surgery (the title says neoadjuvant or preoperative) asks for a
    patient not yet operated on (``record-setting``), and a trial whose every condition is a
    carcinoma in situ (DCIS, LCIS) asks for an in-situ diagnosis (``record-in-situ``). Their ids
    start with ``record-``, so stored criteria can be refreshed from the record alone.
    """
    record: list[Criterion] = []
    if trial.min_age_years is not None or trial.max_age_years is not None:
        record.append(
            Criterion(
                criterion_id="record-age",
                text=_age_text(trial.min_age_years, trial.max_age_years),
                inclusion=True,
                kind=CriterionKind.AGE,
                bound=NumericBound(low=trial.min_age_years, high=trial.max_age_years, unit="years"),
            )
        )
    if trial.sex in {"female", "male"}:
        record.append(
            Criterion(
                criterion_id="record-sex",
                text=f"Sex: {trial.sex}",
                inclusion=True,
                kind=CriterionKind.SEX,
                sex=trial.sex,
            )
        )
    if _BEFORE_SURGERY_RE.search(trial.title) and not _AFTER_SURGERY_RE.search(trial.title):
        record.append(
            Criterion(
                criterion_id="record-setting",
                text="Setting: treatment before surgery (neoadjuvant, from the trial's title); "
                "no prior surgery for this cancer",
                inclusion=True,
                kind=CriterionKind.PRIOR_THERAPY,
                present=False,
                therapy=TherapyRequirement(agent="surgery"),
            )
        )
    if trial.conditions and all(_IN_SITU_CONDITION_RE.search(c) for c in trial.conditions):
        record.append(
            Criterion(
                criterion_id="record-in-situ",
                text="Condition: carcinoma in situ (" + "; ".join(trial.conditions) + ")",
                inclusion=True,
                kind=CriterionKind.CONDITION,
                terms=(IN_SITU_TERM,),
            )
        )
    return tuple(record)


def criteria_for_trial(trial: TrialRecord) -> tuple[Criterion, ...]:
    """All criteria of a trial: those from its record, then the parsed eligibility text.

    Args:
        trial: the trial.

    Returns:
        :func:`record_criteria` (ids ``record-…``) followed by ``parse_criteria``.
    """
    return record_criteria(trial) + parse_criteria(trial.eligibility_text)


def with_record_criteria(
    trial: TrialRecord, stored: tuple[Criterion, ...]
) -> tuple[Criterion, ...]:
    """Criteria parsed and stored earlier, with those from the record derived afresh.

    Parsing the text is slow and done at import; the record-level criteria are cheap and their
    rules change with the engine, so a stored trial gets the current ones.
    """
    parsed = tuple(c for c in stored if not c.criterion_id.startswith("record-"))
    return record_criteria(trial) + parsed


def _age_text(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"Age {low:g} to {high:g} years"
    if low is not None:
        return f"Age {low:g} years or older"
    return f"Age {high:g} years or younger"
