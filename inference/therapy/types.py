"""The knowledge base, the patient's state and the ranking, as frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

SafetyState = Literal["clear", "caution", "blocked"]

# ----------------------------------------------------------------------------- knowledge base


@dataclass(frozen=True)
class Drug:
    name: str
    classes: tuple[str, ...]
    synonyms: tuple[str, ...] = ()
    whatif: str = ""  # the survival model's treatment variable, when it has one


@dataclass(frozen=True)
class Regimen:
    name: str
    drugs: tuple[str, ...]
    synonyms: tuple[str, ...] = ()


@dataclass(frozen=True)
class DiseaseMap:
    source: str  # civic | oncoref
    name: str
    oncotree_code: str  # "*" pan-cancer, "" deliberately unmapped
    lineage: tuple[str, ...] = ()  # the code and its OncoTree ancestors, nearest first


@dataclass(frozen=True)
class EvidenceItem:
    """One CIViC evidence item or one oncoref biomarker -> agent row."""

    source: str  # civic | oncoref
    item_id: str
    gene: str
    variant: str  # CIViC variant name (V600E, AMPLIFICATION, EML4-ALK); oncoref: ""
    disease: str
    drugs: tuple[str, ...]  # normalised names where known, else as written
    unknown_drugs: tuple[str, ...]
    interaction: str  # "", Combination, Substitutes, Sequential
    level: str  # CIViC A-E; oncoref phase (approved, phase_2, ...)
    direction: str  # Supports | Does Not Support | ""
    significance: str  # Sensitivity/Response | Resistance | ...
    pmids: tuple[str, ...]
    line: str = ""  # oncoref line of therapy
    rating: str = ""
    source_line: int = 0  # line of the shipped file, for the record
    # CIViC: Predictive | Prognostic | Diagnostic. Versions stored before reader 3 hold only
    # predictive items and no type, hence the default.
    evidence_type: str = "Predictive"
    citation: str = ""  # CIViC's own citation when it is not a PubMed id (an ASCO abstract)


@dataclass(frozen=True)
class Guideline:
    name: str
    version: str
    section: str

    @property
    def citation(self) -> str:
        return f"{self.name} {self.version}, {self.section}"

    @property
    def short_label(self) -> str:
        """The guideline and version, without the section: for text that points to a citation."""
        return f"{self.name} {self.version}"


@dataclass(frozen=True)
class StandardRule:
    rule_id: str
    diseases: tuple[str, ...]
    label: str
    drugs: tuple[str, ...]
    requires: tuple[dict[str, Any], ...]
    absent: tuple[dict[str, Any], ...]
    stages: tuple[str, ...]
    lines: tuple[int, ...]
    min_line: int
    guideline: Guideline
    pmids: tuple[str, ...]
    source_line: int = 0


@dataclass(frozen=True)
class ResistanceRule:
    rule_id: str
    diseases: tuple[str, ...]
    markers: dict[str, Any]
    drugs: tuple[str, ...]
    drug_classes: tuple[str, ...]
    statement: str
    guideline: Guideline
    pmids: tuple[str, ...]
    source_line: int = 0


@dataclass(frozen=True)
class SafetyRule:
    rule_id: str
    applies_all: bool
    applies_classes: tuple[str, ...]
    applies_drugs: tuple[str, ...]
    check: dict[str, Any]
    verdict: SafetyState
    source: str
    source_line: int = 0


@dataclass(frozen=True)
class KnowledgeBase:
    version: str
    drugs: tuple[Drug, ...]
    regimens: tuple[Regimen, ...]
    diseases: tuple[DiseaseMap, ...]
    evidence: tuple[EvidenceItem, ...]
    standard_rules: tuple[StandardRule, ...]
    resistance_rules: tuple[ResistanceRule, ...]
    safety_rules: tuple[SafetyRule, ...]
    max_lab_age_days: int = 30
    file_versions: tuple[tuple[str, str], ...] = ()  # (file, its own version or sha256)

    def drug(self, name: str) -> Drug | None:
        return _drug_index(self).get(name.strip().lower())

    def disease(self, source: str, name: str) -> DiseaseMap | None:
        return _disease_index(self).get((source, name.strip().lower()))


_DRUG_CACHE: dict[int, dict[str, Drug]] = {}
_DISEASE_CACHE: dict[int, dict[tuple[str, str], DiseaseMap]] = {}


def _drug_index(kb: KnowledgeBase) -> dict[str, Drug]:
    # Keyed by id: a KnowledgeBase is immutable and lives as long as the process caches it.
    index = _DRUG_CACHE.get(id(kb))
    if index is None:
        index = {}
        for drug in kb.drugs:
            index.setdefault(drug.name, drug)
            for synonym in drug.synonyms:
                index.setdefault(synonym, drug)
        _DRUG_CACHE[id(kb)] = index
    return index


def _disease_index(kb: KnowledgeBase) -> dict[tuple[str, str], DiseaseMap]:
    index = _DISEASE_CACHE.get(id(kb))
    if index is None:
        index = {(d.source, d.name.lower()): d for d in kb.diseases}
        _DISEASE_CACHE[id(kb)] = index
    return index


# ------------------------------------------------------------------------------ patient state


@dataclass(frozen=True)
class Finding:
    """A somatic variant as the record holds it (gene already the official symbol)."""

    gene: str
    kind: str  # mutation | copy_number | fusion
    label: str
    protein_key: str = ""  # V600E
    codon: str = ""  # V600
    position: int | None = None
    is_deletion: bool = False  # in-frame del / delins
    truncating: bool = False
    silent: bool = False
    copy_number_level: int | None = None
    partner_gene: str = ""
    gene_known: bool = True  # False: the symbol is not an official gene symbol


@dataclass(frozen=True)
class LabValue:
    key: str
    name: str
    value: float | None
    unit: str
    observed_on: date
    ref_high: float | None = None


@dataclass(frozen=True)
class PriorLine:
    regimen: str
    drugs: tuple[str, ...]
    unknown_words: tuple[str, ...]
    line_number: int | None
    started: date
    ended: date | None
    stop_reason: str


@dataclass(frozen=True)
class DatedText:
    text: str
    on: date | None


@dataclass(frozen=True)
class PatientState:
    """What the engine may know of the patient; ``None`` means not recorded (never "absent")."""

    today: date
    oncotree_code: str
    lineage: tuple[str, ...]  # the code and its ancestors, nearest first
    stage_group: str
    sex: str
    age: int
    findings: tuple[Finding, ...] = ()
    tested_genes: frozenset[str] = frozenset()
    biomarkers: tuple[tuple[str, str], ...] = ()  # (name, status) latest per name
    labs: tuple[LabValue, ...] = ()
    ecog: int | None = None
    ecog_on: date | None = None
    prior_lines: tuple[PriorLine, ...] = ()
    conditions: tuple[DatedText, ...] | None = None  # None: no conditions recorded at all
    medications: tuple[DatedText, ...] | None = None
    pregnant: bool | None = None
    liver_metastases: bool | None = None

    def biomarker(self, name: str) -> str | None:
        return dict(self.biomarkers).get(name)

    def lab(self, key: str) -> LabValue | None:
        return next((lab for lab in self.labs if lab.key == key), None)

    @property
    def planned_line(self) -> int:
        numbers = [line.line_number or 0 for line in self.prior_lines]
        return max([len(self.prior_lines), *numbers]) + 1


# -------------------------------------------------------------------------------- the result


@dataclass(frozen=True)
class EvidenceRef:
    source: str  # civic | oncoref | guideline
    item_id: str
    level: str
    direction: str  # supports | opposes
    significance: str
    disease: str
    disease_match: str  # same | broader | narrower | pan-cancer | other | unmapped
    variant: str
    match: str  # exact | codon | class | gene | rule
    drugs: tuple[str, ...]
    pmids: tuple[str, ...]
    citation: str = ""
    note: str = ""
    label: str = ""  # a short name of the citation (guideline and version) for running text


@dataclass(frozen=True)
class TherapyOption:
    key: str
    label: str
    drugs: tuple[str, ...]
    classes: tuple[str, ...]
    unknown_drugs: tuple[str, ...]
    tier: str  # I-A | I-B | II-C | II-D
    tier_reason: str
    supporting: tuple[EvidenceRef, ...]
    opposing: tuple[EvidenceRef, ...]
    resistance: tuple[str, ...]
    conflicting: bool
    rule_ids: tuple[str, ...]
    notes: tuple[str, ...] = ()
    progressed_on: tuple[str, ...] = ()  # prior lines with these drugs that stopped for progression
    # Backed only by preclinical, case-report or inferential evidence: listed apart, below every
    # option with a guideline or clinical evidence (see ``matching.is_investigational``).
    investigational: bool = False


@dataclass(frozen=True)
class SafetyCheck:
    rule_id: str
    verdict: SafetyState
    data: str  # ok | missing | stale | unknown
    reason: str
    source: str
    value: str = ""
    observed_on: str = ""
    # The limit the recorded value crossed ("above 5 × ULN (40 U/L)"); empty when none was
    # crossed. Set for stale values too: an old failing value is a finding, not missing data.
    threshold: str = ""

    @property
    def from_recorded_value(self) -> bool:
        """The verdict rests on a recorded value (fresh, or stale but failing), not on a gap."""
        return self.data == "ok" or bool(self.threshold)


@dataclass(frozen=True)
class SafetyVerdict:
    state: SafetyState
    checks: tuple[SafetyCheck, ...]

    @property
    def deciding(self) -> tuple[SafetyCheck, ...]:
        return tuple(check for check in self.checks if check.verdict == self.state)


@dataclass(frozen=True)
class Benefit:
    """The what-if estimate for one option, or why there is none.

    Since the randomised-trial what-if (``inference.therapy.rct_whatif``), ``curve`` is the
    validated trial's treatment arm for this patient and ``control_curve`` its control arm;
    ``trial``, ``contrast`` and ``agreement`` name the trial and how well the model reproduced it.
    """

    estimable: bool
    reason: str
    classes: tuple[str, ...] = ()
    curve: dict[str, list[float]] | None = None
    median_months: float | None = None
    survival_at: tuple[dict[str, Any], ...] = ()
    propensity: float | None = None
    overlap_supported: bool | None = None
    delta_5y: float | None = None  # option minus baseline, 5-year survival
    trial: str = ""
    contrast: str = ""
    endpoint: str = ""
    agreement: str = ""
    control_label: str = ""
    control_curve: dict[str, list[float]] | None = None
    #: Treated minus control survival at ``horizon_months``: (estimate, lower, upper), 95%.
    difference: tuple[float, float, float] | None = None
    horizon_months: float | None = None
    #: Covariates the record lacked, filled with the trial's median.
    filled_fields: tuple[str, ...] = ()

    @property
    def usable(self) -> bool:
        return self.estimable and self.overlap_supported is not False and self.curve is not None


@dataclass(frozen=True)
class RankedOption:
    rank: int
    option: TherapyOption
    safety: SafetyVerdict
    benefit: Benefit
    why: tuple[str, ...]


@dataclass(frozen=True)
class ResistanceFlag:
    rule_or_item: str
    finding: str
    drugs: tuple[str, ...]
    drug_classes: tuple[str, ...]
    statement: str
    citation: str
    pmids: tuple[str, ...]


@dataclass(frozen=True)
class Unknowns:
    genes: tuple[str, ...] = ()
    variants: tuple[str, ...] = ()  # findings with no evidence at all in the KB
    diseases: tuple[str, ...] = ()  # matching evidence whose disease has no OncoTree mapping
    drugs: tuple[str, ...] = ()  # drug names not in the vocabulary
    regimen_words: tuple[str, ...] = ()  # words of prior regimens not recognised
    not_evaluable: tuple[str, ...] = ()  # rules that need data the record lacks


@dataclass(frozen=True)
class RankingResult:
    kb_version: str
    planned_line: int
    options: tuple[RankedOption, ...]
    resistance_flags: tuple[ResistanceFlag, ...]
    unknowns: Unknowns
    inputs_used: tuple[str, ...]
    inputs_missing: tuple[str, ...]
    model: dict[str, str] = field(default_factory=dict)
