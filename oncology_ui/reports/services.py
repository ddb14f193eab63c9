"""Printing: the case report on request, and the board packet as a background job."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction

from oncology_ui.boards.models import Meeting
from oncology_ui.core.jobs import PermanentJobError, ProgressCallback, job_enqueue
from oncology_ui.core.logsafe import log_failure
from oncology_ui.core.models import Job
from oncology_ui.patients.models import Case
from oncology_ui.reports.build import board_packet_data, case_report_data
from oncology_ui.reports.data import CaseReportData
from oncology_ui.reports.pdf import render_board_packet, render_case_report

logger = logging.getLogger(__name__)

PACKET_JOB = "board_packet"


class ReportLayoutError(Exception):
    """A report that could not be laid out; the message names the case, never its text."""


def case_report_pdf(*, case: Case, deidentified: bool) -> bytes:
    """The case report from the stored prediction and decisions (no model call).

    Raises:
        ReportLayoutError: the report could not be built; logged with the case number and the
            exception's class only (its message may quote the patient's text).
    """
    try:
        return render_case_report(case_report_data(case, deidentified=deidentified))
    except Exception as exc:
        log_failure(logger, exc, "case report of case %s", case.pk)
        # ``from None``: a logged traceback of this error must not print the original message.
        raise ReportLayoutError(
            f"The report of case {case.pk} could not be laid out ({type(exc).__name__})."
        ) from None


@transaction.atomic  # the job is dispatched on commit, so only after its mode is stored
def packet_request(*, meeting: Meeting, user: User, deidentified: bool = False) -> Job:
    job = job_enqueue(kind=PACKET_JOB, target=meeting, user=user, message="Packet queued")
    # The job row carries the mode so the handler needs nothing else from the request.
    Job.objects.filter(pk=job.pk).update(result={"deidentified": deidentified})
    return job


def packet_path(job: Job) -> str:
    return f"packets/meeting-{job.target_id}-job-{job.pk}.pdf"


def packet_run(job: Job, progress: ProgressCallback) -> dict[str, object]:
    """Build every case's report data, then the packet; a failure names the case.

    Failures are logged with the job number and the exception's class only: their messages
    can quote patient text (scenario 38: no PHI in logs).
    """
    meeting = Meeting.objects.select_related("board").get(pk=job.target_id)
    deidentified = bool((job.result or {}).get("deidentified"))
    items = list(meeting.items.select_related("case__patient"))
    cases: list[CaseReportData] = []
    for position, item in enumerate(items, start=1):
        progress(int(80 * (position - 1) / max(1, len(items))), f"Case {position} of {len(items)}")
        try:
            cases.append(case_report_data(item.case, deidentified=deidentified))
        except Exception as exc:
            log_failure(logger, exc, "packet job %s: agenda item %s", job.pk, item.order)
            raise PermanentJobError(
                f"The packet could not be built: agenda item {item.order} (case {item.case_id}) "
                f"failed ({type(exc).__name__}). Check that case, then build the packet again."
            ) from None  # a logged traceback must not print the original message
    progress(85, "Laying out the packet")
    try:
        pdf = render_board_packet(
            board_packet_data(meeting, tuple(cases), deidentified=deidentified)
        )
    except Exception as exc:
        log_failure(logger, exc, "packet job %s: layout", job.pk)
        # Laying out the same rows again fails the same way: permanent, and no record text.
        raise PermanentJobError(
            f"The packet could not be laid out ({type(exc).__name__}). Tell your "
            f"administrator the job number {job.pk}."
        ) from None
    path = settings.MEDIA_ROOT / packet_path(job)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".part")
    temporary.write_bytes(pdf)
    temporary.replace(path)  # atomic: a rerun never leaves half a packet behind
    progress(100, "Packet ready")
    return {"file": packet_path(job), "cases": len(cases), "deidentified": deidentified}
