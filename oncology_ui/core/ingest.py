"""The one ingest pattern: the record an upload or import leaves, and the page that polls it.

Every upload or import is a row that inherits :class:`IngestRecord` (``ClinicalImport``,
``ImagingUpload``, ``Slide``, ``TrialCorpusImport``): a status that starts at ``received``, the
background job that works on it, the problems a person can act on, who sent it and when it
finished. A record that keeps its problems another way (a slide's one ``error``, a trial import's
unreadable ``errors``) removes the field with ``problems = None``. One partial,
``core/_ingest_status.html``, shows any such row; while the job runs it polls the record's page
every two seconds, and :func:`ingest_status_response` answers 286 once the record is finished so
htmx stops polling (and fires ``job-finished`` for sections that refresh themselves).
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.contrib import messages
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django_htmx.http import HttpResponseStopPolling, trigger_client_event

from oncology_ui.core.audit import audit_record
from oncology_ui.core.http import AuthedRequest
from oncology_ui.core.jobs import job_enqueue
from oncology_ui.core.models import AccessLog, Job

STATUS_PARTIAL = "core/_ingest_status.html"


class IngestRecord(models.Model):
    """What every upload or import row shares; subclasses give ``status`` their own choices.

    A subclass sets ``status_url_name`` (the record's page, which the status partial polls) and
    ``html_id_prefix``, and says in words what it was (:attr:`kind_label`, :attr:`display_name`)
    and what became of it (:attr:`outcome_summary`, :attr:`failure_message`).
    """

    RECEIVED = "received"
    #: Statuses in which the job still has work to do; any other status is final.
    PENDING_STATUSES: ClassVar[frozenset[str]] = frozenset({RECEIVED})
    #: URL name of the record's page; it takes the primary key.
    status_url_name: ClassVar[str]
    #: The field that names the upload for a person: its file name, or imaging's label.
    display_field: ClassVar[str] = "original_name"
    #: The status element's id is ``<prefix>-<pk>``.
    html_id_prefix: ClassVar[str]
    #: Text of the status line's link to the record's page.
    status_link_text: ClassVar[str] = "details"
    #: How many problems the status line lists (the record's page lists them all).
    problems_listed: ClassVar[int] = 5

    status = models.CharField(max_length=10, default=RECEIVED)
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    problems = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]

    def enqueue_job(
        self, *, kind: str, user: object | None = None, message: str = "Waiting to start"
    ) -> None:
        """Queue the job that processes this record and keep it on the row.

        Call it inside the transaction that created the record: the job is dispatched on commit.
        """
        self.job = job_enqueue(kind=kind, target=self, user=user, message=message)
        self.save(update_fields=["job"])

    @property
    def is_finished(self) -> bool:
        return self.status not in self.PENDING_STATUSES

    @property
    def progress(self) -> int:
        """The job's percentage while it runs (0 before it has started)."""
        return self.job.progress if self.job is not None else 0

    @property
    def progress_text(self) -> str:
        """The status in words, with the job's latest message while it still runs."""
        text = str(self.get_status_display())  # type: ignore[attr-defined]
        if self.job is not None and not self.is_finished and self.job.message:
            return f"{text} — {self.job.message}"
        return text

    @property
    def status_url(self) -> str:
        return reverse(self.status_url_name, args=[self.pk])

    @property
    def status_html_id(self) -> str:
        return f"{self.html_id_prefix}-{self.pk}"

    @property
    def kind_label(self) -> str:
        return str(self._meta.verbose_name).capitalize()

    @property
    def display_name(self) -> str:
        """What the person uploaded, in their words: the field named by ``display_field``."""
        return str(getattr(self, self.display_field))

    @property
    def outcome_summary(self) -> str:
        """One line on what a successful run produced ("" while running or after a failure)."""
        return ""

    @property
    def failure_message(self) -> str:
        return ""

    @property
    def listed_problems(self) -> list[dict[str, Any]]:
        return list((self.problems or [])[: self.problems_listed])

    def finish(self, status: str, **fields: Any) -> None:
        """Set the final ``status`` (and ``fields``), stamp ``finished_at`` and save just those."""
        self.status = status
        for name, value in fields.items():
            setattr(self, name, value)
        self.finished_at = timezone.now()
        self.save(update_fields=["status", *fields, "finished_at"])


def ingest_received_response(
    request: AuthedRequest,
    record: IngestRecord,
    *,
    patient_id: int,
    category: str,
    object_ref: str,
    message: str,
) -> HttpResponse:
    """An upload is stored and its job queued: audit the creation, then answer with the record's
    status line (htmx swaps it in and it polls) or with ``message`` and a redirect to its page.
    """
    audit_record(
        request=request,
        action=AccessLog.Action.CREATE,
        category=category,
        patient_id=patient_id,
        object_ref=object_ref,
    )
    if request.htmx:
        return render(request, STATUS_PARTIAL, {"record": record})
    messages.info(request, message)
    return redirect(record.status_url)


def ingest_refused_response(request: AuthedRequest, error: str, *, back: str) -> HttpResponse:
    """An import request was refused before anything was stored: ``error`` as an alert in place
    of the button (htmx), or as a message on the page ``back`` (a URL) for a plain form."""
    if request.htmx:
        return HttpResponse(f'<p class="error" role="alert">{escape(error)}</p>')
    messages.error(request, error)
    return redirect(back)


def ingest_status_response(
    request: AuthedRequest, record: IngestRecord, *, page: str, context: dict[str, Any]
) -> HttpResponse:
    """The record's ``page``, or for an htmx poll just its status partial.

    A finished record answers the poll with 286 (htmx stops polling) and triggers
    ``job-finished`` so the sections waiting on the job refresh themselves.
    """
    if not request.htmx:
        return render(request, page, context)
    response = render(request, STATUS_PARTIAL, {**context, "record": record})
    if record.is_finished:
        response.status_code = HttpResponseStopPolling.status_code
        trigger_client_event(response, "job-finished")
    return response


def content_length(request: HttpRequest) -> int:
    """The declared body size, so an oversized upload is refused before its body is read."""
    try:
        return max(0, int(request.META.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0
