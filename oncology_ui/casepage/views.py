"""The case page: every section of :mod:`oncology_ui.casepage.composition` on one canvas."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from oncology_ui.casepage.composition import CASE_PAGE, EAGER_SECTIONS, SECTIONS
from oncology_ui.core.audit import audit_case
from oncology_ui.core.http import AuthedRequest
from oncology_ui.core.models import AccessLog
from oncology_ui.patients.access import case_for_user
from oncology_ui.patients.forms import StatusForm
from oncology_ui.patients.models import Case


def sections_context(request: HttpRequest, case: Case, names: Iterable[str]) -> dict[str, Any]:
    """The context of the named sections, each filled by its loader."""
    context: dict[str, Any] = {}
    for name in names:
        context.update(SECTIONS[name].load(request, case))
    return context


def case_page_context(
    request: HttpRequest, case: Case, *, opened: str | None = None, every: bool = False
) -> dict[str, Any]:
    """The whole case page: the sections above the fold and ``opened`` filled, the rest deferred.

    Deferred sections are placeholders that fetch themselves when scrolled into view (htmx
    ``revealed``) and link to their own page for browsers without JavaScript. With ``every``
    all sections are filled: the page a tumor board prints, where nothing is scrolled into view.
    """
    names = tuple(section.name for section in CASE_PAGE)
    if every:
        rendered = names
    else:
        extra = (opened,) if opened and opened not in EAGER_SECTIONS else ()
        rendered = (*EAGER_SECTIONS, *extra)
    context = sections_context(request, case, rendered)
    context.update(
        {
            "sections": names,
            "section_items": [(section.name, section.title) for section in CASE_PAGE],
            "deferred_sections": frozenset(names) - frozenset(rendered),
            "case": case,
            "patient": case.patient,
            "status_form": StatusForm(initial={"status": case.status}),
        }
    )
    return context


def _audit_view(request: AuthedRequest, case: Case, category: str) -> None:
    audit_case(request=request, action=AccessLog.Action.VIEW, category=category, case=case)


@login_required
@require_http_methods(["GET"])
def case_detail(request: AuthedRequest, case_id: int) -> HttpResponse:
    """The case canvas: every section, each also reachable as its own htmx partial.

    ``?view=print`` fills every section at once (none is deferred), for printing the case.
    """
    case = case_for_user(request, case_id)
    for_print = request.GET.get("view") == "print"
    _audit_view(request, case, "case")
    context = case_page_context(request, case, every=for_print)
    context["for_print"] = for_print
    return render(request, "patients/case_detail.html", context)


@login_required
@require_http_methods(["GET"])
def case_section(request: AuthedRequest, case_id: int, section: str) -> HttpResponse:
    """One section: the htmx partial a deferred placeholder fetches, or the page with it open."""
    if section not in SECTIONS:
        raise Http404("No such section")
    case = case_for_user(request, case_id)
    _audit_view(request, case, section)
    if request.htmx:
        context = sections_context(request, case, (section,))
        context.update(
            {
                "case": case,
                "patient": case.patient,
                "status_form": StatusForm(initial={"status": case.status}),
            }
        )
        return render(request, f"patients/case_detail.html#section-{section}", context)
    # The no-JavaScript link of a deferred section: the page with this section open.
    return render(
        request, "patients/case_detail.html", case_page_context(request, case, opened=section)
    )
