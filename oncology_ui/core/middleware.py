"""Cross-cutting request handling: outages, session timeouts and caching of patient data."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import logout
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.template.loader import render_to_string
from django.utils.http import urlencode
from django_htmx.http import HttpResponseClientRedirect

from oncology_ui.core.querysets import break_glass_from_session

logger = logging.getLogger(__name__)

SESSION_STARTED_KEY = "oncoboard_started_at"
SESSION_ACTIVE_KEY = "oncoboard_active_at"
# Set once a session's user is known to have no second-factor device: saves the three device
# queries on every page of the clinicians who sign in with a password alone. Cleared at login;
# a device added later in the same session marks that session verified anyway.
SESSION_NO_DEVICE_KEY = "oncoboard_no_second_factor"
RETRY_AFTER_SECONDS = "30"


def is_outage(exc: BaseException | None) -> bool:
    """True for the errors a stopped database or Redis raises (the request itself is fine)."""
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    try:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError
    except ImportError:  # pragma: no cover - redis is a runtime dependency
        return False
    return isinstance(exc, RedisConnectionError | RedisTimeoutError)


def service_unavailable(request: HttpRequest, exc: BaseException) -> HttpResponse:
    """The calm 503 page with ``Retry-After``; safe to build while the database is down."""
    # The class and the driver's message ("database is locked", "connection refused") tell
    # an operator which outage this was; the path says which request met it. No traceback:
    # it would repeat on every request of an outage.
    message = str(exc).strip()
    logger.error(
        "service unavailable: %s (%s) on %s %s",
        type(exc).__name__,
        message.splitlines()[0] if message else "no message",
        request.method,
        request.path,
    )
    session = getattr(request, "session", None)
    if session is not None:
        # Saving it on the way out would meet the same outage and turn this page into a 500.
        session.modified = False
    body = render_to_string("503.html", {"site_name": settings.SITE_NAME})
    response = HttpResponse(body, status=503)
    response["Retry-After"] = RETRY_AFTER_SECONDS
    response["Cache-Control"] = "no-store, max-age=0"
    return response


def _signed_in(request: HttpRequest) -> bool:
    """Whether the request is (or may be) a signed-in user's, without a database query.

    Loading the user here, after the view, would query the session table on every response,
    and during a database outage that query turned the 503 page into a 500. A user already
    loaded by the view is used as it is; otherwise a session cookie is enough to treat the
    response as personal.
    """
    cached = getattr(request, "_cached_user", None)
    if cached is not None:
        return bool(cached.is_authenticated)
    return settings.SESSION_COOKIE_NAME in request.COOKIES


def session_mark_login(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """Start both session clocks at login (connected to ``user_logged_in``)."""
    if request is not None and hasattr(request, "session"):
        now = time.time()
        request.session[SESSION_STARTED_KEY] = now
        request.session[SESSION_ACTIVE_KEY] = now
        request.session.pop(SESSION_NO_DEVICE_KEY, None)


class ServiceUnavailableMiddleware:
    """A database or Redis outage answers a calm 503 page instead of a traceback."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            return self.get_response(request)
        except Exception as exc:
            # Django turns an exception raised in an inner middleware into a response before it
            # gets here (``errors.server_error`` answers 503 for outages); this branch covers
            # DEBUG_PROPAGATE_EXCEPTIONS, where it is re-raised instead.
            if is_outage(exc):
                return self._unavailable(request, exc)
            raise

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if is_outage(exception):
            return self._unavailable(request, exception)
        return None

    def _unavailable(self, request: HttpRequest, exc: Exception) -> HttpResponse:
        return service_unavailable(request, exc)


class SessionTimeoutMiddleware:
    """Idle and absolute session timeouts; background polling does not count as activity.

    A view marked with :func:`oncology_ui.core.decorators.passive` (job-status polling) never
    refreshes the idle clock. An expired htmx request gets ``HX-Redirect`` to the login page so
    the browser navigates instead of swapping a login form into a panel.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        login = resolve_url(settings.LOGIN_URL)
        if (
            getattr(request, "htmx", False)
            and response.status_code == 302
            and response["Location"].startswith(login)
        ):
            # Otherwise htmx would follow the redirect and swap a login form into a panel.
            return HttpResponseClientRedirect(response["Location"], status=204)
        return response

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        try:
            if not request.user.is_authenticated:  # loads the session: the first query
                return None
        except Exception as exc:
            if is_outage(exc):
                return service_unavailable(request, exc)
            raise
        now = time.time()
        session = request.session
        break_glass_from_session(request.user, session)
        started = session.get(SESSION_STARTED_KEY)
        active = session.get(SESSION_ACTIVE_KEY)
        if started is None or active is None:
            session[SESSION_STARTED_KEY] = session[SESSION_ACTIVE_KEY] = now
            return None
        idle = now - float(active) > settings.SESSION_IDLE_TIMEOUT_SECONDS
        too_long = now - float(started) > settings.SESSION_ABSOLUTE_TIMEOUT_SECONDS
        if idle or too_long:
            logout(request)
            login = resolve_url(settings.LOGIN_URL)
            reason = "idle" if idle else "expired"
            target = f"{login}?{urlencode({'timeout': reason})}"
            if getattr(request, "htmx", False):
                return HttpResponseClientRedirect(target, status=204)
            return HttpResponseRedirect(target)
        # Refresh the idle clock at most once a minute: writing the session on every request
        # costs a database round trip per page for no practical gain in precision.
        if not getattr(view_func, "passive_request", False) and now - float(active) >= 60:
            session[SESSION_ACTIVE_KEY] = now
        return None


class NoStoreMiddleware:
    """Pages for signed-in users may hold patient data: browsers and proxies must not keep them."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # A view may opt in to the user's own browser cache with "private, ..." for content that
        # carries no identifiers (de-identified slide tiles are requested by the thousand).
        if response.get("Cache-Control", "").startswith("private"):
            return response
        if _signed_in(request) and not request.path.startswith(
            settings.STATIC_URL
            if settings.STATIC_URL.startswith("/")
            else "/" + settings.STATIC_URL
        ):
            response["Cache-Control"] = "no-store, max-age=0"
            response["Pragma"] = "no-cache"
        return response


class SecondFactorMiddleware:
    """Administrators, and anyone who enrolled, verify a second factor before any page.

    Public views (sign-in, health) and views marked ``second_factor_exempt`` (enrolment,
    verification, sign-out) stay reachable. htmx requests get ``HX-Redirect`` so the browser
    navigates instead of swapping the form into a panel.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        from oncology_ui.core.mfa import mfa_enrolled, mfa_required

        user = request.user
        # is_verified() is added to the user by django-otp's OTPMiddleware.
        if not user.is_authenticated or user.is_verified():  # type: ignore[attr-defined]
            return None
        if getattr(view_func, "public_view", False) or getattr(
            view_func, "second_factor_exempt", False
        ):
            return None
        if mfa_required(user):
            enrolled = mfa_enrolled(user)
        elif request.session.get(SESSION_NO_DEVICE_KEY) == user.pk:
            return None  # known: a clinician who signs in with the password alone
        else:
            enrolled = mfa_enrolled(user)
            if not enrolled:
                request.session[SESSION_NO_DEVICE_KEY] = user.pk
                return None
        page = resolve_url("core-mfa-verify" if enrolled else "core-mfa-enrol")
        target = f"{page}?{urlencode({'next': request.get_full_path()})}"
        if getattr(request, "htmx", False):
            return HttpResponseClientRedirect(target, status=204)
        return HttpResponseRedirect(target)
