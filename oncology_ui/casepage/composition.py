"""How OncoBoard is put together: the case page's sections in order, and the kinds of job.

This is the top of the app graph: it imports every app that contributes a section or a job, and
no app imports it. Each loader takes the request and the case and returns the context of its partial
``section-<name>`` in ``templates/patients/case_detail.html``; the loader lives in the app that
owns the rows it reads.

The other tables that assemble a case are explicit too, each kept where it is used so that the
apps form a layered graph (``tests/test_architecture.py``):

- what a model run reads of a case (clinical facts, labs, molecular data, slides, imaging,
  treatment): :func:`oncology_ui.analysis.adapters.case_snapshot`;
- what a printed report contains: ``REPORT_SOURCES`` in :mod:`oncology_ui.reports.sources`;
- what each role may do: ``CAPABILITIES`` in :mod:`oncology_ui.core.roles`
  (``docs/permissions.md`` is generated from it).

The job table below is the one thing handed down at start-up: the job runner in ``core`` runs
any kind, so :class:`~oncology_ui.casepage.apps.CasePageConfig` installs the table into it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

from oncology_ui.analysis import services as analysis
from oncology_ui.analysis.sections import prognosis_section
from oncology_ui.boards.selectors import board_section
from oncology_ui.clinical import exports as clinical_exports
from oncology_ui.clinical import services as clinical
from oncology_ui.clinical.sections import labs_section, molecular_section
from oncology_ui.core.jobs import JobKind
from oncology_ui.generative import services as generative
from oncology_ui.generative.sections import generative_section
from oncology_ui.imaging import pacs as imaging_pacs
from oncology_ui.imaging import services as imaging
from oncology_ui.imaging.sections import imaging_section
from oncology_ui.notes import services as notes
from oncology_ui.notes.sections import (
    documents_section,
    proposals_waiting_count,
    timeline_documents,
)
from oncology_ui.pathology import services as pathology
from oncology_ui.pathology.jobs import slide_ingest_job
from oncology_ui.pathology.sections import pathology_section
from oncology_ui.patients import services as patients
from oncology_ui.patients.models import Case
from oncology_ui.patients.sections import SectionLoader, summary_section, timeline_section
from oncology_ui.reports import services as reports
from oncology_ui.sitelearn import services as sitelearn
from oncology_ui.therapies.kb import kb_active_version
from oncology_ui.therapies.selectors import therapies_section
from oncology_ui.trials import imports as trial_imports
from oncology_ui.trials import services as trials
from oncology_ui.trials.sections import trials_section


def molecular_with_knowledge_base(request: HttpRequest, case: Case) -> dict[str, Any]:
    """The molecular table with the therapy knowledge base whose CIViC extract and matcher it
    shares. The active version is a row of the therapies app, a layer above clinical, so the two
    are joined here rather than by clinical importing upwards."""
    context = molecular_section(request, case)
    view = context["molecular_view"]
    # Read only when there is evidence to attribute (the case page's query budget).
    view["kb_version"] = kb_active_version() if view["rows"] else ""
    return context


def summary_with_proposals(request: HttpRequest, case: Case) -> dict[str, Any]:
    """The summary, with how many facts read from documents wait for review (notes sits above
    patients, so the two are joined here)."""
    return {**summary_section(request, case), "proposals_waiting": proposals_waiting_count(case)}


def timeline_with_documents(request: HttpRequest, case: Case) -> dict[str, Any]:
    """The timeline's events and the case's documents, in date order."""
    context = timeline_section(request, case)
    entries = [*context["events"], *timeline_documents(case)]
    context["events"] = sorted(entries, key=lambda entry: entry.date)
    return context


@dataclass(frozen=True)
class Section:
    name: str
    title: str
    load: SectionLoader


#: The case page, top to bottom.
CASE_PAGE: tuple[Section, ...] = (
    Section("summary", "Summary", summary_with_proposals),
    Section("timeline", "Timeline", timeline_with_documents),
    Section("documents", "Documents", documents_section),
    Section("pathology", "Pathology", pathology_section),
    Section("imaging", "Imaging", imaging_section),
    Section("labs", "Labs", labs_section),
    Section("molecular", "Molecular", molecular_with_knowledge_base),
    Section("prognosis", "Prognosis", prognosis_section),
    Section("therapies", "Therapies", therapies_section),
    Section("trials", "Clinical trials", trials_section),
    Section("generative", "Generative model", generative_section),
    Section("board", "Tumor board", board_section),
)

CASE_SECTIONS: tuple[str, ...] = tuple(section.name for section in CASE_PAGE)
SECTIONS: dict[str, Section] = {section.name: section for section in CASE_PAGE}

# Rendered with the page; every other section is below the fold and is fetched when revealed, so
# the first response does not wait for slides, models and trials nobody has scrolled to yet.
EAGER_SECTIONS: tuple[str, ...] = ("summary", "timeline")

#: Every kind of background job: the function a worker runs for it, and its name on the page.
JOB_KINDS: dict[str, JobKind] = {
    patients.EXPORT_JOB: JobKind(patients.case_export_run, "Timeline export"),
    pathology.INGEST_JOB: JobKind(slide_ingest_job, "Slide processing"),
    imaging.INGEST_JOB: JobKind(imaging.upload_run, "Imaging upload"),
    imaging_pacs.IMPORT_JOB: JobKind(imaging_pacs.pacs_import_run, "PACS import"),
    clinical.IMPORT_JOB: JobKind(clinical.import_job, "Data import"),
    notes.READ_JOB: JobKind(notes.document_read_job, "Reading a document"),
    clinical_exports.EXPORT_JOB: JobKind(clinical_exports.fhir_export_run, "FHIR export"),
    analysis.ANALYSIS_JOB: JobKind(analysis.analysis_run, "Model analysis"),
    trials.MATCH_JOB: JobKind(trials.trial_match_run, "Trial matching"),
    trials.REVERSE_MATCH_JOB: JobKind(
        trials.trial_reverse_match_run, "Ranking patients for a trial"
    ),
    trial_imports.IMPORT_JOB: JobKind(trial_imports.trial_corpus_import_run, "Trial import"),
    reports.PACKET_JOB: JobKind(reports.packet_run, "Board packet"),
    sitelearn.RECALIBRATION_JOB: JobKind(sitelearn.recalibration_run, "Model recalibration"),
    generative.PROFILE_JOB: JobKind(generative.generative_profile_run, "Generative profile"),
    generative.EXPERIMENT_JOB: JobKind(generative.insilico_experiment_run, "In-silico experiment"),
}
