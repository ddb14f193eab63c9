"""Benchmark P6's URLconf: every route of the app plus the hello-world reference view."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

from oncology_ui.urls import handler404, handler500
from oncology_ui.urls import urlpatterns as app_urlpatterns

HELLO_PATH = "bench-hello/"


def hello(request: HttpRequest) -> HttpResponse:
    """Django's hello world: the reference P6 compares the case page with."""
    return HttpResponse("Hello, world", content_type="text/plain")


urlpatterns = [path(HELLO_PATH, hello, name="bench-hello"), *app_urlpatterns]

__all__ = ["handler404", "handler500", "urlpatterns"]
