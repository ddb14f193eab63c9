"""Request type for views behind ``login_required`` and the htmx middleware, and the htmx reply."""

from __future__ import annotations

from typing import Any

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
