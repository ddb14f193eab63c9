"""The case page's sections and the data each one needs.

Later capabilities (slides, imaging, labs, molecular data, the model, therapies, trials, the
board) fill their section by adding to :data:`SECTION_LOADERS`; until then a section shows an
empty state that says what will appear there and how to get it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.db.models import prefetch_related_objects
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from oncology_ui.core.models import Job
from oncology_ui.patients.forms import TimelineEventForm
from oncology_ui.patients.models import Case, TimelineEvent

CASE_SECTIONS: tuple[str, ...] = (
    "summary",
    "timeline",
    "pathology",
    "imaging",
    "labs",
    "molecular",
    "prognosis",
    "therapies",
    "trials",
    "board",
)

SECTION_TITLES: dict[str, str] = {
    "summary": "Summary",
    "timeline": "Timeline",
    "pathology": "Pathology",
    "imaging": "Imaging",
    "labs": "Labs",
    "molecular": "Molecular",
    "prognosis": "Prognosis",
    "therapies": "Therapies",
    "trials": "Clinical trials",
    "board": "Tumor board",
}

# Rendered with the page; every other section is below the fold and is fetched when revealed, so
# the first response does not wait for slides, models and trials nobody has scrolled to yet.
EAGER_SECTIONS: tuple[str, ...] = ("summary", "timeline")

SectionLoader = Callable[[HttpRequest, Case], dict[str, Any]]


def _events(case: Case) -> list[TimelineEvent]:
    """The case's events, read once per request however many sections ask for them."""
    if "events" not in getattr(case, "_prefetched_objects_cache", {}):
        prefetch_related_objects([case], "events")
    return list(case.events.all())


def _timeline(request: HttpRequest, case: Case) -> dict[str, Any]:
    exports = Job.objects.filter(
        kind="case_timeline_export", target_model="patients.case", target_id=case.pk
    ).order_by("-created_at")[:3]
    return {
        "events": _events(case),
        "exports": list(exports),
        "event_form": TimelineEventForm(),
        "can_add_event": request.user.has_perm("patients.add_timelineevent"),
        "can_export": request.user.has_perm("patients.export_case"),
    }


def _summary(request: HttpRequest, case: Case) -> dict[str, Any]:
    lines = sum(1 for event in _events(case) if event.kind == TimelineEvent.Kind.SYSTEMIC_THERAPY)
    return {"therapy_lines": lines, "can_edit": request.user.has_perm("patients.change_case")}


SECTION_LOADERS: dict[str, SectionLoader] = {
    "summary": _summary,
    "timeline": _timeline,
}


def section_register(name: str, loader: SectionLoader) -> None:
    """Let another app fill a case-page section (called from its ``AppConfig.ready``)."""
    if name not in CASE_SECTIONS:
        raise ValueError(f"unknown case section {name!r}")
    SECTION_LOADERS[name] = loader


def section_page_context(
    request: HttpRequest, case: Case, *, opened: str | None = None, every: bool = False
) -> dict[str, Any]:
    """The whole case page: the sections above the fold and ``opened`` filled, the rest deferred.

    Deferred sections are placeholders that fetch themselves when scrolled into view (htmx
    ``revealed``) and link to their own page for browsers without JavaScript. With ``every``
    all sections are filled: the page a tumor board prints, where nothing is scrolled into view.
    """
    if every:
        rendered: tuple[str, ...] = tuple(CASE_SECTIONS)
    else:
        extra = (opened,) if opened and opened not in EAGER_SECTIONS else ()
        rendered = (*EAGER_SECTIONS, *extra)
    context = section_context(request, case, rendered)
    context.update(
        {
            "sections": CASE_SECTIONS,
            "section_items": [(name, SECTION_TITLES[name]) for name in CASE_SECTIONS],
            "deferred_sections": frozenset(CASE_SECTIONS) - frozenset(rendered),
        }
    )
    return context


def section_context(request: HttpRequest, case: Case, sections: Iterable[str]) -> dict[str, Any]:
    context: dict[str, Any] = {"section_titles": SECTION_TITLES}
    for name in sections:
        loader = SECTION_LOADERS.get(name)
        if loader is not None:
            context.update(loader(request, case))
    return context


def section_response(
    request: HttpRequest,
    case: Case,
    name: str,
    extra: dict[str, Any] | None = None,
    *,
    status: int = 200,
) -> HttpResponse:
    """One case-page section, rendered alone: what an htmx action on that section swaps in."""
    context = section_context(request, case, (name,))
    context.update({"case": case, "patient": case.patient, **(extra or {})})
    return render(request, f"patients/case_detail.html#section-{name}", context, status=status)
