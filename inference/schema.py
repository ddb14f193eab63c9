"""Frozen dataclasses that cross the inference boundary, in and out.

Nothing in here is a tensor or an ORM object: the Django side builds :class:`CaseInputs` from its
rows and stores :class:`SurvivalPrediction` as it is. Measurements are plain name -> value mappings;
a name the model does not know is reported back in ``inputs_ignored`` rather than silently dropped,
and ``None`` or NaN means "not measured" (masked), never zero.

Times are in months throughout (1 year = 12 months).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

# The slide-level and study-level summaries of the image pipelines live with their pipelines;
# they are re-exported here so every input type of the model is importable from this module.
from inference.imaging.schema import ImagingFeatures as ImagingFeatures
from inference.slides.schema import SlideSummary as SlideSummary

#: The modalities the fusion model knows, in token order.
MODALITIES: tuple[str, ...] = (
    "clinical",
    "labs",
    "mutations",
    "copy_number",
    "expression",
    "slide",
    "imaging",
)

Measurements = Mapping[str, float | None]


@dataclass(frozen=True)
class ClinicalFacts:
    """Clinical factors of the case.

    Attributes:
        values: name -> value, for example ``{"age": 63, "is_female": 1}``; names are the model's
            clinical feature names (see ``ModelInfo.feature_names``).
        cancer_type: OncoTree code (``"IDC"``, ``"LUAD"``); ``None`` when unknown.
    """

    values: Measurements = field(default_factory=dict)
    cancer_type: str | None = None


@dataclass(frozen=True)
class LabPanel:
    """Laboratory results and vital signs, latest value per analyte; missing ones are masked."""

    values: Measurements = field(default_factory=dict)


@dataclass(frozen=True)
class MolecularProfile:
    """Tumour molecular profile keyed by HGNC gene symbol.

    Attributes:
        mutations: gene -> 1 if a non-silent somatic mutation was found, 0 if sequenced and
            wild type.
        copy_number: gene -> GISTIC-like copy-number level (-2..2).
        expression: gene -> RNA expression z-score against the cohort.
    """

    mutations: Measurements = field(default_factory=dict)
    copy_number: Measurements = field(default_factory=dict)
    expression: Measurements = field(default_factory=dict)


@dataclass(frozen=True)
class SlideFeatures:
    """Tile feature vectors of one whole-slide image (from ``inference.slides``).

    Attributes:
        slide_id: identifier echoed back with the tile attention.
        tile_features: array (n_tiles, feature_dim), float32.
        tile_coordinates: array (n_tiles, 2) of level-0 pixel (x, y) of each tile.
    """

    slide_id: str
    tile_features: npt.NDArray[np.float32]
    tile_coordinates: npt.NDArray[np.int64]


@dataclass(frozen=True)
class ImagingMeasurements:
    """Radiology measurements (from ``inference.imaging``).

    Attributes:
        lesions: one mapping per lesion, for example ``{"volume_ml": 12.0, "suv_max": 7.1}``.
        study: study-level measurements, for example ``{"lesion_count": 3}``.
    """

    lesions: tuple[Measurements, ...] = ()
    study: Measurements = field(default_factory=dict)


@dataclass(frozen=True)
class TreatmentPlan:
    """Therapies given (or considered, for a what-if curve): therapy name -> given."""

    therapies: Mapping[str, bool] = field(default_factory=dict)


@dataclass(frozen=True)
class CaseInputs:
    """Everything the model may use for one case; any subset may be absent."""

    case_id: str
    clinical: ClinicalFacts | None = None
    labs: LabPanel | None = None
    molecular: MolecularProfile | None = None
    slides: tuple[SlideFeatures, ...] = ()
    imaging: ImagingMeasurements | None = None
    treatment: TreatmentPlan | None = None


@dataclass(frozen=True)
class SurvivalCurve:
    """S(t) on the model's fixed grid with the ensemble band.

    Attributes:
        times_months: grid times, starting at 0.
        survival: ensemble-mean survival probability at each time.
        lower: lower edge of the band (lowest ensemble member).
        upper: upper edge of the band (highest ensemble member).
    """

    times_months: tuple[float, ...]
    survival: tuple[float, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]


@dataclass(frozen=True)
class SurvivalAtYear:
    """Survival probability at a landmark year with its ensemble band."""

    years: int
    survival: float | None
    lower: float | None
    upper: float | None


@dataclass(frozen=True)
class TimeInterval:
    """Conformal interval for the time to event.

    Attributes:
        lower_months: lower bound in months.
        upper_months: upper bound in months, ``None`` when beyond the model's follow-up horizon.
        nominal_coverage: the coverage the interval was calibrated for, for example 0.8.
        measured_coverage: coverage measured on held-out patients (IPCW), ``None`` if not measured.
    """

    lower_months: float
    upper_months: float | None
    nominal_coverage: float
    measured_coverage: float | None


@dataclass(frozen=True)
class ModalityAttribution:
    """Exact Shapley value of one modality on the predicted survival at the reference horizon."""

    modality: str
    shapley: float


@dataclass(frozen=True)
class FeatureAttribution:
    """Integrated-gradients attribution of one input feature.

    ``attribution`` is in units of survival probability at the reference horizon; a negative value
    means the feature lowers predicted survival (raises risk).
    """

    modality: str
    feature: str
    value: float
    attribution: float
    direction: Literal["raises risk", "lowers risk"]


@dataclass(frozen=True)
class HallmarkScore:
    """One hallmark of cancer for this patient.

    Attributes:
        hallmark: MSigDB hallmark name, for example ``HALLMARK_HYPOXIA``.
        score: mean expression z-score of its member genes present in the profile.
        genes_measured: member genes the profile had.
        attribution: summed genomic attribution of member genes (survival probability units).
    """

    hallmark: str
    score: float | None
    genes_measured: int
    attribution: float


@dataclass(frozen=True)
class TileAttention:
    """Attention weight of each tile of one slide (sums to 1), for the heatmap."""

    slide_id: str
    tile_coordinates: tuple[tuple[int, int], ...]
    weights: tuple[float, ...]


@dataclass(frozen=True)
class SimilarPatients:
    """Nearest training patients in the fused embedding and their Kaplan-Meier curve.

    This is observational: those patients were not randomised and differ in unmeasured ways.
    """

    count: int
    times_months: tuple[float, ...]
    survival: tuple[float, ...]
    events: int
    label: str = "observational: nearest training patients, not a prediction"


@dataclass(frozen=True)
class Explanation:
    """Why the model predicted what it did."""

    reference_years: int
    baseline_survival: float
    modality_shapley: tuple[ModalityAttribution, ...]
    feature_attributions: tuple[FeatureAttribution, ...]
    hallmarks: tuple[HallmarkScore, ...]
    tile_attention: tuple[TileAttention, ...]
    similar_patients: SimilarPatients | None


@dataclass(frozen=True)
class ModelInfo:
    """Identity of the model that produced a prediction."""

    name: str
    version: str
    weights_sha256: str
    trained_modalities: tuple[str, ...]
    untrained_modalities: tuple[str, ...]
    feature_names: Mapping[str, tuple[str, ...]]
    treatments: tuple[str, ...]
    model_card: str


@dataclass(frozen=True)
class SurvivalPrediction:
    """Individual survival prediction for one case.

    Attributes:
        case_id: echoed from the input.
        status: ``"ok"``, or ``"abstained"`` when the input is out of the training distribution or
            too little is known; the numbers are still filled in for audit but must not be shown as
            a prediction.
        abstention_reasons: human-readable reasons, empty when ``status == "ok"``.
        curve: S(t) with the ensemble band.
        median_months: median survival time, ``None`` when S(t) stays above 0.5 on the grid.
        survival_at: 1-, 3- and 5-year survival.
        risk_score: negative restricted mean survival time over the grid (higher = worse).
        time_interval: conformal interval for the time to event.
        inputs_used: modalities that entered the model.
        inputs_missing: modalities the model knows but the case did not have.
        inputs_ignored: supplied names the model does not know (``"labs:ldh"``).
        model: identity of the model.
        explanation: attributions, hallmarks, tile attention and similar patients.
    """

    case_id: str
    status: Literal["ok", "abstained"]
    abstention_reasons: tuple[str, ...]
    curve: SurvivalCurve
    median_months: float | None
    survival_at: tuple[SurvivalAtYear, ...]
    risk_score: float
    time_interval: TimeInterval | None
    inputs_used: tuple[str, ...]
    inputs_missing: tuple[str, ...]
    inputs_ignored: tuple[str, ...]
    model: ModelInfo
    explanation: Explanation | None
    #: Clinical-vocabulary fields that entered the model (portrait models; empty otherwise).
    covariates_used: tuple[str, ...] = ()
    #: Fields the case's cancer-type cohorts recorded but the case lacks (would sharpen it).
    covariates_missing: tuple[str, ...] = ()
    #: What the curve's t = 0 is (``diagnosis``, ``surgery``, ``randomisation``,
    #: ``study_entry``); ``None`` when the model's shipped entry says it.
    time_zero: str | None = None
    #: Test-split validation of the model for this case's cancer type, for the page.
    validation: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class TreatmentScenario:
    """What-if survival under one treatment plan (same patient, therapy inputs changed)."""

    treatment: TreatmentPlan
    curve: SurvivalCurve
    median_months: float | None
    survival_at: tuple[SurvivalAtYear, ...]
