"""Jobs: the row is the state, enqueue happens on commit, RQ workers run them on the real Redis."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import django_rq
import pytest
from django.conf import LazySettings
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rq import SimpleWorker
from rq.serializers import JSONSerializer

from oncology_ui.core.jobs import (
    JobError,
    JobHandler,
    JobKind,
    job_enqueue,
    job_kinds_install,
    job_label,
    job_run,
    jobs_reconcile,
)
from oncology_ui.core.models import Job
from oncology_ui.patients.models import Case
from tests.factories import CaseFactory
from tests.oncology_ui.conftest import Cast
from tests.oncology_ui.core.helpers import manage_py

calls: list[int] = []


def _test_kind(kind: str) -> Callable[[JobHandler], JobHandler]:
    """Install the function below as the handler of ``kind``, as the composition does."""

    def install(handler: JobHandler) -> JobHandler:
        job_kinds_install({kind: JobKind(handler)})
        return handler

    return install


@_test_kind("test_records_call")
def _records_call(job: Job, progress: object) -> dict[str, object]:
    calls.append(job.pk)
    return {"seen": job.target_id}


@_test_kind("test_raises")
def _raises(job: Job, progress: object) -> None:
    raise RuntimeError("disk on fire")


@_test_kind("test_raises_with_record_text")
def _raises_with_record_text(job: Job, progress: object) -> None:
    """A parser failing on a record: its message, its cause's and its note quote the record."""
    try:
        raise KeyError("ZZCANARY-PATIENT cause")
    except KeyError as cause:
        error = ValueError("line 3: 'Jane ZZCANARY-PATIENT, dob 1960-01-01' is not a date")
        error.add_note("while reading ZZCANARY-PATIENT's note")
        raise error from cause


@_test_kind("test_raises_for_people")
def _raises_for_people(job: Job, progress: object) -> None:
    raise JobError("The slide could not be read: the file is truncated.")


@pytest.mark.django_db
def test_rollback_enqueues_nothing(queue: django_rq.queues.Queue) -> None:
    case = CaseFactory.create()
    with pytest.raises(RuntimeError), transaction.atomic():
        job_enqueue(kind="test_records_call", target=case)
        raise RuntimeError("the request failed after asking for the job")
    assert queue.count == 0
    assert not Job.objects.exists()


@pytest.mark.django_db
def test_commit_enqueues_one_job_carrying_only_the_row_id(
    queue: django_rq.queues.Queue, django_capture_on_commit_callbacks: object
) -> None:
    case = CaseFactory.create()
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        job = job_enqueue(kind="test_records_call", target=case)
    assert queue.count == 1
    rq_job = queue.jobs[0]
    assert list(rq_job.args) == [job.pk]  # JSON round trip: a list
    assert rq_job.kwargs == {}
    assert rq_job.func_name == "oncology_ui.core.jobs.job_run"
    assert queue.serializer is JSONSerializer
    job.refresh_from_db()
    assert job.rq_job_id == rq_job.id and job.status == Job.Status.QUEUED


@pytest.mark.django_db
def test_a_simple_worker_runs_a_job_to_succeeded_and_a_rerun_is_a_no_op(
    queue: django_rq.queues.Queue, django_capture_on_commit_callbacks: object
) -> None:
    case = CaseFactory.create()
    calls.clear()
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        job = job_enqueue(kind="test_records_call", target=case)
    SimpleWorker([queue], connection=queue.connection, serializer=queue.serializer).work(burst=True)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED
    assert job.progress == 100 and job.attempts == 1 and job.result == {"seen": case.pk}
    assert job_run(job.pk) == "skipped"
    assert calls == [job.pk]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("test_raises", "internal error (RuntimeError)"),
        ("test_raises_for_people", "The slide could not be read: the file is truncated."),
    ],
)
def test_a_raising_job_ends_failed_with_a_message(
    queue: django_rq.queues.Queue,
    django_capture_on_commit_callbacks: object,
    kind: str,
    message: str,
    cast: Cast,
    oncologist_client: Client,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        job = job_enqueue(kind=kind, target=cast.case)
    SimpleWorker([queue], connection=queue.connection, serializer=queue.serializer).work(burst=True)
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert message in job.error
    assert "disk on fire" not in job.error  # internals stay in the log, not on the page
    page = oncologist_client.get(reverse("core-job-status", args=[job.pk]), HTTP_HX_REQUEST="true")
    assert page.status_code == 286  # finished: htmx stops polling
    assert message in page.content.decode()


@pytest.mark.django_db
def test_a_failing_job_logs_its_kind_class_and_frames_never_the_record_text(
    queue: django_rq.queues.Queue, cast: Cast, caplog: pytest.LogCaptureFixture
) -> None:
    """Logs must never carry patient data: not the message, its cause's, its notes or locals."""
    job = job_enqueue(kind="test_raises_with_record_text", target=cast.case)
    with caplog.at_level(logging.DEBUG):
        assert job_run(job.pk) == Job.Status.FAILED
    job.refresh_from_db()
    assert job.error == (
        "The job stopped with an internal error (ValueError). Try again; if it fails again, "
        f"tell your administrator the job number {job.pk}."
    )
    assert caplog.records, "the failure is logged"
    for record in caplog.records:
        assert "ZZCANARY" not in logging.Formatter().format(record)
        assert "ZZCANARY" not in (record.exc_text or "")
    failure = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(failure) == 1
    assert f"job {job.pk} (test_raises_with_record_text)" in failure[0]
    assert "ValueError" in failure[0] and "caused by\nKeyError" in failure[0]
    assert "test_jobs.py:" in failure[0] and "in _raises_with_record_text" in failure[0]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_rq_worker_process_runs_the_export_job(
    queue: django_rq.queues.Queue, cast: Cast, settings: LazySettings
) -> None:
    """A forking RQ worker (`manage.py jobs_worker --burst`) on the real Redis and database."""
    from oncology_ui.patients.services import case_export_request

    job = case_export_request(case=Case.objects.get(pk=cast.case.pk), user=cast.oncologist)
    assert queue.count == 1
    db = connection.settings_dict
    env = dict(os.environ)
    env["DATABASE_URL"] = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    env["MEDIA_ROOT"] = str(settings.MEDIA_ROOT)
    result = manage_py("jobs_worker", "--burst", env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    exported = (Path(settings.MEDIA_ROOT) / str(job.result["file"])).read_text()
    assert "Lumpectomy" in exported


@pytest.mark.django_db
def test_reconcile_requeues_an_orphaned_running_job_and_fails_it_when_attempts_run_out(
    queue: django_rq.queues.Queue,
) -> None:
    case = CaseFactory.create()
    stale = timezone.now() - timedelta(hours=3)
    orphan, exhausted = (
        Job.objects.create(
            kind="test_records_call",
            target_model="patients.case",
            target_id=case.pk,
            status=Job.Status.RUNNING,
            attempts=attempts,
            max_attempts=3,
            heartbeat_at=stale,
        )
        for attempts in (1, 3)  # one attempt left, then none
    )
    counts = jobs_reconcile(stale_after=timedelta(hours=1))
    orphan.refresh_from_db()
    exhausted.refresh_from_db()
    assert orphan.status == Job.Status.QUEUED
    assert exhausted.status == Job.Status.FAILED and "interrupted" in exhausted.error
    assert counts == {"requeued": 1, "failed": 1}
    assert [list(j.args) for j in queue.jobs] == [[orphan.pk]]


@pytest.mark.django_db
def test_reconcile_re_enqueues_queued_jobs_that_redis_lost(queue: django_rq.queues.Queue) -> None:
    case = CaseFactory.create()
    lost = Job.objects.create(
        kind="test_records_call",
        target_model="patients.case",
        target_id=case.pk,
        status=Job.Status.QUEUED,
        rq_job_id="gone-after-flush",
    )
    counts = jobs_reconcile()
    assert counts["requeued"] == 1
    assert [list(j.args) for j in queue.jobs] == [[lost.pk]]


@pytest.mark.django_db
def test_an_idempotency_key_returns_the_first_job(queue: django_rq.queues.Queue) -> None:
    case = CaseFactory.create()
    first = job_enqueue(kind="test_records_call", target=case, idempotency_key="upload-123")
    second = job_enqueue(kind="test_records_call", target=case, idempotency_key="upload-123")
    assert first.pk == second.pk and Job.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_in_process_executor_runs_jobs_without_redis(settings: LazySettings) -> None:
    from concurrent.futures import wait

    from oncology_ui.core import jobs

    settings.JOBS_BACKEND = "inprocess"
    case = CaseFactory.create()
    job = Job.objects.create(
        kind="test_records_call", target_model="patients.case", target_id=case.pk
    )
    future = jobs._in_process_executor().submit(jobs._run_in_thread, job.pk)
    wait([future], timeout=30)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED


@pytest.mark.django_db(transaction=True)
def test_draining_the_in_process_runner_waits_for_the_jobs_it_was_given(
    settings: LazySettings,
) -> None:
    from oncology_ui.core import jobs

    settings.JOBS_BACKEND = "inprocess"
    case = CaseFactory.create()
    queued = [
        Job.objects.create(
            kind="test_records_call", target_model="patients.case", target_id=case.pk
        )
        for _ in range(3)
    ]
    for job in queued:
        jobs.job_dispatch(job.pk)
    jobs.jobs_in_process_drain()
    statuses = set(
        Job.objects.filter(pk__in=[j.pk for j in queued]).values_list("status", flat=True)
    )
    assert statuses == {Job.Status.SUCCEEDED}
    jobs.jobs_in_process_drain()  # nothing left to wait for: a no-op


def test_a_job_reads_as_its_label_or_its_kind_in_words() -> None:
    assert job_label("case_analysis") == "Model analysis"
    assert job_label("test_records_call") == "Test records call"


@pytest.mark.django_db
def test_a_job_already_running_elsewhere_is_not_started_a_second_time() -> None:
    case = CaseFactory.create()
    job = Job.objects.create(
        kind="test_records_call", target_model="patients.case", target_id=case.pk
    )
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING)  # another runner has it
    calls.clear()
    assert job_run(job.pk) == "skipped"
    assert calls == [] and Job.objects.get(pk=job.pk).attempts == 0


@pytest.mark.django_db
def test_a_skipped_run_says_plainly_what_state_the_job_is_in(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A second runner meeting a finished job is routine: its log line must not read as a fault."""
    case = CaseFactory.create()
    done = Job.objects.create(
        kind="test_records_call", target_model="patients.case", target_id=case.pk
    )
    assert job_run(done.pk) == Job.Status.SUCCEEDED
    running = Job.objects.create(
        kind="test_records_call", target_model="patients.case", target_id=case.pk
    )
    Job.objects.filter(pk=running.pk).update(status=Job.Status.RUNNING)
    with caplog.at_level("INFO", logger="oncology_ui.core.jobs"):
        job_run(done.pk)
        job_run(running.pk)
        job_run(987654321)
    lines = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert lines == [
        ("INFO", f"job {done.pk} has already succeeded; not run again"),
        ("INFO", f"job {running.pk} is already running in another worker; not run again"),
        ("INFO", "job 987654321 no longer exists; nothing to run"),
    ]


@_test_kind("test_overruns")
def _overruns(job: Job, progress: object) -> None:
    import time

    time.sleep(10)


@pytest.mark.django_db
def test_a_job_past_its_time_limit_fails_saying_so(
    queue: django_rq.queues.Queue,
    django_capture_on_commit_callbacks: object,
    settings: LazySettings,
) -> None:
    settings.JOBS_TIMEOUT_SECONDS = 1
    case = CaseFactory.create()
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        job = job_enqueue(kind="test_overruns", target=case)
    SimpleWorker([queue], connection=queue.connection, serializer=queue.serializer).work(burst=True)
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert "ran longer than its time limit" in job.error
    assert "internal error" not in job.error
