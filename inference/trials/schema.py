"""Frozen dataclasses that cross the trial-matching boundary.

The Django side maps its rows to these types and back; nothing else (no ORM objects, no numpy
arrays) enters or leaves ``inference.trials``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Generic, TypeVar

T = TypeVar("T")


# The term of a CONDITION criterion that asks for a carcinoma in situ rather than a tumour site.
IN_SITU_TERM = "in situ"


class CriterionKind(StrEnum):
    """What an atomic criterion is about; ``TEXT`` means it stayed free text."""

    AGE = "age"
    SEX = "sex"
    CONDITION = "condition"
    STAGE = "stage"
    BIOMARKER = "biomarker"
    PRIOR_THERAPY = "prior_therapy"
    WASHOUT = "washout"
    PERFORMANCE_STATUS = "performance_status"
    LAB = "lab"
    BRAIN_METASTASES = "brain_metastases"
    MEASURABLE_DISEASE = "measurable_disease"
    PREGNANCY = "pregnancy"
    LIFE_EXPECTANCY = "life_expectancy"
    PRIOR_MALIGNANCY = "prior_malignancy"
    PERMISSIVE = "permissive"
    TEXT = "text"


class Verdict(StrEnum):
    """Whether the statement of a criterion holds for a patient.

    For an exclusion criterion ``MET`` means the excluding condition is present, so the patient is
    ineligible; see :attr:`CriterionVerdict.excludes_patient`.
    """

    MET = "met"
    NOT_MET = "not_met"
    UNKNOWN = "unknown"
    NOT_APPLICABLE = "not_applicable"


@dataclass(frozen=True)
class Location:
    """One trial site."""

    facility: str = ""
    city: str = ""
    state: str = ""
    country: str = ""
    status: str = ""


@dataclass(frozen=True)
class TrialRecord:
    """One registered trial, normalised from any of the supported ClinicalTrials.gov formats."""

    nct_id: str
    title: str = ""
    summary: str = ""
    conditions: tuple[str, ...] = ()
    interventions: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    phase: str = ""
    status: str = ""
    min_age_years: float | None = None
    max_age_years: float | None = None
    sex: str = "all"
    locations: tuple[Location, ...] = ()
    eligibility_text: str = ""
    source: str = ""


@dataclass(frozen=True)
class Fact(Generic[T]):
    """A dated patient fact: the value, when it was observed and where it came from."""

    value: T
    date: dt.date | None = None
    source: str = ""


@dataclass(frozen=True)
class LabValue:
    """One laboratory result. ``name`` is a canonical analyte key such as ``anc`` or ``bilirubin``.

    ``uln`` is the reference upper limit of normal reported with the result, in ``unit``.
    """

    name: str
    value: float
    unit: str
    date: dt.date | None = None
    source: str = ""
    uln: float | None = None


@dataclass(frozen=True)
class Biomarker:
    """A biomarker or variant result, e.g. ``Biomarker("EGFR", "mutated", variant="L858R")``.

    ``status`` is one of ``positive``, ``negative``, ``mutated``, ``wild-type``, ``amplified``,
    ``fusion``, ``high``, ``low``.
    """

    name: str
    status: str
    variant: str = ""
    date: dt.date | None = None
    source: str = ""


@dataclass(frozen=True)
class PriorTherapy:
    """A systemic or local therapy the patient received (drug name or class, e.g. radiotherapy)."""

    name: str
    start: dt.date | None = None
    end: dt.date | None = None
    line: int | None = None
    drug_classes: tuple[str, ...] = ()
    source: str = ""


@dataclass(frozen=True)
class PatientFacts:
    """The facts trial matching may use about one patient, as of ``as_of``.

    ``None`` means not recorded, which is different from a recorded negative.
    """

    patient_id: str
    as_of: dt.date
    age_years: float | None = None
    sex: str | None = None
    diagnosis_text: str = ""
    oncotree_code: str = ""
    icd10_code: str = ""
    stage: Fact[str] | None = None
    ecog: Fact[int] | None = None
    karnofsky: Fact[int] | None = None
    labs: tuple[LabValue, ...] = ()
    biomarkers: tuple[Biomarker, ...] = ()
    prior_therapies: tuple[PriorTherapy, ...] = ()
    brain_metastases: Fact[bool] | None = None
    liver_metastases: Fact[bool] | None = None
    measurable_disease: Fact[bool] | None = None
    pregnant: Fact[bool] | None = None
    life_expectancy_months: Fact[float] | None = None
    comorbidities: tuple[str, ...] = ()
    note_text: str = ""


@dataclass(frozen=True)
class StalenessPolicy:
    """How old a fact may be (days before ``PatientFacts.as_of``) before it counts as unknown.

    ``None`` means the fact never goes stale (e.g. a germline variant).
    """

    lab_days: int | None = 28
    performance_status_days: int | None = 30
    imaging_days: int | None = 42
    pregnancy_days: int | None = 7
    biomarker_days: int | None = None
    stage_days: int | None = 180
    life_expectancy_days: int | None = 60


@dataclass(frozen=True)
class NumericBound:
    """A closed or open interval; ``None`` ends are unbounded. Used for age, ECOG, KPS, months."""

    low: float | None = None
    high: float | None = None
    low_inclusive: bool = True
    high_inclusive: bool = True
    unit: str = ""

    def contains(self, value: float) -> bool:
        """Return whether ``value`` lies inside the bound."""
        if self.low is not None and (
            value < self.low or (value == self.low and not self.low_inclusive)
        ):
            return False
        return not (
            self.high is not None
            and (value > self.high or (value == self.high and not self.high_inclusive))
        )


@dataclass(frozen=True)
class LabThreshold:
    """A lab limit such as ``bilirubin <= 1.5 x ULN`` or ``ANC >= 1.5 x 10^9/L``.

    ``comparator`` is one of ``>=``, ``>``, ``<=``, ``<``. When ``uln_multiple`` is true, ``value``
    is a multiple of the upper limit of normal and ``unit`` is ``xULN``.
    ``value_with_liver_metastases`` is the alternative multiple allowed with liver involvement.
    """

    analyte: str
    comparator: str
    value: float
    unit: str
    uln_multiple: bool = False
    value_with_liver_metastases: float | None = None


@dataclass(frozen=True)
class BiomarkerRequirement:
    """A biomarker the criterion is about, e.g. ``EGFR`` ``wild-type`` or ``HER2`` ``negative``."""

    gene: str
    status: str
    variant: str = ""


@dataclass(frozen=True)
class TherapyRequirement:
    """Prior-therapy content: an agent or class, a washout window, or a count of prior lines."""

    agent: str = ""
    within_days: int | None = None
    min_lines: int | None = None
    max_lines: int | None = None


@dataclass(frozen=True)
class Criterion:
    """One atomic eligibility criterion.

    ``present`` is false when the criterion asserts the absence of its subject ("no prior ALK
    inhibitor", "EGFR wild-type" is a status, not an absence). ``kind == TEXT`` criteria carry only
    ``text`` and are judged unknown. ``context`` is the heading of the list the line sat in;
    criteria sharing a ``group_id`` with ``any_of_group`` set are alternatives (one suffices).
    """

    criterion_id: str
    text: str
    inclusion: bool
    kind: CriterionKind = CriterionKind.TEXT
    present: bool = True
    bound: NumericBound | None = None
    lab: LabThreshold | None = None
    biomarker: BiomarkerRequirement | None = None
    therapy: TherapyRequirement | None = None
    sex: str = ""
    terms: tuple[str, ...] = ()
    context: str = ""
    group_id: str = ""
    any_of_group: bool = False


@dataclass(frozen=True)
class Evidence:
    """The patient fact a verdict rests on."""

    fact: str
    value: str
    date: dt.date | None = None
    source: str = ""


@dataclass(frozen=True)
class CriterionVerdict:
    """The judgement of one criterion for one patient.

    ``resolver`` says what would settle an ``UNKNOWN`` (e.g. "order HER2 testing").
    """

    criterion: Criterion
    verdict: Verdict
    evidence: tuple[Evidence, ...] = ()
    resolver: str = ""
    explanation: str = ""

    @property
    def excludes_patient(self) -> bool:
        """True when this verdict alone makes the patient ineligible."""
        if self.criterion.inclusion:
            return self.verdict is Verdict.NOT_MET
        return self.verdict is Verdict.MET

    @property
    def satisfied(self) -> bool:
        """True when this verdict positively supports eligibility."""
        if self.criterion.inclusion:
            return self.verdict is Verdict.MET
        return self.verdict is Verdict.NOT_MET


@dataclass(frozen=True)
class EligibilitySummary:
    """Counts over the verdicts of one patient-trial pair."""

    excluded: bool
    n_satisfied: int
    n_failed: int
    n_unknown: int
    n_not_applicable: int


@dataclass(frozen=True)
class TrialMatch:
    """One ranked patient-trial pair with its evidence (used in both matching directions)."""

    nct_id: str
    patient_id: str
    score: float
    retrieval_score: float
    summary: EligibilitySummary
    verdicts: tuple[CriterionVerdict, ...] = ()
    rank_reasons: tuple[str, ...] = field(default_factory=tuple)
