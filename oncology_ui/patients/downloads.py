"""A case's export jobs: the reply when one starts, and serving the file it wrote (found,
access-checked, audited, and sandboxed)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from oncology_ui.core.audit import audit_case
from oncology_ui.core.http import AuthedRequest
from oncology_ui.core.models import AccessLog, Job
from oncology_ui.patients.models import Case
from oncology_ui.patients.services import csv_safe


def csv_download(rows: Iterable[Sequence[object]], filename: str) -> HttpResponse:
    """Rows as a sandboxed CSV attachment; no cell runs as a spreadsheet formula."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([csv_safe(value) for value in row])
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Content-Security-Policy"] = "sandbox"
    return response


def _audit_export(request: HttpRequest, case: Case, job: Job, category: str) -> None:
    audit_case(
        request=request,
        action=AccessLog.Action.EXPORT,
        category=category,
        case=case,
        object_ref=f"job:{job.pk}",
    )


def case_export_started(
    request: AuthedRequest,
    *,
    case: Case,
    job: Job,
    category: str,
    partial: str,
    message: str,
    back: str,
) -> HttpResponse:
    """Audit the export ``job`` just asked for; its status line for htmx, else back to ``back``.

    Args:
        partial: the template of the job's status line, swapped in where the button was.
        message: what the plain form's redirect to the page named ``back`` says.
    """
    _audit_export(request, case, job, category)
    if request.htmx:
        return render(request, partial, {"job": job, "case": case})
    messages.info(request, message)
    return redirect(back, case_id=case.pk)


def case_export_response(
    request: HttpRequest,
    *,
    case: Case,
    job_id: int,
    kind: str,
    path_for: Callable[[Job], str],
    category: str,
    filename: str,
    content_type: str,
) -> FileResponse:
    """The finished export ``job_id`` of ``case`` as an attachment; 404 when there is none.

    The caller has already checked access to ``case``; the job must belong to that case, so an
    id from another case answers 404 too.
    """
    job = Job.objects.filter(
        pk=job_id,
        kind=kind,
        target_model="patients.case",
        target_id=case.pk,
        status=Job.Status.SUCCEEDED,
    ).first()
    if job is None:
        raise Http404("No such export")
    path = settings.MEDIA_ROOT / path_for(job)
    if not path.is_file():
        raise Http404("The export file is no longer available")
    _audit_export(request, case, job, category)
    response = FileResponse(
        path.open("rb"), as_attachment=True, filename=filename, content_type=content_type
    )
    # A downloaded file must never run as a page of this site.
    response["Content-Security-Policy"] = "sandbox"
    return response
