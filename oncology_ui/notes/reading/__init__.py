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
menopausal and pregnancy status, key comorbidities with their ICD-10-CM category, variants
(official gene symbol, normalised protein change, fusion, amplification, wild type), and the
cancer diagnosis as an OncoTree code. Each keeps its character span in the document.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import date

from oncology_ui.notes.reading.biomarkers import (
    biomarker_proposals,
)
from oncology_ui.notes.reading.context import (
    _flags_for,
    _section_at,
    _Sentence,
    _sentence_bounds,
    _sentence_context,
    sections,
)
from oncology_ui.notes.reading.diagnosis import diagnosis_proposals
from oncology_ui.notes.reading.labs import (
    lab_proposals,
    note_lab_record,
)
from oncology_ui.notes.reading.proposal import (
    BIOMARKER,
    KINDS,
    LAB,
    Flags,
    Proposal,
)
from oncology_ui.notes.reading.staging import (
    performance_proposals,
    staging_proposals,
)
from oncology_ui.notes.reading.status import (
    comorbidity_proposals,
    pregnancy_proposals,
    site_proposals,
)
from oncology_ui.notes.reading.therapies import (
    _therapy_pattern,
    therapy_proposals,
)
from oncology_ui.notes.reading.variants import variant_proposals

# --- the whole document ------------------------------------------------------------------------

__all__ = ["KINDS", "Flags", "Proposal", "note_lab_record", "read_document"]


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
    raw.extend(variant_proposals(text))
    raw.extend(diagnosis_proposals(text))

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
