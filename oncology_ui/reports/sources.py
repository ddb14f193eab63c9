"""Report sections that later issues fill, behind one small function each.

Each returns an :class:`OptionalSection`; until its issue lands (slides, imaging, labs,
therapy ranking, trials) the section prints a clear "not available" line. An app fills one by
calling :func:`report_source_register` from its ``AppConfig.ready``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from oncology_ui.reports.data import OptionalSection

if TYPE_CHECKING:  # importable without Django set up (the P7 benchmark renders without it)
    from oncology_ui.patients.models import Case

SectionSource = Callable[["Case", bool], OptionalSection]

# Order and titles as printed; the text says what will appear and why it is missing now.
OPTIONAL_SECTIONS: tuple[tuple[str, str, str], ...] = (
    (
        "therapies",
        "Therapy ranking",
        "Not available: therapy ranking is not yet part of this installation.",
    ),
    (
        "trials",
        "Trial matches",
        "Not available: trial matching is not yet part of this installation.",
    ),
    (
        "slide",
        "Slide thumbnail",
        "Not available: no pathology slide image is stored for this case.",
    ),
    ("imaging", "Imaging slice", "Not available: no radiology image is stored for this case."),
    ("labs", "Labs chart", "Not available: no laboratory results are stored for this report."),
)

_SOURCES: dict[str, SectionSource] = {}
_KB_VERSION: list[Callable[[], str]] = []


def report_source_register(name: str, source: SectionSource) -> None:
    if name not in {key for key, _, _ in OPTIONAL_SECTIONS}:
        raise ValueError(f"unknown report section {name!r}")
    _SOURCES[name] = source


def knowledge_base_version_register(reader: Callable[[], str]) -> None:
    _KB_VERSION[:] = [reader]


def knowledge_base_version() -> str:
    return _KB_VERSION[0]() if _KB_VERSION else "not available"


def optional_sections(case: Case, *, deidentified: bool) -> tuple[OptionalSection, ...]:
    sections = []
    for name, title, unavailable in OPTIONAL_SECTIONS:
        source = _SOURCES.get(name)
        section = source(case, deidentified) if source else None
        sections.append(section or OptionalSection(title=title, unavailable=unavailable))
    return tuple(sections)
