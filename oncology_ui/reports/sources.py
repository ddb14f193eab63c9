"""The optional sections of the printed case report, in print order, and where each comes from.

Each source reads the stored rows of one part of the record and returns an
:class:`OptionalSection`: lines, a chart or an image, or a "Not available" line that says why
(no ranking run yet, no processed slide, no contoured lesion, no lab results).
"""

from __future__ import annotations

from collections.abc import Callable

from oncology_ui.patients.models import Case
from oncology_ui.reports.data import OptionalSection
from oncology_ui.reports.generative import generative_report_section
from oncology_ui.reports.imaging import imaging_report_section
from oncology_ui.reports.labs import labs_report_section
from oncology_ui.reports.slides import slide_report_section
from oncology_ui.reports.therapies import therapies_report_section
from oncology_ui.reports.trials import trials_report_source
from oncology_ui.therapies.kb import kb_active_version

SectionSource = Callable[[Case, bool], OptionalSection]

#: The report's optional sections, top to bottom; each is given the case and ``deidentified``.
REPORT_SOURCES: tuple[SectionSource, ...] = (
    therapies_report_section,
    trials_report_source,
    generative_report_section,
    slide_report_section,
    imaging_report_section,
    labs_report_section,
)


def knowledge_base_version() -> str:
    """The therapy knowledge base the report names (``not available`` before one is loaded)."""
    return kb_active_version()


def optional_sections(case: Case, *, deidentified: bool) -> tuple[OptionalSection, ...]:
    return tuple(source(case, deidentified) for source in REPORT_SOURCES)
