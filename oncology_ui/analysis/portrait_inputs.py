"""A case's rows in the portrait model's clinical vocabulary, with where each value came from.

The vocabulary (``inference.portrait.vocabulary``) is what the prognosis model reads: stage group
and TNM, grade, nodes, tumour size, ECOG, receptors, labs in SI units. Each value is taken from one
named row and carries that row in words, so the page can say "Stage IIIA (case record)" or
"Albumin 31 g/L (lab 2026-03-02, older than 90 days)". A field the record lacks is left out (the
model masks it); nothing is filled in.

Treatments given are deliberately not supplied: in the training cohorts they were assigned by
indication, so as prognostic inputs they would carry confounding, not prognosis. They are listed
as facts the model does not use, and treatment effects belong to the what-if view.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from django.utils import timezone

from inference.portrait.vocabulary import ecog_from_karnofsky
from oncology_ui.clinical.models import Biomarker, ClinicalFact
from oncology_ui.clinical.parsers.catalogue import load_catalogue
from oncology_ui.clinical.parsers.units import UnitError, convert
from oncology_ui.clinical.selectors import STALE_AFTER_DAYS, labs_latest
from oncology_ui.patients.models import Case, TimelineEvent

#: Portrait lab field -> (catalogue analyte key, the SI unit the model was trained in).
PORTRAIT_LABS: dict[str, tuple[str, str]] = {
    "haemoglobin_g_l": ("hemoglobin", "g/L"),
    "albumin_g_l": ("albumin", "g/L"),
    "ldh_u_l": ("ldh", "U/L"),
    "neutrophils_1e9_l": ("neutrophils", "10*9/L"),
    "wbc_1e9_l": ("wbc", "10*9/L"),
    "creatinine_umol_l": ("creatinine", "umol/L"),
    "bilirubin_umol_l": ("bilirubin", "umol/L"),
    "sodium_mmol_l": ("sodium", "mmol/L"),
    "afp_ug_l": ("afp", "ug/L"),
    "psa_ug_l": ("psa", "ug/L"),
}
_LAB_FIELD_OF = {key: name for name, (key, _unit) in PORTRAIT_LABS.items()}
#: Vocabulary fields this adapter never supplies (see the module docstring): they are not
#: "missing from the record" even when the type's cohorts recorded them.
NOT_SUPPLIED = ("chemotherapy", "endocrine_therapy", "radiotherapy", "prior_lines")
#: Biomarker name -> receptor field.
_RECEPTORS = {"ER": "er_positive", "PR": "pr_positive", "HER2": "her2_positive"}
#: Portrait types whose AJCC N category is defined by the count of positive regional nodes
#: (breast pN1 1-3 / pN2 4-9 / pN3 >= 10; colorectal N1 1-3 / N2 >= 4), as the cohorts were mapped.
_N_FROM_NODES: dict[str, tuple[int, ...]] = {"BRCA": (1, 4, 10), "COADREAD": (1, 4)}

_ROMAN = (("IV", 4), ("III", 3), ("II", 2), ("I", 1), ("0", 0))
_T = re.compile(r"^[cpy]*T(IS|[0-4])", re.IGNORECASE)
_N = re.compile(r"^[cpy]*N([0-3])", re.IGNORECASE)
_M = re.compile(r"^[cpy]*M([01])", re.IGNORECASE)


def stage_group_number(text: str) -> int | None:
    """AJCC/FIGO/Ann Arbor group as 0-4 (``IIIB`` -> 3, ``Stage IV`` -> 4); None when unstaged."""
    words = text.strip().upper().removeprefix("STAGE").strip()
    for roman, number in _ROMAN:
        if words.startswith(roman):
            return number
    return None


def tnm_number(text: str, axis: str) -> int | None:
    """``pT2a`` -> 2, ``Tis`` -> 0, ``N1mi`` -> 1, ``M1b`` -> 1; ``TX`` / blank -> None."""
    pattern = {"T": _T, "N": _N, "M": _M}[axis]
    match = pattern.match(text.strip())
    if match is None:
        return None
    digit = match[1].upper()
    return 0 if digit == "IS" else int(digit)


def _n_from_nodes(portrait_type: str | None, nodes: int) -> int | None:
    cuts = _N_FROM_NODES.get(portrait_type or "")
    if cuts is None:
        return None
    return sum(nodes >= cut for cut in cuts)


class _Portrait:
    """Collects values with their sources while the rows are read."""

    def __init__(self) -> None:
        self.values: dict[str, float] = {}
        self.sources: dict[str, str] = {}
        self.stale: list[str] = []
        self.record_only: list[str] = []

    def put(self, name: str, value: float | bool | None, source: str) -> None:
        if value is None or name in self.values:
            return
        self.values[name] = float(value)
        self.sources[name] = source


def _staging(case: Case, portrait: _Portrait, portrait_type: str | None) -> None:
    fact = (
        ClinicalFact.objects.filter(case=case, kind="stage_group").order_by("-date", "-id").first()
    )
    portrait.put("stage_group", stage_group_number(case.stage_group), "case record")
    if fact is not None:
        portrait.put("stage_group", stage_group_number(fact.value_text), "imported staging")
    for axis, pathological, clinical in (
        ("T", case.pathological_t, case.clinical_t),
        ("N", case.pathological_n, case.clinical_n),
        ("M", case.pathological_m, case.clinical_m),
    ):
        name = f"{axis.lower()}_category"
        portrait.put(name, tnm_number(pathological, axis), f"pathological {pathological}")
        portrait.put(name, tnm_number(clinical, axis), f"clinical {clinical}")
    if case.nodes_positive is not None and "n_category" not in portrait.values:
        category = _n_from_nodes(portrait_type, case.nodes_positive)
        portrait.put(
            "n_category",
            category,
            f"derived from {case.nodes_positive} positive node(s) by the AJCC count rule",
        )


def _tumour_and_host(case: Case, portrait: _Portrait) -> None:
    patient = case.patient
    portrait.put("age_years", case.age_at_diagnosis, "age at diagnosis")
    portrait.put("sex_female", {"female": True, "male": False}.get(patient.sex), "patient record")
    if case.menopausal_status:
        portrait.put("postmenopausal", case.menopausal_status == "post", "case record")
    portrait.put("grade", case.grade, "case record")
    portrait.put("nodes_positive", case.nodes_positive, "case record")
    portrait.put("tumour_size_mm", case.tumour_size_mm, "case record")


def _nottingham_index(portrait: _Portrait, portrait_type: str | None) -> None:
    """Breast NPI = 0.2 x size (cm) + node stage (1: none, 2: 1-3, 3: >= 4) + grade
    (Haybittle et al., Br J Cancer 1982; Galea et al., Breast Cancer Res Treat 1992)."""
    values = portrait.values
    if portrait_type != "BRCA" or not {"tumour_size_mm", "nodes_positive", "grade"} <= set(values):
        return
    nodes = values["nodes_positive"]
    node_stage = 1 if nodes == 0 else 2 if nodes <= 3 else 3
    npi = 0.2 * values["tumour_size_mm"] / 10.0 + node_stage + values["grade"]
    portrait.put(
        "nottingham_prognostic_index",
        round(min(max(npi, 1.0), 10.0), 2),
        "derived from size, positive nodes and grade",
    )


def _performance(case: Case, portrait: _Portrait, today: date) -> None:
    if case.ecog is not None:
        when = f" on {case.ecog_date.isoformat()}" if case.ecog_date else ""
        portrait.put("ecog", case.ecog, f"case record{when}")
        return
    for kind in ("ecog", "karnofsky"):
        fact = (
            ClinicalFact.objects.filter(case=case, kind=kind, value_number__isnull=False)
            .order_by("-date", "-id")
            .first()
        )
        if fact is None or fact.value_number is None:
            continue
        when = f" on {fact.date.isoformat()}" if fact.date else ""
        if kind == "ecog":
            portrait.put("ecog", round(fact.value_number), f"imported ECOG{when}")
        elif 0 < fact.value_number <= 100:
            portrait.put(
                "ecog",
                ecog_from_karnofsky(fact.value_number),
                f"Karnofsky {fact.value_number:.0f}{when}, converted (ECOG-ACRIN table)",
            )
        return


def _receptors(case: Case, portrait: _Portrait) -> None:
    # Newest result first per marker; an equivocal or unknown status stays missing.
    latest: dict[str, Biomarker] = {}
    for marker in Biomarker.objects.filter(case=case).order_by("-measured_on", "-id"):
        latest.setdefault(marker.name, marker)
    for name, marker in latest.items():
        field = _RECEPTORS.get(name)
        status = {"positive": True, "negative": False}.get(marker.status)
        when = f" on {marker.measured_on.isoformat()}" if marker.measured_on else ""
        if field is not None and status is not None:
            method = f" by {marker.method}" if marker.method else ""
            portrait.put(field, status, f"biomarker {name}{method}{when}")
        elif field is None:
            portrait.record_only.append(f"{name} {marker.status or marker.value_text}".strip())


def _labs(case: Case, portrait: _Portrait, today: date) -> None:
    catalogue = load_catalogue()
    other = 0
    for result in labs_latest(case):
        field = _LAB_FIELD_OF.get(result.analyte_key)
        if field is None or result.value is None:
            other += result.value is not None
            continue
        target = PORTRAIT_LABS[field][1]
        value = float(result.value)
        if result.unit != target:
            analyte = catalogue.analytes[result.analyte_key]
            try:
                value = convert(value, result.unit, target, molar_mass=analyte.molar_mass)
            except UnitError:
                portrait.record_only.append(f"{result.name} ({result.unit}: not convertible)")
                continue
        day = result.collected_at.date()
        stale = (today - day).days > STALE_AFTER_DAYS
        note = f", older than {STALE_AFTER_DAYS} days" if stale else ""
        portrait.put(field, round(value, 4), f"lab {day.isoformat()}{note}")
        if stale:
            portrait.stale.append(field)
    if other:
        portrait.record_only.append(f"{other} other lab value(s) (not inputs of this model)")


def _not_supplied(case: Case, portrait: _Portrait) -> None:
    therapies = case.events.filter(
        kind__in=(TimelineEvent.Kind.SYSTEMIC_THERAPY, TimelineEvent.Kind.RADIOTHERAPY)
    ).count()
    if therapies:
        portrait.record_only.append(
            f"{therapies} treatment(s) given (not prognostic inputs: assigned by indication in "
            "the training cohorts)"
        )


def case_portrait(case: Case, *, portrait_type: str | None) -> dict[str, Any]:
    """The case in the portrait vocabulary, JSON-safe, for the analysis snapshot.

    Args:
        case: the case.
        portrait_type: the validated type the case routes to (decides the AJCC N count rule).

    Returns:
        ``{"values": {field: number}, "sources": {field: words}, "stale": [field],
        "record_only": [words]}``; booleans are 0/1, labs in the units of :data:`PORTRAIT_LABS`.
    """
    today = timezone.localdate()
    portrait = _Portrait()
    _tumour_and_host(case, portrait)
    _nottingham_index(portrait, portrait_type)
    _staging(case, portrait, portrait_type)
    _performance(case, portrait, today)
    _receptors(case, portrait)
    _labs(case, portrait, today)
    _not_supplied(case, portrait)
    return {
        "values": portrait.values,
        "sources": portrait.sources,
        "stale": sorted(portrait.stale),
        "record_only": portrait.record_only,
    }
