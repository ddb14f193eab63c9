"""Sign-in and out, job status polling, the audit and break-glass pages, the health check."""

from __future__ import annotations

import contextlib
from datetime import datetime, time

from django.apps import apps
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseStopPolling

from oncology_ui.core import services
from oncology_ui.core.audit import audit_record
from oncology_ui.core.decorators import passive, public
from oncology_ui.core.forms import AuditFilterForm, BreakGlassForm, BreakGlassReviewForm
from oncology_ui.core.http import AuthedRequest
from oncology_ui.core.middleware import RETRY_AFTER_SECONDS
from oncology_ui.core.models import AccessLog, BreakGlassAccess, Job


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
        return context


login_view = public(LoginView.as_view())
_logout = auth_views.LogoutView.as_view()


def logout_view(request: HttpRequest) -> HttpResponseBase:
    """Sign out, and have the browser drop what it kept of the session's pages and cookies."""
    response = _logout(request)
    if response.status_code < 400:
        # Cached patient pages, cookies and storage of this origin go with the session.
        response["Clear-Site-Data"] = '"cache", "cookies", "storage"'
    return response


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
        audit_record(
            request=request,
            action=AccessLog.Action.DENIED,
            category="job",
            object_ref=f"job:{job_id}",
            outcome=AccessLog.Outcome.DENIED,
        )
        raise Http404("No such job")
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
            response["HX-Trigger"] = "job-finished"
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
@permission_required("patients.view_patient", raise_exception=True)
@require_http_methods(["GET", "POST"])
def break_glass(request: AuthedRequest) -> HttpResponse:
    """Open an out-of-team patient in an emergency: reason required, time-limited, audited."""
    from oncology_ui.patients.models import Patient

    form = BreakGlassForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        patient = Patient.objects.filter(site=data["site"], mrn=data["mrn"]).first()
        if patient is None:
            audit_record(
                request=request,
                action=AccessLog.Action.DENIED,
                category="break-glass",
                object_ref=f"mrn-lookup:{data['site']}"[:80],
                outcome=AccessLog.Outcome.DENIED,
            )
            form.add_error("mrn", "No patient has this MRN at this site.")
        else:
            try:
                services.break_glass_open(
                    request=request, user=request.user, patient=patient, reason=data["reason"]
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                return redirect("patients-detail", patient.pk)
    return render(
        request,
        "core/break_glass.html",
        {"form": form, "minutes": settings.BREAK_GLASS_MINUTES},
    )


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
