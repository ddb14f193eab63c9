"""What a printed report contains, as frozen values: the PDF is a pure function of these.

Built from stored rows by :mod:`oncology_ui.reports.build`, never from a fresh model call, so
the printout shows exactly what the board saw.
"""

from __future__ import annotations

from dataclasses import dataclass, field

NOT_AVAILABLE = "Not available"

RESEARCH_USE = (
    "Research use only: outputs derived from pathology slides or radiology images are not "
    "validated for clinical decisions and must not be used as the sole basis for treatment."
)

LIMITATIONS: tuple[str, ...] = (
    "Model outputs are estimates for groups of similar patients, not certainties for this "
    "patient; the intervals show the model's uncertainty, not the full clinical uncertainty.",
    "The model saw only the inputs listed under 'Data used'; anything missing or recorded after "
    "the analysis is not reflected.",
    "Suggestions support, never replace, the judgement of the treating physicians.",
)


@dataclass(frozen=True)
class Identifiers:
    name: str
    mrn: str
    site: str
    birth_date: str
    sex: str


@dataclass(frozen=True)
class TimelineRow:
    when: str
    kind: str
    label: str
    detail: str = ""


@dataclass(frozen=True)
class Landmark:
    years: int
    survival: float | None
    lower: float | None
    upper: float | None


@dataclass(frozen=True)
class Bar:
    label: str
    value: float


@dataclass(frozen=True)
class Prognosis:
    """The stored prediction as printed.

    The curve, landmarks and median are read from today (conditional on survival since the
    model's time zero) when ``conditioned``; ``basis`` says what time zero is. Bars carry the
    printed values (percentage points, one decimal), so every bar's length matches its label.
    """

    status: str  # "ok" or "abstained"
    abstention_reasons: tuple[str, ...]
    times_months: tuple[float, ...]
    survival: tuple[float, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    median_months: float | None
    landmarks: tuple[Landmark, ...]
    contributions: tuple[Bar, ...]
    computed_at: str
    basis: str = ""
    axis_label: str = "Years from the model's time zero"
    conditioned: bool = False
    #: Why no curve from today can be printed ('' when one is).
    no_curve_reason: str = ""
    #: The model inputs recorded since the prediction ('' when it is current).
    stale: str = ""
    reference_years: int | None = None
    #: The facts that moved the prediction most (percentage points, as printed).
    factors: tuple[Bar, ...] = ()
    #: How the factors were measured, for the caption.
    factors_method: str = ""
    #: What the model was validated on for this cancer type ('' for models without it).
    validation: str = ""
    #: Why the portrait model did not serve this case ('' when it did or was not tried).
    routing: str = ""


@dataclass(frozen=True)
class ModelInfo:
    name: str
    version: str
    sha256: str


@dataclass(frozen=True)
class Signature:
    name: str
    at_utc: str
    meaning: str
    content_hash: str


@dataclass(frozen=True)
class DecisionData:
    version: int
    status: str
    meeting: str
    therapy: str
    trial_referral: str
    further_tests: str
    follow_up: str
    notes: str
    agreeing: tuple[str, ...]
    model_top_option: str
    model_prognosis: str
    is_discordant: bool
    discordance_reason: str
    signature: Signature | None
    superseded: bool = False


@dataclass(frozen=True)
class ChartPoint:
    day: int  # days after the series' first point: the x position
    when: str  # as printed (a date, or days from diagnosis when de-identified)
    value: float
    flag: str = ""  # "H", "L" or ""


@dataclass(frozen=True)
class ChartSeries:
    """One analyte over time, drawn as a small line chart with its reference range."""

    label: str
    unit: str
    points: tuple[ChartPoint, ...]
    ref_low: float | None = None
    ref_high: float | None = None


@dataclass(frozen=True)
class OptionalSection:
    """One part of the record as printed (therapies, trials, slide, imaging, labs), or why not."""

    title: str
    lines: tuple[str, ...] = ()
    image_png: bytes | None = None
    image_caption: str = ""
    unavailable: str = NOT_AVAILABLE
    charts: tuple[ChartSeries, ...] = ()

    @property
    def available(self) -> bool:
        return bool(self.lines or self.image_png or self.charts)


HALLMARKS_NOT_MEASURED = "No expression profile measured; hallmark programmes cannot be scored."


@dataclass(frozen=True)
class HallmarkRow:
    """One capability or gene set as printed: score and percentile already formatted."""

    label: str
    programmes: str
    score: str
    percentile: str


@dataclass(frozen=True)
class HallmarkReport:
    """The hallmark profile as printed (measured or imputed), or why there is none."""

    source: str  # "measured", "imputed" or "" when unavailable
    lines: tuple[str, ...] = ()
    capabilities: tuple[HallmarkRow, ...] = ()
    gene_sets: tuple[HallmarkRow, ...] = ()
    unavailable: str = HALLMARKS_NOT_MEASURED


@dataclass(frozen=True)
class CaseReportData:
    case_ref: str
    generated_at_utc: str
    deidentified: bool
    identifiers: Identifiers | None
    summary: tuple[tuple[str, str], ...]
    timeline: tuple[TimelineRow, ...]
    data_used: tuple[str, ...]
    data_missing: tuple[str, ...]
    prognosis: Prognosis | None
    prognosis_unavailable: str
    optional_sections: tuple[OptionalSection, ...]
    decisions: tuple[DecisionData, ...]
    model: ModelInfo | None
    knowledge_base_version: str
    image_derived: bool
    limitations: tuple[str, ...] = LIMITATIONS
    #: Facts the case has that the model cannot use ("ER positive", "Stage II").
    data_not_used: tuple[str, ...] = ()
    hallmarks: HallmarkReport = HallmarkReport(source="")


@dataclass(frozen=True)
class AgendaRow:
    order: int
    case_ref: str
    presenter: str
    prepared: str


@dataclass(frozen=True)
class BoardPacketData:
    board: str
    site: str
    specialty: str
    meeting_date: str
    title: str
    attendees: tuple[str, ...]
    generated_at_utc: str
    deidentified: bool
    agenda: tuple[AgendaRow, ...]
    cases: tuple[CaseReportData, ...] = field(default_factory=tuple)
