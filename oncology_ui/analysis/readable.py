"""Model feature names and attributions in words a clinician reads without a codebook.

The model speaks in feature names (``is_female``, ``white_blood_cells``) and attributions in
units of survival probability; the page and the PDF speak in "Sex: female" and "lowers predicted
3-year survival by 2.1 percentage points".
"""

from __future__ import annotations

import math
from typing import Any

from oncology_ui.clinical.parsers.catalogue import load_catalogue
from oncology_ui.clinical.selectors import MODEL_LAB_FEATURES

_ROMAN = {0: "0", 1: "I", 2: "II", 3: "III", 4: "IV"}
_COPY_NUMBER = {
    -2: "deep deletion",
    -1: "shallow deletion",
    0: "no copy-number change",
    1: "copy-number gain",
    2: "amplification",
}
#: The unit each model lab feature is sent in (see ``clinical.selectors.MODEL_LAB_FEATURES``).
_LAB_UNITS = dict(MODEL_LAB_FEATURES.values())
_LAB_NAMES = {feature: key for key, (feature, _unit) in MODEL_LAB_FEATURES.items()}
_UNIT_TEXT = {"10*9/L": "×10⁹/L", "Cel": "°C", "mm[Hg]": "mmHg", "/min": "per minute"}
_IMAGING = {
    "volume_ml": ("Lesion volume", "mL"),
    "longest_diameter_mm": ("Longest lesion diameter", "mm"),
    "short_axis_mm": ("Lesion short axis", "mm"),
    "mean_hu": ("Mean lesion density", "HU"),
    "suv_max": ("SUVmax", ""),
    "suv_mean": ("SUVmean", ""),
    "sphericity": ("Lesion sphericity", ""),
    "lesion_count": ("Lesion count", ""),
    "total_volume_ml": ("Total lesion volume", "mL"),
    "total_lesion_glycolysis": ("Total lesion glycolysis", ""),
    "metabolic_tumor_volume_ml": ("Metabolic tumour volume", "mL"),
}
#: Attributions are shown in percentage points with one decimal; smaller ones print as 0.0.
DISPLAY_DECIMALS = 1


def _number(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.3g}"


def _lab_label(feature: str) -> str:
    key = _LAB_NAMES.get(feature, feature)
    analyte = load_catalogue().analytes.get(key)
    return analyte.name if analyte is not None else feature.replace("_", " ").capitalize()


_BARE = {
    ("clinical", "age"): "Age",
    ("clinical", "is_female"): "Sex",
    ("clinical", "er_positive"): "ER status",
    ("clinical", "stage"): "Stage",
    ("clinical", "ecog"): "ECOG performance status",
}


def _bare_label(modality: str, feature: str) -> str:
    """A feature with no value recorded."""
    if (modality, feature) in _BARE:
        return _BARE[(modality, feature)]
    if modality == "labs":
        return _lab_label(feature)
    if modality in ("mutations", "copy_number", "expression"):
        return f"{feature} {modality.replace('_', '-').rstrip('s')} status"
    if modality == "imaging" and feature in _IMAGING:
        return _IMAGING[feature][0]
    label = feature.replace("_", " ")
    return label[:1].upper() + label[1:]


#: Portrait yes/no fields: (name without a value, text when yes, text when no).
_PORTRAIT_FLAGS: dict[str, tuple[str, str, str]] = {
    "sex_female": ("Sex", "Sex: female", "Sex: male"),
    "postmenopausal": ("Menopausal status", "Postmenopausal", "Premenopausal"),
    "cirrhosis": ("Cirrhosis", "Cirrhosis", "No cirrhosis"),
    "advanced_stage": ("Stage III–IV or not", "Advanced stage (III–IV)", "Early stage (0–II)"),
    "ulceration": ("Ulceration", "Ulcerated", "Not ulcerated"),
    "vascular_invasion": ("Vascular invasion", "Vascular invasion", "No vascular invasion"),
    "small_cell_histology": (
        "Small-cell histology",
        "Small-cell histology",
        "Non-small-cell histology",
    ),
    "er_positive": ("ER status", "ER positive", "ER negative"),
    "pr_positive": ("PR status", "PR positive", "PR negative"),
    "her2_positive": ("HER2 status", "HER2 positive", "HER2 negative"),
    "chemotherapy": ("Chemotherapy", "Chemotherapy", "No chemotherapy"),
    "endocrine_therapy": ("Endocrine therapy", "Endocrine therapy", "No endocrine therapy"),
    "radiotherapy": ("Radiotherapy", "Radiotherapy", "No radiotherapy"),
}
#: Portrait number fields: (name without a value, the text around the value, its format).
_PORTRAIT_NUMBERS: dict[str, tuple[str, str, str]] = {
    "age_years": ("Age", "Age {} years", ".0f"),
    "nottingham_prognostic_index": ("Nottingham prognostic index", "NPI {}", ".2f"),
    "t_category": ("T category", "T{}", ".0f"),
    "n_category": ("N category", "N{}", ".0f"),
    "m_category": ("M category", "M{}", ".0f"),
    "grade": ("Histologic grade", "Grade {}", ".0f"),
    "nodes_positive": ("Positive lymph nodes", "Positive lymph nodes: {}", ".0f"),
    "tumour_size_mm": ("Tumour size", "Tumour size {} mm", ".0f"),
    "breslow_thickness_mm": ("Breslow thickness", "Breslow thickness {} mm", ".1f"),
    "ecog": ("ECOG performance status", "ECOG performance status {}", ".0f"),
    "weight_loss_kg": ("Weight loss", "Weight loss {} kg", ".0f"),
    "haemoglobin_g_l": ("Haemoglobin", "Haemoglobin {} g/L", ".4g"),
    "albumin_g_l": ("Albumin", "Albumin {} g/L", ".4g"),
    "ldh_u_l": ("LDH", "LDH {} U/L", ".4g"),
    "neutrophils_1e9_l": ("Neutrophils", "Neutrophils {} ×10⁹/L", ".3g"),
    "wbc_1e9_l": ("White blood cells", "White blood cells {} ×10⁹/L", ".3g"),
    "creatinine_umol_l": ("Creatinine", "Creatinine {} µmol/L", ".4g"),
    "bilirubin_umol_l": ("Bilirubin", "Bilirubin {} µmol/L", ".3g"),
    "sodium_mmol_l": ("Sodium", "Sodium {} mmol/L", ".4g"),
    "afp_ug_l": ("AFP", "AFP {} µg/L", ".4g"),
    "psa_ug_l": ("PSA", "PSA {} µg/L", ".4g"),
    "prior_lines": ("Prior lines of therapy", "Prior lines of therapy: {}", ".0f"),
}


def portrait_label(feature: str, value: float | None) -> str:
    """A portrait field as a clinician writes it (``Stage III``, ``Albumin 31 g/L``)."""
    if feature == "stage_group":
        bare, text, spec = "Stage group", "", ""
    elif feature in _PORTRAIT_FLAGS:
        bare, yes, no = _PORTRAIT_FLAGS[feature]
    else:
        default = (feature.replace("_", " ").capitalize(), "", "")
        bare, text, spec = _PORTRAIT_NUMBERS.get(feature, default)
    if value is None or not math.isfinite(value):
        return bare
    if feature == "stage_group":
        return f"Stage {_ROMAN.get(int(value), _number(value))}"
    if feature in _PORTRAIT_FLAGS:
        return yes if value >= 0.5 else no
    return text.format(format(value, spec)) if text else bare


def feature_label(
    modality: str, feature: str, value: float | None, *, lab_units: dict[str, str] | None = None
) -> str:
    """One model input as a clinician would write it: ``Age 53 years``, ``TP53 mutated``."""
    if modality == "portrait":
        return portrait_label(feature, value)
    if value is None or not math.isfinite(value):
        return _bare_label(modality, feature)
    if modality == "clinical":
        if feature == "age":
            return f"Age {value:.0f} years"
        if feature == "is_female":
            return "Sex: female" if value >= 0.5 else "Sex: male"
        if feature == "er_positive":
            return "ER positive" if value >= 0.5 else "ER negative"
        if feature == "stage":
            return f"Stage {_ROMAN.get(int(value), _number(value))}"
        if feature == "ecog":
            return f"ECOG performance status {value:.0f}"
    if modality == "labs":
        unit = (lab_units or {}).get(feature) or _LAB_UNITS.get(feature, "")
        return f"{_lab_label(feature)} {_number(value)} {_UNIT_TEXT.get(unit, unit)}".rstrip()
    if modality == "mutations":
        return f"{feature} mutated" if value >= 0.5 else f"{feature} not mutated (sequenced)"
    if modality == "copy_number":
        level = int(round(value))
        return f"{feature} {_COPY_NUMBER.get(level, 'copy-number change')} (level {level:+d})"
    if modality == "expression":
        return f"{feature} expression {value:+.1f} SD from the cohort mean"
    if modality == "imaging" and feature in _IMAGING:
        label, unit = _IMAGING[feature]
        return f"{label} {_number(value)} {unit}".rstrip()
    return f"{_bare_label(modality, feature)} {_number(value)}"


def percentage_points(attribution: float) -> float:
    """An attribution (survival probability) in percentage points, as displayed."""
    return round(100.0 * attribution, DISPLAY_DECIMALS)


def attribution_text(attribution: float, reference_years: int | None) -> str:
    """What an attribution means: ``lowers predicted 3-year survival by 2.1 percentage points``."""
    points = percentage_points(attribution)
    horizon = f"{reference_years}-year" if reference_years else "predicted"
    verb = "raises" if points > 0 else "lowers"
    return f"{verb} the predicted {horizon} survival by {abs(points):.{DISPLAY_DECIMALS}f} points"


def why_factors(
    explanation: dict[str, Any] | None, *, lab_units: dict[str, str] | None = None, limit: int = 10
) -> list[dict[str, Any]]:
    """The strongest feature attributions, in words, leaving out those that display as zero."""
    explanation = explanation or {}
    reference_years = explanation.get("reference_years")
    factors = []
    for item in explanation.get("feature_attributions") or ():
        attribution = item.get("attribution")
        if attribution is None or percentage_points(attribution) == 0.0:
            continue
        factors.append(
            {
                "label": feature_label(
                    item["modality"], item["feature"], item.get("value"), lab_units=lab_units
                ),
                "points": percentage_points(attribution),
                "raises_risk": attribution < 0,
                "meaning": attribution_text(attribution, reference_years),
            }
        )
    factors.sort(key=lambda factor: -abs(factor["points"]))
    return factors[:limit]


_PART_NAMES = {
    "labs": "laboratory values",
    "mutations": "mutation calls",
    "copy_number": "copy-number calls",
    "expression": "expression values",
}


def _ignored_label(entry: str, sources: dict[str, Any], lab_units: dict[str, str] | None) -> str:
    modality, _, feature = entry.partition(":")
    if not feature:
        return modality.replace("_", " ").capitalize()
    if feature.startswith(" "):  # already a sentence: "slide: supplied but not used (...)"
        return f"{modality.replace('_', ' ').capitalize()}: {feature.strip()}"
    if modality == "cancer_type":
        return f"Cancer type {feature} (not among the model's training cohorts)"
    if modality == "treatment":
        return f"Therapy {feature}"
    if modality == "slide":
        return f"Slide {feature} (features of another size than the model's)"
    value = sources.get(modality, {}).get(feature)
    return feature_label(modality, feature, value, lab_units=lab_units)


def inputs_not_used(
    ignored: list[str], snapshot: dict[str, Any] | None, *, used: list[str] | None = None
) -> list[str]:
    """``clinical:er_positive`` as ``ER positive``: facts the case has that this model cannot use.

    Values come from the run's snapshot, so the line says what is known. A whole modality the
    model has no branch for (labs for a genomics model) is reported by the model as nothing at
    all; it is listed here from the snapshot, with how many values it had.
    """
    snapshot = snapshot or {}
    provenance = snapshot.get("provenance") or {}
    molecular = snapshot.get("molecular") or {}
    sources: dict[str, Any] = {
        "clinical": (snapshot.get("clinical") or {}).get("values") or {},
        "labs": (snapshot.get("labs") or {}).get("values") or {},
        **{part: molecular.get(part) or {} for part in ("mutations", "copy_number", "expression")},
    }
    lab_units = provenance.get("lab_units")
    labels = [_ignored_label(str(entry), sources, lab_units) for entry in ignored]
    if used is not None:
        mentioned = {str(entry).partition(":")[0] for entry in ignored}
        for part, noun in _PART_NAMES.items():
            values = sources[part]
            if values and part not in used and part not in mentioned:
                labels.append(f"{len(values)} {noun} (this model has no {noun} input)")
    return labels


def validation_text(validation: dict[str, Any] | None) -> str:
    """What a portrait prediction was validated on, as one paragraph ('' for other models)."""
    facts = validation or {}
    if not facts.get("cancer_type"):
        return ""
    text = (
        f"Validated for {facts['cancer_type']} on the held-out test part of "
        f"{', '.join(facts.get('cohorts') or []) or 'its cohorts'} "
        f"({facts.get('test_n', '?')} patients, {facts.get('test_events', '?')} events): "
        f"Harrell C {_fixed(facts.get('harrell_c'), 3)}, against "
        f"{_fixed(facts.get('coxph_c'), 3)} for a Cox model on the same fields"
    )
    slope = facts.get("calibration_slope")
    if slope is not None:
        text += (
            f"; calibration slope at {_fixed(facts.get('horizon_months'), 0)} months "
            f"{_fixed(slope, 2)} (1 is ideal)"
        )
    text += "."
    conformal = facts.get("conformal") or {}
    if conformal.get("measured_test") is not None:
        text += (
            f" Time-to-event interval: {100 * float(conformal.get('nominal', 0.9)):.0f}% nominal,"
            f" {100 * float(conformal['measured_test']):.0f}% measured on the test part"
            f" ({conformal.get('status', 'ok')})."
        )
    if facts.get("endpoint"):
        text += f" Endpoint: {facts['endpoint']}."
    if facts.get("non_commercial"):
        text += " Trained with data licensed for non-commercial use only (see the model card)."
    return text


def _fixed(value: Any, decimals: int) -> str:
    return "?" if value is None else f"{float(value):.{decimals}f}"
