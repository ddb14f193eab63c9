"""Error pages that never show a traceback, settings or patient data."""

from __future__ import annotations

import sys

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

from oncology_ui.core.middleware import is_outage, service_unavailable


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return HttpResponse(render_to_string("404.html", request=request), status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    # Django renders this inside its handler for an uncaught exception, including one raised by
    # a middleware (session, auth, CSRF, lockouts) that no process_exception hook sees. When the
    # cause is a database or Redis outage, the person gets the 503 page and Retry-After.
    exc = sys.exc_info()[1]
    if is_outage(exc):
        assert exc is not None
        return service_unavailable(request, exc)
    # Rendered without the request context: the failure may be in a context processor.
    return HttpResponse(render_to_string("500.html"), status=500)
