"""The case's diagnosis, setting and molecular profile against the knowledge base.

Produces candidate therapy options, each with every supporting and opposing evidence item, the
resistance flags that touch it and an AMP/ASCO/CAP tier (Li et al. 2017, PMID 27993330), mapped
from the evidence as documented in ``docs/therapies/README.md``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from inference.therapy.conditions import all_present, evaluate, none_present
from inference.therapy.evidence import civic_by_gene, civic_evidence_for, disease_relation
from inference.therapy.types import (
    EvidenceItem,
    EvidenceRef,
    Finding,
    KnowledgeBase,
    PatientState,
    ResistanceFlag,
    ResistanceRule,
    StandardRule,
    TherapyOption,
    Unknowns,
)

TIERS = ("I-A", "I-B", "II-C", "II-D")
SENSITIVE = {"Sensitivity/Response"}
RESISTANT = {"Resistance", "Reduced Sensitivity"}
# The biomarker statuses that stand for an over-expressed gene product in CIViC's naming.
BIOMARKER_GENES = {"HER2": "ERBB2", "ER": "ESR1", "PR": "PGR", "PD-L1": "CD274"}


def _slug(drugs: Iterable[str]) -> str:
    return "+".join(sorted(re.sub(r"[^a-z0-9]+", "-", d.lower()).strip("-") for d in drugs))


def biomarker_findings(state: PatientState) -> tuple[Finding, ...]:
    """HER2/ER/PR/PD-L1 positive as findings, so CIViC "ERBB2 AMPLIFICATION" items can match."""
    found = []
    for name, status in state.biomarkers:
        gene = BIOMARKER_GENES.get(name)
        if gene and status in {"positive", "high"}:
            found.append(Finding(gene=gene, kind="expression", label=f"{name} {status}"))
    return tuple(found)


def _stage_prefix(stage_group: str) -> str:
    text = stage_group.strip().upper().removeprefix("STAGE").strip()
    for roman in ("IV", "III", "II", "I", "0"):
        if text.startswith(roman):
            return roman
    return ""


# ------------------------------------------------------------------------------- candidates


@dataclass
class _Draft:
    label: str
    drugs: tuple[str, ...]
    unknown_drugs: tuple[str, ...] = ()
    supporting: list[EvidenceRef] = field(default_factory=list)
    opposing: list[EvidenceRef] = field(default_factory=list)
    resistance: list[str] = field(default_factory=list)
    rule_ids: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _label(drugs: tuple[str, ...]) -> str:
    text = " + ".join(drugs)
    return text[:1].upper() + text[1:]


def _civic_ref(item: EvidenceItem, match: str, relation: str, direction: str) -> EvidenceRef:
    return EvidenceRef(
        source=item.source,
        item_id=item.item_id,
        level=item.level,
        direction=direction,
        significance=item.significance,
        disease=item.disease,
        disease_match=relation,
        variant=f"{item.gene} {item.variant}".strip(),
        match=match,
        drugs=item.drugs,
        pmids=item.pmids,
        citation=f"CIViC {item.item_id}" if item.source == "civic" else "oncoref",
        note=f"line of therapy: {item.line}" if item.line else "",
    )


def _option_drug_sets(item: EvidenceItem) -> list[tuple[str, ...]]:
    """Combination and sequential items are one option; substitutes are one option per drug."""
    if item.interaction in {"Combination", "Sequential"} or len(item.drugs) == 1:
        return [item.drugs]
    return [(drug,) for drug in item.drugs]


def _tier(draft: _Draft) -> tuple[str, str]:
    best = "II-D"
    reason = "only preclinical, case-report or inferential evidence (CIViC level C-E)"
    for ref in draft.supporting:
        if ref.source == "guideline":
            # The short label; the full citation (section, PubMed ids) is in the evidence drawer.
            return "I-A", f"recommended for this cancer by {ref.label or ref.citation}"
        related = ref.disease_match in {"same", "narrower"}
        candidate, why = "II-D", reason
        if ref.source == "civic" and ref.match != "gene":
            if ref.level == "A" and (related or ref.disease_match == "pan-cancer"):
                candidate, why = "I-A", f"CIViC level A ({ref.item_id}) in this cancer"
            elif ref.level == "B" and related:
                candidate, why = (
                    "I-B",
                    f"CIViC level B ({ref.item_id}): clinical evidence in this cancer",
                )
            elif ref.level in {"A", "B"} and ref.disease_match == "other":
                candidate, why = (
                    "II-C",
                    f"CIViC level {ref.level} ({ref.item_id}) in another cancer",
                )
            elif ref.level == "C" and related:
                candidate, why = (
                    "II-C",
                    f"CIViC level C ({ref.item_id}) case evidence in this cancer",
                )
        if TIERS.index(candidate) < TIERS.index(best):
            best, reason = candidate, why
    return best, reason


#: oncoref phases that are clinical evidence (everything but ``preclinical``).
CLINICAL_ONCOREF_PHASES = frozenset(
    {"approved", "phase_3", "phase_2", "phase_1", "early_clinical", "off_label"}
)


def is_investigational(supporting: Iterable[EvidenceRef]) -> bool:
    """True when no supporting item is clinical evidence for the agent.

    Clinical evidence: a curated guideline rule, a CIViC level A (validated) or B (clinical)
    item matched beyond the gene, or an oncoref row from a clinical phase. What remains (CIViC
    C case reports, D preclinical, E inferential, oncoref preclinical) makes an option
    investigational: shown apart, never ranked among approved or guideline options.
    """
    for ref in supporting:
        if ref.source == "guideline":
            return False
        if ref.source == "civic" and ref.level in {"A", "B"} and ref.match != "gene":
            return False
        if ref.source == "oncoref" and ref.level in CLINICAL_ONCOREF_PHASES:
            return False
    return True


class _Drafts(dict[str, _Draft]):
    """The options proposed so far, by the slug of their drugs."""

    def draft_for(
        self, drugs: tuple[str, ...], unknown: tuple[str, ...], label: str = ""
    ) -> _Draft:
        key = _slug(drugs)
        if key not in self:
            self[key] = _Draft(label=label or _label(drugs), drugs=drugs, unknown_drugs=unknown)
        return self[key]


def match(
    kb: KnowledgeBase, state: PatientState
) -> tuple[tuple[TherapyOption, ...], tuple[ResistanceFlag, ...], Unknowns]:
    """Candidate options with their evidence, the resistance flags, and what could not be used.

    1. Curated standard-of-care rules for this cancer propose options.
    2. CIViC predictive evidence for each finding proposes options and opposes others.
    3. oncoref rows support options already proposed.
    4. Curated resistance rules and CIViC resistance flag options; options with no supporting
       evidence are dropped, their resistance flags kept.
    """
    findings = state.findings + biomarker_findings(state)
    drafts = _Drafts()
    not_evaluable = _standard_options(kb, state, findings, drafts)
    matched_findings, unmapped = _civic_options(kb, state, findings, drafts)
    _oncoref_support(kb, state, findings, drafts)
    flags = _resistance_flags(kb, state, findings, drafts)
    flags += _drop_unsupported(drafts)
    options = [_option(kb, state, key, draft) for key, draft in drafts.items()]
    unknowns = Unknowns(
        genes=tuple(sorted({f.gene for f in state.findings if not f.gene_known})),
        variants=tuple(
            sorted(
                f"{f.gene} {f.label}"
                for f in state.findings
                if f.gene_known and f.label + f.gene not in matched_findings
            )
        ),
        diseases=tuple(sorted(unmapped)),
        # One entry per agent: CIViC and oncoref may write the same unknown name in other cases.
        drugs=tuple(
            sorted({u.lower(): u for o in options for u in o.unknown_drugs}.values(), key=str.lower)
        ),
        regimen_words=tuple(
            sorted({w for line_ in state.prior_lines for w in line_.unknown_words})
        ),
        not_evaluable=tuple(not_evaluable),
    )
    return tuple(options), tuple(_unique_flags(flags)), unknowns


def _standard_options(
    kb: KnowledgeBase, state: PatientState, findings: tuple[Finding, ...], drafts: _Drafts
) -> list[str]:
    """Step 1: the guideline rules whose conditions hold; returns the rules not evaluable."""
    not_evaluable: list[str] = []
    line = state.planned_line
    stage = _stage_prefix(state.stage_group)
    for rule in kb.standard_rules:
        if not any(code in state.lineage for code in rule.diseases):
            continue
        if rule.lines and line not in rule.lines or rule.min_line and line < rule.min_line:
            continue
        if rule.stages and stage and stage not in rule.stages:
            continue
        needed = all_present(rule.requires, state, findings)
        excluded = none_present(rule.absent, state, findings)
        if needed.value is False or excluded.value is False:
            continue
        if needed.value is None or excluded.value is None:
            missing = sorted(set(needed.missing + excluded.missing))
            not_evaluable.append(
                f"{rule.label} ({rule.guideline.citation}) needs {', '.join(missing)}"
            )
            continue
        _rule_option(drafts.draft_for(rule.drugs, (), rule.label), rule, needed.matched, stage)
    return not_evaluable


def _civic_options(
    kb: KnowledgeBase, state: PatientState, findings: tuple[Finding, ...], drafts: _Drafts
) -> tuple[set[str], set[str]]:
    """Step 2: CIViC predictive items that name a therapy, matched by the one variant matcher.

    Returns the findings that matched an item and the CIViC diseases without an OncoTree code.
    """
    by_gene = civic_by_gene(e for e in kb.evidence if e.evidence_type == "Predictive" and e.drugs)
    matched_findings: set[str] = set()
    unmapped: set[str] = set()
    for finding in findings:
        for item, how in civic_evidence_for(finding, by_gene):
            matched_findings.add(finding.label + finding.gene)
            relation = disease_relation(kb, "civic", item.disease, state)
            if relation == "unmapped":
                unmapped.add(item.disease)
            _civic_item(drafts, item, how, relation)
    return matched_findings, unmapped


def _oncoref_support(
    kb: KnowledgeBase, state: PatientState, findings: tuple[Finding, ...], drafts: _Drafts
) -> None:
    """Step 3: oncoref rows support options already proposed, for a gene altered in this
    patient or an option a guideline proposed (oncoref rows are gene-level by nature)."""
    altered = {f.gene for f in findings} | {f.partner_gene for f in findings if f.partner_gene}
    for item in kb.evidence:
        if item.source != "oncoref":
            continue
        relation = disease_relation(kb, "oncoref", item.disease, state)
        if relation not in {"same", "narrower"}:
            continue
        for draft in drafts.values():
            if set(item.drugs) <= set(draft.drugs) and (item.gene in altered or draft.rule_ids):
                draft.supporting.append(_civic_ref(item, "gene", relation, "supports"))


def _resistance_flags(
    kb: KnowledgeBase, state: PatientState, findings: tuple[Finding, ...], drafts: _Drafts
) -> list[ResistanceFlag]:
    """Step 4: curated resistance rules flag the case and oppose the options they touch; CIViC
    resistance in this cancer, at level A-C, is noted on the option too."""
    flags: list[ResistanceFlag] = []
    for resistance in kb.resistance_rules:
        if not any(code in state.lineage for code in resistance.diseases):
            continue
        result = evaluate(resistance.markers, state, findings)
        if not result.value:
            continue
        finding_text = ", ".join(result.matched)
        flags.append(
            ResistanceFlag(
                rule_or_item=resistance.rule_id,
                finding=finding_text,
                drugs=resistance.drugs,
                drug_classes=resistance.drug_classes,
                statement=resistance.statement,
                citation=resistance.guideline.citation,
                pmids=resistance.pmids,
            )
        )
        for draft in drafts.values():
            hit = [
                d
                for d in draft.drugs
                if d in resistance.drugs or _in_classes(kb, d, resistance.drug_classes)
            ]
            if hit:
                draft.resistance.append(
                    f"{finding_text}: {resistance.statement} ({', '.join(hit)})"
                )
                draft.opposing.append(
                    _guideline_ref(resistance, "opposes", finding_text, tuple(hit))
                )
    for draft in drafts.values():
        for ref in draft.opposing:
            if (
                ref.source == "civic"
                and ref.significance in RESISTANT
                and ref.disease_match in {"same", "narrower", "pan-cancer"}
                and ref.level in {"A", "B", "C"}
                and ref.match != "gene"
            ):
                draft.resistance.append(
                    f"{ref.variant}: resistance to {', '.join(ref.drugs)} "
                    f"(CIViC {ref.item_id}, level {ref.level})"
                )
    return flags


def _drop_unsupported(drafts: _Drafts) -> list[ResistanceFlag]:
    """Options seen only in opposing evidence are not candidates; their flags remain."""
    flags: list[ResistanceFlag] = []
    for key, draft in list(drafts.items()):
        if draft.supporting:
            continue
        for ref in draft.opposing:
            if (
                ref.source == "civic"
                and ref.disease_match in {"same", "narrower"}
                and ref.level in {"A", "B"}
                and ref.match != "gene"
            ):
                flags.append(
                    ResistanceFlag(
                        rule_or_item=ref.item_id,
                        finding=ref.variant,
                        drugs=ref.drugs,
                        drug_classes=(),
                        statement=f"{ref.significance} to {', '.join(ref.drugs)} "
                        f"in {ref.disease} (CIViC level {ref.level})",
                        citation=f"CIViC {ref.item_id}",
                        pmids=ref.pmids,
                    )
                )
        del drafts[key]
    return flags


def _option(kb: KnowledgeBase, state: PatientState, key: str, draft: _Draft) -> TherapyOption:
    """A proposed option with its tier, drug classes and the lines that already gave it."""
    tier, reason = _tier(draft)
    related_support = any(r.disease_match in {"same", "narrower"} for r in draft.supporting)
    related_oppose = any(
        r.disease_match in {"same", "narrower"} and r.match != "gene" for r in draft.opposing
    )
    classes = tuple(
        dict.fromkeys(c for d in draft.drugs if (drug := kb.drug(d)) for c in drug.classes)
    )
    progressed = []
    for line_ in state.prior_lines:
        shared = sorted(set(line_.drugs) & set(draft.drugs))
        if not shared:
            continue
        number = f"line {line_.line_number}" if line_.line_number else "an earlier line"
        stop = line_.stop_reason or "stop reason not recorded"
        draft.notes.append(
            f"Already given: {line_.regimen} ({number}, from {line_.started.isoformat()}; "
            f"{stop}) with {', '.join(shared)}."
        )
        if line_.stop_reason == "progression":
            progressed.append(f"{line_.regimen} ({number})")
    return TherapyOption(
        key=key,
        label=draft.label,
        drugs=draft.drugs,
        classes=classes,
        unknown_drugs=draft.unknown_drugs,
        tier=tier,
        tier_reason=reason,
        supporting=tuple(_ordered(draft.supporting)),
        opposing=tuple(_ordered(draft.opposing)),
        resistance=tuple(dict.fromkeys(draft.resistance)),
        conflicting=related_support and related_oppose,
        rule_ids=tuple(draft.rule_ids),
        notes=tuple(dict.fromkeys(draft.notes)),
        progressed_on=tuple(progressed),
        investigational=is_investigational(draft.supporting),
    )


def _guideline_ref(
    rule: StandardRule | ResistanceRule, direction: str, variant: str, drugs: tuple[str, ...]
) -> EvidenceRef:
    """A curated rule as an evidence item: supporting (standard of care) or opposing
    (resistance)."""
    supports = direction == "supports"
    return EvidenceRef(
        source="guideline",
        item_id=rule.rule_id,
        level="guideline",
        direction=direction,
        significance="Standard of care" if supports else "Resistance",
        disease=", ".join(rule.diseases),
        disease_match="same",
        variant=variant,
        match="rule",
        drugs=drugs,
        pmids=rule.pmids,
        citation=rule.guideline.citation,
        label=rule.guideline.short_label if supports else "",
    )


def _rule_option(draft: _Draft, rule: StandardRule, matched: list[str], stage: str) -> None:
    draft.rule_ids.append(rule.rule_id)
    draft.supporting.append(_guideline_ref(rule, "supports", ", ".join(matched), rule.drugs))
    if rule.stages and not stage:
        draft.notes.append(
            f"Stage not recorded: the setting of guideline rule {rule.rule_id} "
            f"(stage {'/'.join(rule.stages)}) is not confirmed."
        )


def _civic_item(drafts: _Drafts, item: EvidenceItem, how: str, relation: str) -> None:
    sensitive = item.significance in SENSITIVE and item.direction == "Supports"
    resistant = (item.significance in RESISTANT and item.direction == "Supports") or (
        item.significance in SENSITIVE and item.direction == "Does Not Support"
    )
    if not (sensitive or resistant):
        return
    for drugs in _option_drug_sets(item):
        unknown = tuple(d for d in drugs if d in item.unknown_drugs)
        key = _slug(drugs)
        creates = (
            sensitive
            and how != "gene"
            and relation != "unmapped"
            and (relation in {"same", "narrower", "pan-cancer"} or item.level in {"A", "B"})
        )
        if creates:
            draft = drafts.draft_for(drugs, unknown)
        elif key in drafts:
            draft = drafts[key]
        elif resistant:
            draft = drafts.draft_for(
                drugs, unknown
            )  # kept only for flags; dropped if nothing supports it
        else:
            continue
        ref = _civic_ref(item, how, relation, "supports" if sensitive else "opposes")
        (draft.supporting if sensitive else draft.opposing).append(ref)


def _in_classes(kb: KnowledgeBase, drug: str, classes: tuple[str, ...]) -> bool:
    known = kb.drug(drug)
    return bool(known and set(known.classes) & set(classes))


_MATCH_ORDER = {"rule": 0, "exact": 1, "codon": 2, "class": 3, "gene": 4}
_RELATION_ORDER = {"same": 0, "narrower": 1, "pan-cancer": 2, "other": 3, "unmapped": 4}
_LEVEL_ORDER = {"guideline": 0, "A": 1, "B": 2, "C": 3, "D": 4, "E": 5, "approved": 2}


def _ordered(refs: list[EvidenceRef]) -> list[EvidenceRef]:
    unique = {(r.source, r.item_id, r.direction): r for r in refs}
    return sorted(
        unique.values(),
        key=lambda r: (
            _RELATION_ORDER.get(r.disease_match, 9),
            _LEVEL_ORDER.get(r.level, 6),
            _MATCH_ORDER.get(r.match, 9),
            r.item_id,
        ),
    )


def _unique_flags(flags: list[ResistanceFlag]) -> list[ResistanceFlag]:
    seen: dict[tuple[str, str], ResistanceFlag] = {}
    for flag in flags:
        seen.setdefault((flag.rule_or_item, flag.finding), flag)
    return list(seen.values())


__all__ = ["TIERS", "is_investigational", "match"]
