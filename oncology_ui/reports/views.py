"""Downloads of the case report and the board packet: access-checked and audited as print."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from oncology_ui.boards.access import meeting_for_user
from oncology_ui.boards.models import AgendaItem, Meeting
from oncology_ui.core.audit import access_denied, audit_case, audit_patients, audit_record
from oncology_ui.core.http import AuthedRequest
from oncology_ui.core.models import AccessLog, Job
from oncology_ui.patients.access import case_for_user
from oncology_ui.reports import services


@login_required
@require_GET
def case_report(request: AuthedRequest, case_id: int) -> HttpResponse:
    case = case_for_user(request, case_id)
    deidentified = request.GET.get("deidentified") == "1"
    try:
        pdf = services.case_report_pdf(case=case, deidentified=deidentified)
    except services.ReportLayoutError as error:
        # Nothing was printed, so nothing is audited as print; the page says what to report.
        return render(
            request, "reports/report_failed.html", {"case": case, "error": error}, status=500
        )
    audit_case(
        request=request,
        action=AccessLog.Action.PRINT,
        category="case-report-deidentified" if deidentified else "case-report",
        case=case,
    )
    name = f"case-{case.pk}{'-deidentified' if deidentified else ''}.pdf"
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def packet_request(request: AuthedRequest, meeting_id: int) -> HttpResponse:
    meeting = meeting_for_user(request, meeting_id)
    deidentified = request.POST.get("deidentified") == "1"
    job = services.packet_request(meeting=meeting, user=request.user, deidentified=deidentified)
    audit_record(
        request=request,
        action=AccessLog.Action.CREATE,
        category="board-packet",
        object_ref=f"job:{job.pk}",
    )
    if request.htmx:
        return render(request, "reports/packet_job.html", {"job": job})
    return redirect("boards-meeting", meeting_id=meeting.pk)


def _packet_job_for_user(request: AuthedRequest, job_id: int) -> Job:
    job = Job.objects.filter(pk=job_id, kind=services.PACKET_JOB).first()
    visible = (
        job is not None
        and Meeting.objects.visible_to(request.user).filter(pk=job.target_id).exists()
        and request.user.has_perm("boards.view_meeting")
    )
    if job is None or not visible:
        raise access_denied(request, category="board-packet", object_ref=f"job:{job_id}")
    return job


@login_required
@require_GET
def packet_download(request: AuthedRequest, job_id: int) -> FileResponse:
    job = _packet_job_for_user(request, job_id)
    if job.status != Job.Status.SUCCEEDED or "file" not in job.result:
        raise Http404("The packet is not ready")
    path = settings.MEDIA_ROOT / str(job.result["file"])
    if not path.is_file():
        raise Http404("The packet file is gone; build it again")
    # One print row per patient in the packet, so each patient's access history shows it.
    patients = (
        AgendaItem.objects.filter(meeting_id=job.target_id)
        .values_list("case__patient_id", flat=True)
        .distinct()
    )
    audit_patients(
        request=request,
        action=AccessLog.Action.PRINT,
        category="board-packet",
        patient_ids=sorted(patients),
        object_ref=f"meeting:{job.target_id}",
    )
    response = FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=f"board-packet-meeting-{job.target_id}.pdf",
        content_type="application/pdf",
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_GET
def packet_status(request: AuthedRequest, job_id: int) -> HttpResponse:
    """The packet's job with its download link once ready (refreshes when the job finishes)."""
    job = _packet_job_for_user(request, job_id)
    return render(request, "reports/packet_job.html", {"job": job})
