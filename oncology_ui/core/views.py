"""Sign-in and out, job status polling, the audit and break-glass pages, the health check."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from datetime import datetime, time
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import F
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render, resolve_url
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseStopPolling, trigger_client_event

from oncology_ui.core import services
from oncology_ui.core.audit import access_denied, audit_record
from oncology_ui.core.decorators import passive, public, second_factor_exempt
from oncology_ui.core.forms import (
    AuditFilterForm,
    BreakGlassReviewForm,
    SecondFactorForm,
    ThrottledPasswordChangeForm,
)
from oncology_ui.core.http import AuthedRequest
from oncology_ui.core.mfa import (
    mfa_check,
    mfa_enrolled,
    mfa_totp_confirm,
    mfa_totp_qr_data_uri,
    mfa_totp_secret,
    mfa_totp_start,
)
from oncology_ui.core.middleware import RETRY_AFTER_SECONDS
from oncology_ui.core.models import AccessLog, BreakGlassAccess, Job, SecurityKeyDevice
from oncology_ui.core.passkeys import (
    PasskeyError,
    passkey_authenticate_begin,
    passkey_authenticate_complete,
    passkey_register_begin,
    passkey_register_complete,
)
from oncology_ui.core.services import user_password_changed


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: object) -> dict[str, object]:
        context = super().get_context_data(**kwargs)
        # Django's LoginView puts the *request's host* into "site_name" (RequestSite without the
        # sites framework), which would shadow the context processor's name on this one page.
        context["site_name"] = settings.SITE_NAME
        reason = self.request.GET.get("timeout")
        if reason == "idle":
            context["timeout_message"] = "You were signed out after 30 minutes without activity."
        elif reason == "expired":
            context["timeout_message"] = "Your session reached its maximum length; sign in again."
        if settings.SOCIALACCOUNT_PROVIDERS["openid_connect"]["APPS"]:
            context["sso_login_url"] = reverse(
                "openid_connect_login", kwargs={"provider_id": settings.SSO_PROVIDER_ID}
            )
            context["sso_name"] = settings.SSO_NAME
        return context


login_view = public(LoginView.as_view())
_logout = auth_views.LogoutView.as_view()


# Signing out must work before the second factor, or a half-signed-in user could not leave.
@second_factor_exempt
def logout_view(request: HttpRequest) -> HttpResponseBase:
    """Sign out, and have the browser drop what it kept of the session's pages and cookies."""
    response = _logout(request)
    if response.status_code < 400:
        # Cached patient pages, cookies and storage of this origin go with the session.
        response["Clear-Site-Data"] = '"cache", "cookies", "storage"'
    return response


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return str(resolve_url(settings.LOGIN_REDIRECT_URL))


@second_factor_exempt
@login_required
@require_http_methods(["GET", "POST"])
def mfa_verify(request: AuthedRequest) -> HttpResponse:
    """Ask for the authenticator code (or a recovery code) after the password."""
    if not mfa_enrolled(request.user):
        return redirect("core-mfa-enrol")
    form = SecondFactorForm(request.POST or None)
    if form.is_valid():
        if mfa_check(
            request=request, user=request.user, token=form.cleaned_data["code"], purpose="sign-in"
        ):
            return redirect(_next_url(request))
        form.add_error("code", SecondFactorForm.REFUSED)
    has_passkey = SecurityKeyDevice.objects.filter(user=request.user, confirmed=True).exists()
    return render(
        request,
        "core/mfa_verify.html",
        {"form": form, "next": _next_url(request), "has_passkey": has_passkey},
        status=400 if form.errors else 200,
    )


@second_factor_exempt
@login_required
@require_http_methods(["GET", "POST"])
def mfa_enrol(request: AuthedRequest) -> HttpResponse:
    """Set up an authenticator app: scan, type the first code, keep the recovery codes."""
    if mfa_enrolled(request.user) and not request.user.is_verified():  # type: ignore[attr-defined]
        # Adding a device needs the one already enrolled: a stolen password is not enough.
        verify = resolve_url("core-mfa-verify")
        return redirect(f"{verify}?{urlencode({'next': _next_url(request)})}")
    device = mfa_totp_start(user=request.user)
    form = SecondFactorForm(request.POST or None)
    if form.is_valid():
        codes = mfa_totp_confirm(request=request, device=device, token=form.cleaned_data["code"])
        if codes is not None:
            return render(
                request,
                "core/mfa_recovery_codes.html",
                {"codes": codes, "next": _next_url(request)},
            )
        form.add_error("code", SecondFactorForm.REFUSED)
    context = {
        "form": form,
        "next": _next_url(request),
        "qr": mfa_totp_qr_data_uri(device),
        "secret": mfa_totp_secret(device),
        "enrolled": mfa_enrolled(request.user),
    }
    return render(request, "core/mfa_enrol.html", context, status=400 if form.errors else 200)


def _json_body(request: HttpRequest) -> dict[str, Any] | None:
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


def _passkey_refused(message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=400)


def _passkey_finish(
    request: AuthedRequest, finish: Callable[[dict[str, Any]], None]
) -> JsonResponse:
    """Step 2 of either passkey ceremony: ``finish`` checks the browser's ``credential``; the
    reply says where to go next, or why it was refused."""
    body = _json_body(request)
    if body is None or not isinstance(body.get("credential"), dict):
        return _passkey_refused("The request was not understood.")
    try:
        finish(body)
    except PasskeyError as error:
        return _passkey_refused(str(error))
    return JsonResponse({"next": _next_url(request)})


@login_required
@require_POST
def passkey_register_options(request: AuthedRequest) -> JsonResponse:
    """Step 1 of adding a security key or passkey: options for navigator.credentials.create."""
    return JsonResponse(passkey_register_begin(request=request, user=request.user))


@login_required
@require_POST
def passkey_register(request: AuthedRequest) -> JsonResponse:
    """Step 2: verify the browser's answer and keep the credential as a second-factor device."""

    def register(body: dict[str, Any]) -> None:
        passkey_register_complete(
            request=request,
            user=request.user,
            response=body["credential"],
            name=str(body.get("name") or ""),
        )

    return _passkey_finish(request, register)


@second_factor_exempt
@login_required
@require_POST
def passkey_verify_options(request: AuthedRequest) -> JsonResponse:
    """Step 1 of verifying with a security key: options for navigator.credentials.get."""
    try:
        return JsonResponse(passkey_authenticate_begin(request=request, user=request.user))
    except PasskeyError as error:
        return _passkey_refused(str(error))


@second_factor_exempt
@login_required
@require_POST
def passkey_verify(request: AuthedRequest) -> JsonResponse:
    """Step 2: verify the signed challenge; the session then counts as second-factor verified."""

    def verify(body: dict[str, Any]) -> None:
        passkey_authenticate_complete(
            request=request, user=request.user, response=body["credential"]
        )

    return _passkey_finish(request, verify)


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's view (login required, keeps this session); our form, templates and audit."""

    template_name = "registration/password_change_form.html"
    form_class = ThrottledPasswordChangeForm
    success_url = reverse_lazy("core-password-change-done")

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs = super().get_form_kwargs()
        kwargs["request"] = self.request
        return kwargs

    def form_valid(self, form: ThrottledPasswordChangeForm) -> HttpResponse:
        response = super().form_valid(form)
        user_password_changed(request=self.request, user=form.user)
        return response


password_change_view = PasswordChangeView.as_view()
password_change_done_view = auth_views.PasswordChangeDoneView.as_view(
    template_name="registration/password_change_done.html"
)


def _job_for_user(request: HttpRequest, job_id: int) -> Job:
    """A job is visible when its target row is visible to the user (or they started it)."""
    job = Job.objects.filter(pk=job_id).first()
    visible = False
    if job is not None:
        try:
            model = apps.get_model(job.target_model)
        except LookupError:
            model = None
        manager = getattr(model, "objects", None)
        if manager is not None and hasattr(manager, "visible_to"):
            visible = manager.visible_to(request.user).filter(pk=job.target_id).exists()
        else:
            visible = job.created_by_id == request.user.pk
    if job is None or not visible:
        raise access_denied(request, category="job", object_ref=f"job:{job_id}")
    return job


@passive
@login_required
@require_GET
def job_status(request: AuthedRequest, job_id: int) -> HttpResponse:
    """Status partial that polls itself every 2 s and stops (HTTP 286) when the job is finished."""
    job = _job_for_user(request, job_id)
    context = {"job": job}
    if request.htmx:
        response = render(request, "core/job_status.html#job-status", context)
        if job.is_finished:
            response.status_code = HttpResponseStopPolling.status_code
            # Sections that wait on this job listen for the event and refresh themselves.
            trigger_client_event(response, "job-finished")
        return response
    return render(request, "core/job_status.html", context)


@login_required
@permission_required("core.view_audit", raise_exception=True)
@require_GET
def audit_list(request: HttpRequest) -> HttpResponse:
    """Administrators' filterable view of the access log."""
    form = AuditFilterForm(request.GET or None)
    entries = AccessLog.objects.all()
    if form.is_valid():
        data = form.cleaned_data
        if data["username"]:
            entries = entries.filter(username__iexact=data["username"])
        if data["patient_id"]:
            entries = entries.filter(patient_id_snapshot=data["patient_id"])
        if data["action"]:
            entries = entries.filter(action=data["action"])
        if data["outcome"]:
            entries = entries.filter(outcome=data["outcome"])
        tz = timezone.get_current_timezone()
        if data["since"]:
            entries = entries.filter(at__gte=datetime.combine(data["since"], time.min, tzinfo=tz))
        if data["until"]:
            entries = entries.filter(at__lte=datetime.combine(data["until"], time.max, tzinfo=tz))
        order = data["order"] or "-id"
        entries = entries.order_by(order)
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    audit_record(request=request, action=AccessLog.Action.VIEW, category="audit-log")
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request, "core/audit_list.html", {"form": form, "page": page, "query": query.urlencode()}
    )


@public
@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers: the database (and Redis, when configured) answer."""
    checks: dict[str, str] = {}
    status = 200
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception:
        checks["database"] = "unavailable"
        status = 503
    if settings.JOBS_BACKEND == "rq":
        try:
            import django_rq

            django_rq.get_connection(settings.JOBS_QUEUE).ping()
            checks["redis"] = "ok"
        except Exception:
            checks["redis"] = "unavailable"
            status = 503
    response = JsonResponse(
        {"status": "ok" if status == 200 else "unavailable", **checks}, status=status
    )
    if status == 503:
        response["Retry-After"] = RETRY_AFTER_SECONDS
    return response


@login_required
@permission_required("core.view_audit", raise_exception=True)
@require_GET
def break_glass_list(request: HttpRequest) -> HttpResponse:
    """Administrators review every break-glass grant, newest first, unreviewed on top."""
    grants = BreakGlassAccess.objects.select_related("user", "patient", "reviewed_by").order_by(
        F("reviewed_at").asc(nulls_first=True), "-started_at"
    )
    page = Paginator(grants, 50).get_page(request.GET.get("page"))
    for grant in page:
        grant.access_count = AccessLog.objects.filter(  # type: ignore[attr-defined]
            user_id_snapshot=grant.user_id,
            patient_id_snapshot=grant.patient_id,
            break_glass=True,
            at__gte=grant.started_at,
            at__lte=grant.expires_at,
        ).count()
    audit_record(request=request, action=AccessLog.Action.VIEW, category="break-glass-review")
    return render(
        request, "core/break_glass_list.html", {"page": page, "form": BreakGlassReviewForm()}
    )


@login_required
@permission_required("core.view_audit", raise_exception=True)
@require_POST
def break_glass_review(request: AuthedRequest, grant_id: int) -> HttpResponse:
    grant = get_object_or_404(BreakGlassAccess, pk=grant_id)
    form = BreakGlassReviewForm(request.POST)
    if form.is_valid():
        # A second review (someone else's, a moment ago) changes nothing: the list shows whose.
        with contextlib.suppress(ValidationError):
            services.break_glass_review(
                request=request, grant=grant, reviewer=request.user, note=form.cleaned_data["note"]
            )
    return redirect("core-break-glass-list")
