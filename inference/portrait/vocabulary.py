"""One clinical vocabulary for prognosis across cancer types.

Every cohort the portrait model is trained on is harmonised into these fields, and the app adapter
fills the same fields from a case's rows. A field the record (or the cohort) lacks is ``None`` and
is masked in the model, never replaced by a constant.

Conventions:
- Stage group is the group of the cancer type's own staging system: AJCC 8th edition for solid
  tumours, FIGO for ovary, Ann Arbor for lymphoma (0 = in situ, 1-4 = I-IV; sub-groups such as IIIA
  map to their roman numeral). ``advanced_stage`` (III/IV) is derived from it and is the only stage
  field of cohorts that record stage coarsely.
- Performance status is ECOG 0-4. Karnofsky (KPS) is converted with the ECOG-ACRIN table
  (Oken et al., Am J Clin Oncol 1982;5:649-655; the pairing compared by Buccheri et al.,
  Eur J Cancer 1996;32A:1135-1141): KPS 90-100 -> 0, 70-80 -> 1, 50-60 -> 2, 30-40 -> 3,
  10-20 -> 4. Values between the rows (85, 75, ...) take the lower-performance row.
- Labs are in SI units (g/L, umol/L, 10^9/L, U/L, ug/L, mmol/L).
- Times are in months elsewhere in the package; nothing in here is a time.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Literal

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
Transform = Literal["identity", "log1p"]


def ecog_from_karnofsky(karnofsky: float) -> int:
    """ECOG performance status from a Karnofsky score (ECOG-ACRIN conversion table).

    Args:
        karnofsky: KPS, 0-100.

    Returns:
        ECOG 0-4 (KPS 0, dead, is refused).
    """
    if not 0 < karnofsky <= 100:
        raise ValueError(f"Karnofsky score must be in (0, 100], got {karnofsky}")
    for threshold, ecog in ((90, 0), (70, 1), (50, 2), (30, 3)):
        if karnofsky >= threshold:
            return ecog
    return 4


def _check_range(name: str, value: float | None, low: float, high: float) -> None:
    if value is None:
        return
    if isinstance(value, float) and math.isnan(value):
        raise ValueError(f"{name}: use None for a missing value, not NaN")
    if not low <= value <= high:
        raise ValueError(f"{name}={value} is outside [{low}, {high}]")


@dataclass(frozen=True)
class Staging:
    """Stage group and TNM categories (see the module docstring for the staging systems)."""

    stage_group: int | None = None
    advanced_stage: bool | None = None
    t_category: int | None = None
    n_category: int | None = None
    m_category: int | None = None

    def __post_init__(self) -> None:
        _check_range("stage_group", self.stage_group, 0, 4)
        _check_range("t_category", self.t_category, 0, 4)
        _check_range("n_category", self.n_category, 0, 3)
        _check_range("m_category", self.m_category, 0, 1)
        stage, advanced = self.stage_group, self.advanced_stage
        if stage is not None and advanced is not None and advanced != (stage >= 3):
            raise ValueError("advanced_stage disagrees with stage_group")


@dataclass(frozen=True)
class Tumour:
    """Pathology of the primary tumour."""

    grade: int | None = None
    nodes_positive: int | None = None
    tumour_size_mm: float | None = None
    breslow_thickness_mm: float | None = None
    ulceration: bool | None = None
    vascular_invasion: bool | None = None
    small_cell_histology: bool | None = None

    def __post_init__(self) -> None:
        _check_range("grade", self.grade, 1, 4)
        _check_range("nodes_positive", self.nodes_positive, 0, 100)
        _check_range("tumour_size_mm", self.tumour_size_mm, 0, 500)
        _check_range("breslow_thickness_mm", self.breslow_thickness_mm, 0, 50)


@dataclass(frozen=True)
class Performance:
    """ECOG performance status and weight loss over the last six months."""

    ecog: int | None = None
    weight_loss_kg: float | None = None

    def __post_init__(self) -> None:
        _check_range("ecog", self.ecog, 0, 4)
        _check_range("weight_loss_kg", self.weight_loss_kg, -50, 80)


@dataclass(frozen=True)
class Receptors:
    """Receptor and biomarker status (positive = True)."""

    er_positive: bool | None = None
    pr_positive: bool | None = None
    her2_positive: bool | None = None


@dataclass(frozen=True)
class Labs:
    """Key laboratory values in SI units."""

    haemoglobin_g_l: float | None = None
    albumin_g_l: float | None = None
    ldh_u_l: float | None = None
    neutrophils_1e9_l: float | None = None
    wbc_1e9_l: float | None = None
    creatinine_umol_l: float | None = None
    bilirubin_umol_l: float | None = None
    sodium_mmol_l: float | None = None
    afp_ug_l: float | None = None
    psa_ug_l: float | None = None

    def __post_init__(self) -> None:
        for spec in fields(self):
            _check_range(spec.name, getattr(self, spec.name), 0, 1e6)


@dataclass(frozen=True)
class TreatmentHistory:
    """Treatment classes given (or planned as first treatment) and prior lines of therapy."""

    chemotherapy: bool | None = None
    endocrine_therapy: bool | None = None
    radiotherapy: bool | None = None
    prior_lines: int | None = None

    def __post_init__(self) -> None:
        _check_range("prior_lines", self.prior_lines, 0, 20)


@dataclass(frozen=True)
class ClinicalPortrait:
    """Everything the portrait model reads about one patient.

    Attributes:
        cancer_type: OncoTree code the model routes on (see ``inference.portrait.model``).
        age_years, sex_female, postmenopausal, cirrhosis: host factors.
        nottingham_prognostic_index: breast NPI where the record states it.
    """

    cancer_type: str | None = None
    age_years: float | None = None
    sex_female: bool | None = None
    postmenopausal: bool | None = None
    cirrhosis: bool | None = None
    nottingham_prognostic_index: float | None = None
    staging: Staging = field(default_factory=Staging)
    tumour: Tumour = field(default_factory=Tumour)
    performance: Performance = field(default_factory=Performance)
    receptors: Receptors = field(default_factory=Receptors)
    labs: Labs = field(default_factory=Labs)
    treatment: TreatmentHistory = field(default_factory=TreatmentHistory)

    def __post_init__(self) -> None:
        _check_range("age_years", self.age_years, 0, 120)
        _check_range("nottingham_prognostic_index", self.nottingham_prognostic_index, 1, 10)


@dataclass(frozen=True)
class Feature:
    """One model input: where it lives in :class:`ClinicalPortrait` and how it is scaled.

    Attributes:
        name: flat name, also the column name of harmonised cohort tables.
        group: attribute of :class:`ClinicalPortrait` holding it (``""`` = top level).
        transform: ``log1p`` for right-skewed counts, sizes and labs.
        label: words for the "why" list.
    """

    name: str
    group: str
    transform: Transform
    label: str


def _features() -> tuple[Feature, ...]:
    log1p = {
        "nodes_positive",
        "tumour_size_mm",
        "breslow_thickness_mm",
        "ldh_u_l",
        "neutrophils_1e9_l",
        "wbc_1e9_l",
        "creatinine_umol_l",
        "bilirubin_umol_l",
        "afp_ug_l",
        "psa_ug_l",
    }
    out = [
        Feature(name, "", "identity", name.replace("_", " "))
        for name in (
            "age_years",
            "sex_female",
            "postmenopausal",
            "cirrhosis",
            "nottingham_prognostic_index",
        )
    ]
    groups: tuple[tuple[str, type], ...] = (
        ("staging", Staging),
        ("tumour", Tumour),
        ("performance", Performance),
        ("receptors", Receptors),
        ("labs", Labs),
        ("treatment", TreatmentHistory),
    )
    for group, cls in groups:
        for spec in fields(cls):
            transform: Transform = "log1p" if spec.name in log1p else "identity"
            out.append(Feature(spec.name, group, transform, spec.name.replace("_", " ")))
    return tuple(out)


#: The model's inputs, in order.
FEATURES: tuple[Feature, ...] = _features()
FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)
_BY_NAME = {f.name: f for f in FEATURES}


def flat_values(portrait: ClinicalPortrait) -> dict[str, float | None]:
    """The portrait as ``{feature name: value or None}`` (booleans as 0/1).

    ``advanced_stage`` is derived from ``stage_group`` when only the latter is known.
    """
    out: dict[str, float | None] = {}
    for feature in FEATURES:
        holder = getattr(portrait, feature.group) if feature.group else portrait
        value = getattr(holder, feature.name)
        out[feature.name] = None if value is None else float(value)
    stage = portrait.staging.stage_group
    if out["advanced_stage"] is None and stage is not None:
        out["advanced_stage"] = float(stage >= 3)
    return out


def portrait_from_flat(
    values: Mapping[str, float | None], cancer_type: str | None
) -> ClinicalPortrait:
    """Build a portrait from flat feature values (NaN and None both mean missing).

    Args:
        values: feature name -> value; unknown names raise ``KeyError``.
        cancer_type: OncoTree code.

    Returns:
        The validated portrait.
    """
    grouped: dict[str, dict[str, object]] = {}
    top: dict[str, object] = {}
    for name, value in values.items():
        feature = _BY_NAME[name]
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        target = grouped.setdefault(feature.group, {}) if feature.group else top
        target[name] = _typed(feature, float(value))
    holders = {
        "staging": Staging,
        "tumour": Tumour,
        "performance": Performance,
        "receptors": Receptors,
        "labs": Labs,
        "treatment": TreatmentHistory,
    }
    parts = {group: cls(**grouped.get(group, {})) for group, cls in holders.items()}
    return ClinicalPortrait(cancer_type=cancer_type, **top, **parts)  # type: ignore[arg-type]


_BOOLEAN = {
    "sex_female",
    "postmenopausal",
    "cirrhosis",
    "advanced_stage",
    "ulceration",
    "vascular_invasion",
    "small_cell_histology",
    "er_positive",
    "pr_positive",
    "her2_positive",
    "chemotherapy",
    "endocrine_therapy",
    "radiotherapy",
}
_INTEGER = {
    "stage_group",
    "t_category",
    "n_category",
    "m_category",
    "grade",
    "nodes_positive",
    "ecog",
    "prior_lines",
}


def _typed(feature: Feature, value: float) -> float | int | bool:
    if feature.name in _BOOLEAN:
        return bool(value)
    if feature.name in _INTEGER:
        return int(round(value))
    return value


def encode(portraits: list[ClinicalPortrait] | tuple[ClinicalPortrait, ...]) -> FloatArray:
    """Raw model inputs of several portraits, transformed, NaN where missing.

    Args:
        portraits: the patients.

    Returns:
        (N, F) array in :data:`FEATURE_NAMES` order.
    """
    rows = np.full((len(portraits), len(FEATURES)), np.nan)
    for i, portrait in enumerate(portraits):
        flat = flat_values(portrait)
        for j, feature in enumerate(FEATURES):
            value = flat[feature.name]
            if value is not None:
                rows[i, j] = value
    return apply_transforms(rows)


def apply_transforms(raw: FloatArray) -> FloatArray:
    """Apply each feature's transform to an (N, F) array of raw values (NaN stays NaN)."""
    out = np.array(raw, dtype=np.float64, copy=True)
    for j, feature in enumerate(FEATURES):
        if feature.transform == "log1p":
            out[:, j] = np.log1p(np.clip(out[:, j], 0.0, None))
    return out
