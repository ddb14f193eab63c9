"""Synthetic clinical notes and pathology reports for three demo patients, read on seeding.

The documents are written for the demo (no real patient, no real report): each restates what the
public research record gives for that demo patient (diagnosis, receptor status, the genes the
record names, the treatments and their dates on the timeline) and adds illustrative values the
record does not have (ECOG, percentages, a stage where TCGA gives none, a family history). The
header of every document says so. They are stored and read through the notes service like any
pasted document, and their facts are left waiting in the review queue: the first thing a demo user
sees on these cases is what the reader proposed, with its negated, historical and family facts
flagged, and nothing of it used until someone accepts it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from oncology_ui.core.jobs import job_run
from oncology_ui.notes.models import ClinicalDocument
from oncology_ui.notes.services import document_receive
from oncology_ui.patients.models import Case, TimelineEvent

logger = logging.getLogger(__name__)

HEADER = (
    "SYNTHETIC DEMO DOCUMENT. Written for the OncoBoard demo; this is not a real patient's "
    "record. It restates the public research record of this demo patient and adds illustrative "
    "values that are not in that record.\n\n"
)


@dataclass(frozen=True)
class DemoDocument:
    kind: str
    title: str
    author: str
    on: date
    text: str


def _month(day: date) -> str:
    return f"{day:%m/%Y}"


def _first(case: Case, kind: str) -> date | None:
    event = case.events.filter(kind=kind).order_by("date").first()
    return event.date if event else None


def _last_contact(case: Case) -> date:
    """The newest event of the case (follow-up or death), never after today."""
    last = case.events.order_by("-date").first()
    day = last.date if last else case.diagnosis_date
    return min(day, timezone.localdate())


def _after_diagnosis(case: Case, days: int) -> date:
    return min(case.diagnosis_date + timedelta(days=days), _last_contact(case))


def _breast(case: Case) -> list[DemoDocument]:
    """DEMO-0001: METABRIC, ER positive, HER2 copy-number neutral, postmenopausal, one positive
    node; breast-conserving surgery, radiotherapy and endocrine therapy on the timeline."""
    surgery = _first(case, TimelineEvent.Kind.SURGERY) or case.diagnosis_date
    radiotherapy = _first(case, TimelineEvent.Kind.RADIOTHERAPY)
    pathology = (
        "SURGICAL PATHOLOGY REPORT\n\n"
        "Specimen:\nBreast, wide local excision, and sentinel lymph nodes.\n\n"
        "Diagnosis:\nInvasive ductal carcinoma of the breast, Nottingham grade 2, 21 mm.\n"
        "One of three sentinel lymph nodes positive (macrometastasis). Margins clear.\n\n"
        "Receptors:\nER 95% strong, PR 40% moderate. HER2 1+ by IHC.\n\n"
        "Staging:\npT2 pN1a cM0.\n"
    )
    radiotherapy_line = (
        f"Radiotherapy to the breast from {_month(radiotherapy)}. " if radiotherapy else ""
    )
    clinic = (
        "BREAST ONCOLOGY CLINIC NOTE\n\n"
        "History of present illness:\n"
        "Postmenopausal woman with ER-positive, HER2-negative invasive ductal carcinoma. "
        "Tumour sequencing: PIK3CA E545K. No ESR1 mutation detected. Doing well on endocrine "
        "therapy, no new symptoms.\n\n"
        "Oncologic history:\n"
        f"Wide local excision with sentinel node biopsy in {_month(surgery)}. "
        f"{radiotherapy_line}Endocrine therapy since then (agent not recorded).\n\n"
        "Past medical history:\nHypertension. Osteopenia.\n\n"
        "Family history:\nMother had breast cancer at 61. Sister carries a BRCA2 mutation.\n\n"
        "Assessment:\nECOG 0. No evidence of liver metastases. Germline testing: no BRCA1 or "
        "BRCA2 variant detected.\n\n"
        "Plan:\nContinue endocrine therapy. Consider alpelisib if progression.\n"
    )
    return [
        DemoDocument(
            ClinicalDocument.Kind.PATHOLOGY,
            "Breast excision and sentinel nodes (synthetic)",
            "Demo pathologist (synthetic)",
            min(surgery + timedelta(days=7), _last_contact(case)),
            HEADER + pathology,
        ),
        DemoDocument(
            ClinicalDocument.Kind.CLINICAL_NOTE,
            "Breast oncology follow-up (synthetic)",
            "Demo oncologist (synthetic)",
            _last_contact(case),
            HEADER + clinic,
        ),
    ]


def _lung(case: Case) -> list[DemoDocument]:
    """DEMO-0009: TCGA lung adenocarcinoma whose gene panel flags KRAS (no protein change)."""
    pathology = (
        "PATHOLOGY REPORT, BRONCHOSCOPIC BIOPSY\n\n"
        "Diagnosis:\nLung adenocarcinoma of the right upper lobe, acinar predominant.\n"
        "TTF-1 positive.\n\n"
        "Molecular (tissue NGS):\nKRAS mutation detected; the public record names the gene only, "
        "so no protein change is given. No EGFR mutation detected. No ALK rearrangement or ROS1 "
        "fusion identified. PD-L1 TPS 20%.\n"
    )
    clinic = (
        "THORACIC ONCOLOGY CLINIC NOTE\n\n"
        "History of present illness:\n"
        "Man with lung adenocarcinoma, referred for treatment planning. Cough, no weight loss.\n\n"
        "Staging:\ncT2a cN0 cM0, stage IB. No brain metastases on MRI.\n\n"
        "Past medical history:\nCOPD. Former smoker, 40 pack-years.\n\n"
        "Family history:\nFather had lung cancer. Brother with colorectal adenocarcinoma.\n\n"
        "Assessment:\nECOG 1. Creatinine 88 umol/L, haemoglobin 13.1 g/dL.\n\n"
        "Plan:\nDiscuss lobectomy at the tumor board; rule out mediastinal nodal disease by "
        "EBUS first.\n"
    )
    return [
        DemoDocument(
            ClinicalDocument.Kind.PATHOLOGY,
            "Bronchoscopic biopsy with NGS (synthetic)",
            "Demo pathologist (synthetic)",
            _after_diagnosis(case, 3),
            HEADER + pathology,
        ),
        DemoDocument(
            ClinicalDocument.Kind.CLINICAL_NOTE,
            "Thoracic oncology first visit (synthetic)",
            "Demo oncologist (synthetic)",
            _after_diagnosis(case, 14),
            HEADER + clinic,
        ),
    ]


def _colon(case: Case) -> list[DemoDocument]:
    """DEMO-0012: TCGA colon adenocarcinoma, stage IV, whose panel flags APC and TP53."""
    pathology = (
        "SURGICAL PATHOLOGY REPORT\n\n"
        "Diagnosis:\nAdenocarcinoma of the sigmoid colon, moderately differentiated.\n"
        "Mismatch repair proteins: MLH1, PMS2, MSH2 and MSH6 retained; pMMR.\n\n"
        "Molecular:\nAPC and TP53 mutations detected (the public record names the genes only). "
        "BRAF V600E not detected.\n\n"
        "Staging:\npT3 pN1b, stage IV with liver metastases.\n"
    )
    clinic = (
        "GI ONCOLOGY CLINIC NOTE\n\n"
        "History of present illness:\n"
        "Man with metastatic colon adenocarcinoma and liver metastases. No lung metastases on "
        "CT.\n\n"
        "Past medical history:\nType 2 diabetes mellitus.\n\n"
        "Family history:\nMother had colon cancer at 70.\n\n"
        "Assessment:\nECOG 1. CEA 48 ug/L.\n\n"
        "Plan:\nPlan to start FOLFOX; RAS testing pending.\n"
    )
    return [
        DemoDocument(
            ClinicalDocument.Kind.PATHOLOGY,
            "Sigmoid colectomy (synthetic)",
            "Demo pathologist (synthetic)",
            _after_diagnosis(case, 10),
            HEADER + pathology,
        ),
        DemoDocument(
            ClinicalDocument.Kind.CLINICAL_NOTE,
            "GI oncology visit (synthetic)",
            "Demo oncologist (synthetic)",
            _after_diagnosis(case, 30),
            HEADER + clinic,
        ),
    ]


#: Demo MRN -> the documents written for it.
DEMO_NOTES: dict[str, Callable[[Case], list[DemoDocument]]] = {
    "DEMO-0001": _breast,
    "DEMO-0009": _lung,
    "DEMO-0012": _colon,
}


def demo_notes_seed(*, mrns: list[str], author: User, site: str = "demo") -> int:
    """Store and read the synthetic documents of the newly created demo patients ``mrns``.

    Each reading job runs here, synchronously (the dispatch after commit finds it finished); its
    proposals stay waiting for review. Returns the number of documents read.
    """
    done = 0
    for mrn in mrns:
        build = DEMO_NOTES.get(mrn)
        case = Case.objects.filter(patient__site=site, patient__mrn=mrn).first()
        if build is None or case is None:
            continue
        for item in build(case):
            with transaction.atomic():
                document = document_receive(
                    case=case,
                    user=author,
                    kind=item.kind,
                    title=item.title,
                    author=item.author,
                    document_date=item.on,
                    text=item.text,
                )
                if document.job is not None and job_run(document.job.pk) == "succeeded":
                    done += 1
                else:
                    logger.warning("demo document %s of %s was not read", item.title, mrn)
    return done
