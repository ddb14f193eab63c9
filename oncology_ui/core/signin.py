"""Sign-in defences around django-axes: the client address, the lockout answer and its audit."""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import resolve_url


def _valid_ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str | None:
    """The address a request came from, as far as our own infrastructure can vouch for it.

    Without ``BEHIND_PROXY`` only ``REMOTE_ADDR`` counts: X-Forwarded-For is whatever the client
    typed. Behind ``PROXY_COUNT`` proxies, each appends the address it received the request
    from, so the entry ``PROXY_COUNT`` from the right was written by our outermost proxy and
    everything left of it is client-supplied (and ignored).
    """
    remote = request.META.get("REMOTE_ADDR") or None
    if not getattr(settings, "BEHIND_PROXY", False):
        return remote
    forwarded = [part for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part]
    count = int(getattr(settings, "PROXY_COUNT", 1))
    if len(forwarded) < count:
        return remote
    return _valid_ip(forwarded[-count]) or remote


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: Any = None
) -> HttpResponse:
    """Answer a locked-out attempt exactly as a wrong password is answered.

    The login view already rendered its "did not match" form (axes made ``authenticate`` fail),
    so that response is returned as it is: same status, same text. Axes refused before any
    password hash ran, so one hash is computed here to keep the two in the same timing class.
    """
    make_password(request.POST.get("password", ""))
    if original_response is not None:
        return original_response
    return HttpResponseRedirect(resolve_url(settings.LOGIN_URL))
