"""Request type for views behind ``login_required`` and the htmx middleware, and the htmx reply."""

from __future__ import annotations

from typing import Any, Protocol

from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_htmx.middleware import HtmxDetails


class AuthedRequest(HttpRequest):
    user: User
    htmx: HtmxDetails


def page_or_partial(
    request: AuthedRequest, page: str, partial: str, context: dict[str, Any]
) -> HttpResponse:
    """The partial an htmx request swaps in, else the whole page: the link works without JS too."""
    return render(request, partial if request.htmx else page, context)


class _WithPatient(Protocol):
    """A case, as :func:`case_section_page` needs it (core does not import the patients app)."""

    @property
    def patient(self) -> Any: ...


def case_section_page(
    request: AuthedRequest, case: _WithPatient, page: str, partial: str, context: dict[str, Any]
) -> HttpResponse:
    """A case's section on a page of its own (``full_page``), or its partial for htmx."""
    full = {**context, "case": case, "patient": case.patient, "full_page": True}
    return page_or_partial(request, page, partial, full)
