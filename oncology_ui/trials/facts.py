"""The one adapter from OncoBoard's rows to the engine's ``PatientFacts``.

Only what the record actually says goes in; anything not recorded stays ``None`` (unknown),
which the engine turns into an "unknown" verdict with a resolver. ``CaseFacts`` also lists, in
words, which facts were used and which are missing, for the page and the stored result.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.utils import timezone

from inference.trials.schema import Biomarker, Fact, LabValue, PatientFacts, PriorTherapy
from inference.trials.verdicts import NoteDocument
from oncology_ui.clinical.models import Biomarker as BiomarkerRow
from oncology_ui.clinical.models import ClinicalFact, Variant
from oncology_ui.clinical.selectors import labs_latest
from oncology_ui.notes.models import ClinicalDocument
from oncology_ui.patients.models import Case, Patient, TimelineEvent

#: Clinical catalogue analyte key -> engine analyte key (inference/trials/lexicon.py).
LAB_KEYS = {
    "neutrophils": "anc",
    "platelets": "platelets",
    "hemoglobin": "hemoglobin",
    "wbc": "wbc",
    "creatinine": "creatinine",
    "crcl_cg": "creatinine_clearance",
    "bilirubin": "bilirubin",
    "ast": "ast",
    "alt": "alt",
    "alp": "alkaline_phosphatase",
    "albumin": "albumin",
    "inr": "inr",
}
# Catalogue units (UCUM) the engine's unit table spells differently.
_UNIT_SPELLING = {"10*9/L": "10^9/L", "10*3/uL": "10^3/uL", "{INR}": "ratio"}
# Clinical biomarker statuses -> engine statuses; "equivocal" has no engine meaning and is
# reported as missing instead (a HER2 2+ needs reflex ISH, not a guess).
_MARKER_STATUS = {
    "positive": "positive",
    "negative": "negative",
    "high": "high",
    "low": "low",
    "stable": "low",  # MSS / MSI-L
    "deficient": "positive",  # dMMR
    "proficient": "negative",  # pMMR
}
_BRAIN = re.compile(r"brain|cerebr|intracranial|\bCNS\b|leptomening", re.I)
_LIVER = re.compile(r"liver|hepat", re.I)


@dataclass(frozen=True)
class CaseFacts:
    """The engine's view of a case, with what was used and what is missing, in words."""

    facts: PatientFacts
    used: tuple[str, ...]
    missing: tuple[str, ...]
    therapy_history_complete: bool


def _sex(patient: Patient) -> str | None:
    return patient.sex if patient.sex in {"female", "male"} else None


def _labs(case: Case, used: list[str]) -> tuple[LabValue, ...]:
    labs = []
    for result in labs_latest(case):
        key = LAB_KEYS.get(result.analyte_key)
        if key is None or result.value is None:
            continue
        labs.append(
            LabValue(
                name=key,
                value=float(result.value),
                unit=_UNIT_SPELLING.get(result.unit, result.unit),
                date=result.collected_at.date(),
                source=result.source_label,
                uln=result.ref_high,
            )
        )
        used.append(
            f"{result.name} {result.value:g} {result.unit} ({result.collected_at:%Y-%m-%d})"
        )
    return tuple(labs)


def _markers(case: Case, used: list[str], missing: list[str]) -> tuple[Biomarker, ...]:
    out: list[Biomarker] = []
    rows = list(BiomarkerRow.objects.filter(case=case).select_related("source_import"))
    names = {row.name for row in rows}
    for row in rows:
        status = _MARKER_STATUS.get(row.status)
        if status is None:
            missing.append(f"{row.name} {row.status or row.value_text} (not decisive)")
            continue
        out.append(Biomarker(row.name, status, date=row.measured_on, source=row.source_label))
        used.append(f"{row.name} {row.status}")
        # dMMR and MSI-H are used interchangeably by trial criteria; say where it came from.
        if row.name == "MMR" and "MSI" not in names:
            derived = "high" if row.status == "deficient" else "low"
            out.append(
                Biomarker(
                    "MSI",
                    derived,
                    date=row.measured_on,
                    source=f"from MMR {row.status} ({row.source_label})",
                )
            )
    for variant in (
        Variant.objects.filter(case=case).exclude(gene="").select_related("source_import")
    ):
        if variant.kind == Variant.Kind.MUTATION:
            if variant.protein_short.endswith("="):
                continue  # a silent change is not a mutation for eligibility
            status, detail = "mutated", variant.protein_short or variant.hgvs_c
        elif variant.kind == Variant.Kind.FUSION:
            status, detail = "fusion", variant.partner_gene
        elif variant.copy_number_level is not None and variant.copy_number_level >= 2:
            status, detail = "amplified", ""
        else:
            continue
        out.append(
            Biomarker(
                variant.gene,
                status,
                variant=detail,
                date=variant.reported_on,
                source=variant.source_label,
            )
        )
        used.append(f"{variant.gene} {variant.label}")
    # Genes sequenced without a reported variant are wild type (the panel's region facts).
    altered = {b.name for b in out}
    for fact in ClinicalFact.objects.filter(case=case, kind="genomic_region"):
        for gene in fact.detail.get("genes", []):
            if gene not in altered:
                out.append(Biomarker(gene, "wild-type", date=fact.date, source=fact.source_label))
                altered.add(gene)
    return tuple(out)


def _therapies(case: Case, used: list[str]) -> tuple[PriorTherapy, ...]:
    out = []
    kinds = (
        TimelineEvent.Kind.SYSTEMIC_THERAPY,
        TimelineEvent.Kind.RADIOTHERAPY,
        TimelineEvent.Kind.SURGERY,
    )
    for event in case.events.filter(kind__in=kinds).order_by("date", "id"):
        if event.kind == TimelineEvent.Kind.SYSTEMIC_THERAPY:
            name, line = event.regimen, event.line_number
        elif event.kind == TimelineEvent.Kind.RADIOTHERAPY:
            name, line = "radiotherapy", None
        else:
            name, line = "surgery", None
        out.append(
            PriorTherapy(
                name=name,
                start=event.date,
                end=event.end_date,
                line=line,
                source=f"timeline: {event.label} ({event.date:%Y-%m-%d})",
            )
        )
        used.append(f"{event.label} from {event.date:%Y-%m-%d}")
    return tuple(out)


def _latest_fact(case: Case, kind: str) -> ClinicalFact | None:
    return (
        ClinicalFact.objects.filter(case=case, kind=kind, value_number__isnull=False)
        .order_by("-date", "-id")
        .first()
    )


def _ecog(case: Case, used: list[str]) -> Fact[int] | None:
    candidates: list[Fact[int]] = []
    if case.ecog is not None:
        candidates.append(Fact(int(case.ecog), case.ecog_date, "case record"))
    imported = _latest_fact(case, "ecog")
    if imported is not None and imported.value_number is not None:
        candidates.append(Fact(int(imported.value_number), imported.date, imported.source_label))
    if not candidates:
        return None
    best = max(candidates, key=lambda f: f.date or dt.date.min)
    used.append(f"ECOG {best.value} ({best.date or 'undated'})")
    return best


def _metastases(case: Case, pattern: re.Pattern[str]) -> Fact[bool] | None:
    """True when a recorded secondary cancer names the site; False only when a reviewed
    document says the site is clear ("brain MRI negative", accepted as ``metastasis_absent``)
    and no secondary cancer there is recorded; unrecorded is unknown, not False."""
    for fact in ClinicalFact.objects.filter(case=case, kind="secondary_cancer").order_by("-date"):
        if pattern.search(f"{fact.display} {fact.detail.get('body_site', '')}"):
            return Fact(True, fact.date, fact.source_label)
    for fact in ClinicalFact.objects.filter(case=case, kind="metastasis_absent").order_by("-date"):
        if pattern.search(f"{fact.display} {fact.detail.get('body_site', '')}"):
            return Fact(False, fact.date, fact.source_label)
    return None


def case_facts(case: Case, *, as_of: dt.date | None = None) -> CaseFacts:
    """Build the engine's ``PatientFacts`` for a case from its stored rows.

    1. Demographics and diagnosis from the case (age on ``as_of``, sex, OncoTree, ICD-10, stage).
    2. ECOG: the latest of the case's own value and an imported one; Karnofsky if imported.
    3. Labs: the latest value per analyte the engine knows, with unit, date, source and the
       reported upper limit of normal (never a guessed ULN).
    4. Biomarkers (status), variants (mutated / fusion / amplified) and sequenced genes without
       a variant (wild type).
    5. Prior therapies from the timeline (systemic lines, radiotherapy, surgery). The history
       counts as complete only when at least one systemic line is recorded; otherwise "no prior
       X" stays unknown.
    6. Brain and liver metastases when a secondary cancer names the site, or absent when an
       accepted document fact says the site is clear.
    7. Pregnancy from the latest recorded pregnancy fact (a reviewed note's test result);
       measurable disease and life expectancy are not recorded in OncoBoard, so stay unknown.
    """
    as_of = as_of or timezone.localdate()
    patient = case.patient
    used: list[str] = []
    missing: list[str] = []
    age = patient.age_on(as_of) if patient.date_of_death is None else None
    if age is not None:
        used.append(f"age {age}")
    sex = _sex(patient)
    if sex:
        used.append(f"sex {sex}")
    else:
        missing.append("sex")
    stage: Fact[str] | None = None
    imported_stage = (
        ClinicalFact.objects.filter(case=case, kind="stage_group").order_by("-date", "-id").first()
    )
    if imported_stage is not None and imported_stage.value_text:
        stage = Fact(imported_stage.value_text, imported_stage.date, imported_stage.source_label)
    elif case.stage_group:
        # The case's stage group is the staging at diagnosis; dated so staleness applies.
        stage = Fact(case.stage_group, case.diagnosis_date, "case record (stage at diagnosis)")
    if stage is not None:
        used.append(f"stage {stage.value}")
    else:
        missing.append("stage")
    ecog = _ecog(case, used)
    if ecog is None:
        missing.append("ECOG performance status")
    karnofsky_row = _latest_fact(case, "karnofsky")
    karnofsky = (
        Fact(int(karnofsky_row.value_number), karnofsky_row.date, karnofsky_row.source_label)
        if karnofsky_row is not None and karnofsky_row.value_number is not None
        else None
    )
    labs = _labs(case, used)
    if not labs:
        missing.append("laboratory values")
    markers = _markers(case, used, missing)
    if not markers:
        missing.append("biomarkers and variants")
    therapies = _therapies(case, used)
    complete = any(
        t.line is not None or t.name not in {"radiotherapy", "surgery"} for t in therapies
    )
    if not complete:
        missing.append(
            "systemic therapy history (no line recorded: prior-therapy rules stay unknown)"
        )
    brain = _metastases(case, _BRAIN)
    liver = _metastases(case, _LIVER)
    if brain is None:
        missing.append("brain metastases status")
    pregnancy_row = (
        ClinicalFact.objects.filter(case=case, kind="pregnancy").order_by("-date", "-id").first()
    )
    pregnant: Fact[bool] | None = None
    if pregnancy_row is not None:
        is_pregnant = pregnancy_row.value_text == "pregnant"
        pregnant = Fact(is_pregnant, pregnancy_row.date, pregnancy_row.source_label)
        used.append(f"{pregnancy_row.display} ({pregnancy_row.date or 'undated'})")
    missing.extend(
        ["measurable disease (RECIST)"]
        + ([] if pregnant is not None else ["pregnancy status"])
        + ["life expectancy"]
    )
    comorbidities = tuple(
        ClinicalFact.objects.filter(case=case, kind="comorbidity").values_list("display", flat=True)
    )
    facts = PatientFacts(
        patient_id=f"case:{case.pk}",
        as_of=as_of,
        age_years=float(age) if age is not None else None,
        sex=sex,
        diagnosis_text=" ".join(
            p for p in (case.primary_diagnosis, case.histology, case.oncotree_name) if p
        ),
        oncotree_code=case.oncotree_code,
        icd10_code=case.icd10_code,
        stage=stage,
        ecog=ecog,
        karnofsky=karnofsky,
        labs=labs,
        biomarkers=markers,
        prior_therapies=therapies,
        brain_metastases=brain,
        liver_metastases=liver,
        pregnant=pregnant,
        comorbidities=comorbidities,
    )
    return CaseFacts(facts, tuple(used), tuple(missing), complete)


#: The latest documents read for criteria the facts leave unknown; reading costs about a
#: second of CPU per 500 word pieces the first time, so a long history is capped.
DOCUMENTS_READ_MAX = 12


def case_documents(case: Case, user: User | None) -> tuple[NoteDocument, ...]:
    """The case's documents the user can see, newest first, as the engine's ``NoteDocument``.

    Failed documents (no usable text) are left out. The ``ref`` is ``document:<pk>`` so the page
    can link the cited document. Without a requesting user (deleted account) nothing is read.
    """
    if user is None:
        return ()
    rows = (
        ClinicalDocument.objects.visible_to(user)
        .filter(case=case)
        .exclude(status=ClinicalDocument.Status.FAILED)
        .order_by("-document_date", "-id")[:DOCUMENTS_READ_MAX]
    )
    return tuple(
        NoteDocument(
            ref=f"document:{d.pk}",
            title=d.title,
            kind=d.get_kind_display(),
            date=d.document_date,
            text=d.text,
        )
        for d in rows
        if d.text.strip()
    )
