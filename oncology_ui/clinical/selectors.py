"""Reads of imported facts: the labs table and trend charts, the molecular table, model inputs."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from oncology_ui.clinical.diseases import DISEASE_RELATION_ORDER, civic_disease_relation
from oncology_ui.clinical.models import (
    Biomarker,
    ClinicalFact,
    ClinicalImport,
    LabResult,
    Variant,
    VariantEvidence,
)
from oncology_ui.clinical.parsers.annotate import civic_release
from oncology_ui.clinical.parsers.catalogue import load_catalogue
from oncology_ui.clinical.parsers.units import convert
from oncology_ui.clinical.parsers.variants import is_non_coding
from oncology_ui.patients.models import Case, TimelineEvent

#: Lab values older than this (days) are reported as stale to the model adapter.
STALE_AFTER_DAYS = 90
#: Analytes the shipped model knows (SUPPORT cohort), under its feature names and in the units it
#: was trained on; every other analyte keeps its catalogue key and unit. ``inference/schema.py``
#: carries no units, so ``extra_clinical["lab_units"]`` says the unit of every value sent.
MODEL_LAB_FEATURES: dict[str, tuple[str, str]] = {
    "wbc": ("white_blood_cells", "10*9/L"),
    "creatinine": ("creatinine", "mg/dL"),
    "sodium": ("sodium", "mmol/L"),
    "heart_rate": ("heart_rate", "/min"),
    "respiratory_rate": ("respiration_rate", "/min"),
    "temperature": ("temperature", "Cel"),
    "mean_blood_pressure": ("mean_blood_pressure", "mm[Hg]"),
}
_W, _H, _PAD_X, _PAD_Y = 320.0, 130.0, 34.0, 16.0


def lab_results(case: Case) -> QuerySet[LabResult]:
    return LabResult.objects.filter(case=case).select_related("source_import")


def _latest_per_analyte(newest_first: Iterable[LabResult]) -> list[LabResult]:
    latest: dict[str, LabResult] = {}
    for result in newest_first:
        latest.setdefault(result.analyte_key or result.loinc or result.name, result)
    return sorted(latest.values(), key=lambda r: (r.category, r.name))


def labs_latest(case: Case) -> list[LabResult]:
    """The latest result of each analyte (or unnamed LOINC/name), most recent first."""
    return _latest_per_analyte(lab_results(case).order_by("-collected_at", "-id"))


def therapy_line_starts(case: Case) -> list[tuple[date, str]]:
    return [
        (event.date, f"L{event.line_number}" if event.line_number else "Rx")
        for event in case.events.filter(kind=TimelineEvent.Kind.SYSTEMIC_THERAPY).order_by("date")
    ]


def trend_chart(results: list[LabResult], lines: list[tuple[date, str]]) -> dict[str, Any]:
    """SVG coordinates for one analyte over time: points, reference band, therapy-line starts.

    ``results`` are one analyte's numeric values in any order; drawn on the server, so the page
    needs no chart script and the CSP no inline style.
    """
    points = sorted((r for r in results if r.value is not None), key=lambda r: r.collected_at)
    days = [r.collected_at.date() for r in points]
    first, last = min(days), max(days)
    if first == last:
        first, last = (
            date.fromordinal(first.toordinal() - 15),
            date.fromordinal(last.toordinal() + 15),
        )
    values = [r.value for r in points if r.value is not None]
    low = next((r.ref_low for r in reversed(points) if r.ref_low is not None), None)
    high = next((r.ref_high for r in reversed(points) if r.ref_high is not None), None)
    bottom_value = min([*values, *(v for v in (low, high) if v is not None)])
    top_value = max([*values, *(v for v in (low, high) if v is not None)])
    if top_value == bottom_value:
        top_value, bottom_value = top_value + 1, bottom_value - 1
    span_value = top_value - bottom_value
    top_value += span_value * 0.08
    lowest = bottom_value
    bottom_value -= span_value * 0.08
    if lowest >= 0 > bottom_value:
        bottom_value = 0.0  # lab values are not negative: the axis starts at zero
    span_days = (last - first).days

    def x(day: date) -> float:
        return round(_PAD_X + (day - first).days / span_days * (_W - 2 * _PAD_X), 1)

    def y(value: float) -> float:
        return round(
            _H - _PAD_Y - (value - bottom_value) / (top_value - bottom_value) * (_H - 2 * _PAD_Y), 1
        )

    band = None
    if low is not None or high is not None:
        band_top = y(high) if high is not None else _PAD_Y
        band_bottom = y(low) if low is not None else _H - _PAD_Y
        band = {
            "x": _PAD_X,
            "y": band_top,
            "width": _W - 2 * _PAD_X,
            "height": round(max(band_bottom - band_top, 0.5), 1),
        }
    dots = [
        {
            "x": x(r.collected_at.date()),
            "y": y(r.value),
            "flag": r.flag,
            "label": f"{r.collected_at:%Y-%m-%d}: {r.value:g} {r.unit_display}",
        }
        for r in points
        if r.value is not None
    ]
    markers = [
        {"x": x(day), "label": label, "title": f"{label} starts {day:%Y-%m-%d}"}
        for day, label in lines
        if first <= day <= last
    ]
    return {
        "width": _W,
        "height": _H,
        "line": " ".join(f"{d['x']},{d['y']}" for d in dots),
        "dots": dots,
        "band": band,
        "markers": markers,
        "left": _PAD_X,
        "right": _W - _PAD_X,
        "top": _PAD_Y,
        "bottom": _H - _PAD_Y,
        "first": first,
        "last": last,
        "top_label": f"{top_value:.3g}",
        "bottom_label": f"{bottom_value:.3g}",
    }


def labs_view(case: Case, *, analyte: str = "") -> dict[str, Any]:
    """Everything the labs section shows: latest values, trends (two or more points), imports."""
    # One read of the case's results serves both the latest values and the trends.
    results = list(lab_results(case).order_by("collected_at", "id"))
    latest = _latest_per_analyte(reversed(results))
    series: dict[str, list[LabResult]] = {}
    for result in results:
        if result.value is not None:
            series.setdefault(result.analyte_key or result.loinc or result.name, []).append(result)
    lines: list[tuple[date, str]] | None = None  # read only when a chart needs the markers
    charts = []
    for result in latest:
        key = result.analyte_key or result.loinc or result.name
        history = series.get(key, [])
        if analyte and key != analyte:
            continue
        if len(history) >= 2 or (analyte and history):
            if lines is None:
                lines = therapy_line_starts(case)
            charts.append(
                {
                    "key": key,
                    "name": result.name,
                    "unit": result.unit_display,
                    "chart": trend_chart(history, lines),
                }
            )
    return {
        "latest": latest,
        "charts": charts,
        "analyte": analyte,
        "imports": ClinicalImport.objects.filter(
            case=case, kind__in=[ClinicalImport.Kind.LAB_CSV, ClinicalImport.Kind.FHIR]
        ).select_related("job")[:5],
        "count": len(latest),
    }


@dataclass(frozen=True)
class MolecularFilters:
    gene: str = ""
    kind: str = ""
    actionable_only: bool = False


@dataclass(frozen=True)
class CivicRow:
    """A CIViC item of a variant with how its disease relates to the patient's cancer."""

    item: VariantEvidence
    relation: str  # same | narrower | pan-cancer | other | unmapped

    @property
    def in_this_cancer(self) -> bool:
        return self.relation in {"same", "narrower"}


_MATCH_ORDER = {"exact": 0, "codon": 1, "class": 2, "gene": 3}


def _civic_rows(evidence: list[VariantEvidence], relation: Callable[[str], str]) -> list[CivicRow]:
    """The patient's own disease first; then every other item, pan-cancer before another
    cancer at the same level. Within each group the most specific match and best level first."""
    rows = [CivicRow(e, relation(e.disease)) for e in evidence if e.source == "civic"]
    return sorted(
        rows,
        key=lambda r: (
            not r.in_this_cancer,
            _MATCH_ORDER.get(r.item.match, 9),
            r.item.level,
            DISEASE_RELATION_ORDER.get(r.relation, 9),
            int(r.item.evidence_id) if r.item.evidence_id.isdigit() else 0,
        ),
    )


def _best(rows: list[CivicRow]) -> CivicRow | None:
    """The actionability shown first: a predictive item that supports its statement, matched
    beyond the gene, in the patient's own disease when there is one (a level D item in breast
    cancer leads over a level B item in lung cancer); else the best level of any other cancer,
    pan-cancer first, labelled as such on the page."""
    candidates = [
        r
        for r in rows
        if r.item.evidence_type == "Predictive"
        and r.item.direction == "Supports"
        and r.item.match != "gene"
    ]
    if not candidates:
        return None
    return min(
        candidates,
        key=lambda r: (
            not r.in_this_cancer,
            r.item.level,
            DISEASE_RELATION_ORDER.get(r.relation, 9),
            _MATCH_ORDER.get(r.item.match, 9),
        ),
    )


def molecular_view(case: Case, filters: MolecularFilters | None = None) -> dict[str, Any]:
    """The molecular table: each variant with its CIViC evidence, the patient's disease first.

    The evidence is the therapy knowledge base's CIViC extract through the ranking's matcher;
    ``kb_version`` and ``civic_release`` name them as the therapy section does.
    """
    filters = filters or MolecularFilters()
    variants = (
        Variant.objects.filter(case=case)
        .select_related("source_import")
        .prefetch_related(
            Prefetch(
                "evidence",
                queryset=VariantEvidence.objects.order_by("source", "match", "level", "id"),
            )
        )
    )
    if filters.gene:
        variants = variants.filter(gene__iexact=filters.gene.strip())
    if filters.kind:
        variants = variants.filter(kind=filters.kind)
    if filters.actionable_only:
        variants = variants.exclude(best_level="")
    relation = civic_disease_relation(case.oncotree_code)
    rows = []
    for variant in variants:
        evidence = list(variant.evidence.all())
        civic = _civic_rows(evidence, relation)
        rows.append(
            {
                "variant": variant,
                "best": _best(civic),
                "civic": civic[:8],
                "civic_count": len(civic),
                "civic_here": sum(1 for r in civic if r.in_this_cancer),
                "oncoref": [e for e in evidence if e.source == "oncoref"][:5],
            }
        )
    return {
        "rows": rows,
        "civic_release": civic_release(),
        "biomarkers": list(Biomarker.objects.filter(case=case).select_related("source_import")),
        "filters": filters,
        "kinds": Variant.Kind.choices,
        "imports": ClinicalImport.objects.filter(
            case=case,
            kind__in=[
                ClinicalImport.Kind.VCF,
                ClinicalImport.Kind.MAF,
                ClinicalImport.Kind.VARIANT_CSV,
                ClinicalImport.Kind.FHIR,
                ClinicalImport.Kind.EXPRESSION,
            ],
        ).select_related("job")[:5],
        # Without filters the rows are all the variants: no second query for the total.
        "total": len(rows)
        if filters == MolecularFilters()
        else Variant.objects.filter(case=case).count(),
    }


def clinical_model_inputs(case: Case) -> dict[str, Any]:
    """Model inputs from imported facts, JSON-safe, for ``analysis/adapters.py``.

    Returns:
        ``{"labs": {"values": {name: value}} | None,
        "molecular": {"mutations": {GENE: 1|0}, "copy_number": {GENE: -2..2}, "expression": {}}
        | None, "extra_clinical": {...}}``. Lab values are the latest per analyte, named and
        converted as in :data:`MODEL_LAB_FEATURES` for the analytes the model knows and by
        catalogue key and unit otherwise; ``extra_clinical`` carries each value's unit, date and
        staleness, performance status, stage and biomarker statuses. Genes named in a genomic
        region studied without a variant count as wild type (0).
    """
    today = timezone.localdate()
    catalogue = load_catalogue()
    values: dict[str, float] = {}
    units: dict[str, str] = {}
    lab_dates: dict[str, str] = {}
    stale: list[str] = []
    for result in labs_latest(case):
        if result.value is None or not result.analyte_key:
            continue
        name, unit = MODEL_LAB_FEATURES.get(result.analyte_key, (result.analyte_key, result.unit))
        value = float(result.value)
        if unit != result.unit:
            analyte = catalogue.analytes[result.analyte_key]
            value = convert(value, result.unit, unit, molar_mass=analyte.molar_mass)
        values[name] = round(value, 6)
        units[name] = unit
        day = result.collected_at.date()
        lab_dates[name] = day.isoformat()
        if (today - day).days > STALE_AFTER_DAYS:
            stale.append(name)
    mutations: dict[str, float] = {}
    copy_number: dict[str, float] = {}
    for variant in Variant.objects.filter(case=case).exclude(gene=""):
        if variant.kind == Variant.Kind.MUTATION and variant.origin == "somatic":
            silent = variant.protein_short.endswith("=") or is_non_coding(variant.consequence)
            mutations[variant.gene] = max(mutations.get(variant.gene, 0.0), 0.0 if silent else 1.0)
        elif variant.kind == Variant.Kind.COPY_NUMBER and variant.copy_number_level is not None:
            current = copy_number.get(variant.gene, 0.0)
            level = float(variant.copy_number_level)
            copy_number[variant.gene] = level if abs(level) > abs(current) else current
    for fact in ClinicalFact.objects.filter(case=case, kind="genomic_region"):
        for gene in fact.detail.get("genes", []):
            mutations.setdefault(gene, 0.0)
    facts = {
        kind: ClinicalFact.objects.filter(case=case, kind=kind, value_number__isnull=False)
        .order_by("-date", "-id")
        .first()
        for kind in ("ecog", "karnofsky")
    }
    stage = (
        ClinicalFact.objects.filter(case=case, kind="stage_group").order_by("-date", "-id").first()
    )
    biomarkers: dict[str, dict[str, Any]] = {}
    for marker in Biomarker.objects.filter(case=case).order_by("measured_on", "id"):
        biomarkers[marker.name] = {
            "status": marker.status,
            "value": marker.value_number,
            "method": marker.method,
            "date": marker.measured_on.isoformat() if marker.measured_on else None,
        }
    extra: dict[str, Any] = {
        "lab_units": units,
        "lab_dates": lab_dates,
        "labs_stale": sorted(stale),
        "stale_after_days": STALE_AFTER_DAYS,
        "biomarkers": biomarkers,
    }
    for kind, status in facts.items():
        if status is not None and status.value_number is not None:
            extra[kind] = status.value_number
            extra[f"{kind}_date"] = status.date.isoformat() if status.date else None
    if stage is not None:
        extra["stage_group"] = stage.value_text
    return {
        "labs": {"values": values} if values else None,
        "molecular": {"mutations": mutations, "copy_number": copy_number, "expression": {}}
        if (mutations or copy_number)
        else None,
        "extra_clinical": extra,
    }
