"""The patients app's own case-page sections (summary, timeline) and how any section is rendered.

A section loader takes the request and the case and returns the context its partial in
``patients/case_detail.html`` reads. Which sections the case page shows, in which order, is
decided in :mod:`oncology_ui.casepage.composition`, not here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import prefetch_related_objects
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from oncology_ui.core.models import Job
from oncology_ui.patients.forms import TimelineEventForm
from oncology_ui.patients.models import Case, TimelineEvent

SectionLoader = Callable[[HttpRequest, Case], dict[str, Any]]


def _events(case: Case) -> list[TimelineEvent]:
    """The case's events, read once per request however many sections ask for them."""
    if "events" not in getattr(case, "_prefetched_objects_cache", {}):
        prefetch_related_objects([case], "events")
    return list(case.events.all())


def timeline_section(request: HttpRequest, case: Case) -> dict[str, Any]:
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


#: The loader the case page composes its timeline with: events, plus the dated rows of apps above
#: patients (documents). The case page installs it at start-up (``casepage.apps``), so a
#: timeline edit swaps in the same rows the page shows, without patients importing upwards.
_TIMELINE_LOADER: dict[str, SectionLoader] = {}


def timeline_loader_install(loader: SectionLoader) -> None:
    _TIMELINE_LOADER["timeline"] = loader


def timeline_composed(request: HttpRequest, case: Case) -> dict[str, Any]:
    """The timeline as the case page shows it (events only if no loader is installed)."""
    return _TIMELINE_LOADER.get("timeline", timeline_section)(request, case)


def summary_section(request: HttpRequest, case: Case) -> dict[str, Any]:
    lines = sum(1 for event in _events(case) if event.kind == TimelineEvent.Kind.SYSTEMIC_THERAPY)
    return {"therapy_lines": lines, "can_edit": request.user.has_perm("patients.change_case")}


def section_response(
    request: HttpRequest,
    case: Case,
    name: str,
    loader: SectionLoader,
    extra: dict[str, Any] | None = None,
    *,
    status: int = 200,
) -> HttpResponse:
    """One case-page section, rendered alone: what an htmx action on that section swaps in.

    Args:
        name: the section's partial (``section-<name>`` in ``patients/case_detail.html``).
        loader: the section's loader, from the app that owns the section.
        extra: context on top of the loader's (a form with errors, for example).
    """
    context = {**loader(request, case), "case": case, "patient": case.patient, **(extra or {})}
    return render(request, f"patients/case_detail.html#section-{name}", context, status=status)
