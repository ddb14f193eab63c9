"""Background jobs whose database row is the state.

Each kind of job is a :class:`JobKind` in the table of :mod:`oncology_ui.casepage.composition`
(installed at start-up): its handler receives the ``Job`` row and a progress callback, calls a
service, and must be safe to run twice. :func:`job_enqueue` writes the row and hands only its id
to the runner after the surrounding transaction commits: RQ (``REDIS_URL`` set) or an in-process
thread pool (the embedded default).

A running job beats: a thread stamps ``heartbeat_at`` every ``JOBS_HEARTBEAT_SECONDS``, so the
reconciler can tell a dead worker's job (no beat for ``JOBS_STALE_AFTER_SECONDS``) from a long
one within minutes instead of waiting out the whole job timeout. SIGTERM to a work horse (a
deploy, systemd stopping the unit) returns its job to the queue instead of leaving it running.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from types import FrameType
from typing import Protocol

from django.conf import settings
from django.db import connections, models, transaction
from django.db.models import F
from django.utils import timezone

from oncology_ui.core.logsafe import log_failure
from oncology_ui.core.models import Job

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[int, str], None]


class JobHandler(Protocol):
    def __call__(self, job: Job, progress: ProgressCallback) -> dict[str, object] | None: ...


class JobError(Exception):
    """A failure whose message a person can act on; shown on the page as it is."""


class PermanentJobError(JobError):
    """A failure that retrying cannot fix (a file that cannot be read, for example)."""


class WorkerStopping(BaseException):
    """Raised inside a running job when its worker is told to stop (SIGTERM).

    A BaseException, like KeyboardInterrupt, so a handler's ``except Exception`` cannot
    swallow it and carry on past the shutdown.
    """


@dataclass(frozen=True)
class JobKind:
    """A kind of job: the function that runs it and its name as people read it."""

    handler: JobHandler
    label: str = ""


_KINDS: dict[str, JobKind] = {}
_executor: ThreadPoolExecutor | None = None


def job_kinds_install(kinds: Mapping[str, JobKind]) -> None:
    """Make ``kinds`` runnable here: called once at start-up with the composition's table
    (``CasePageConfig.ready``); tests add their own kinds the same way."""
    for kind, spec in kinds.items():
        if kind in _KINDS and _KINDS[kind] != spec:
            raise ValueError(f"job kind {kind!r} is already installed")
        _KINDS[kind] = spec


def job_label(kind: str) -> str:
    """The kind's label, else the kind in words (``slide_ingest`` -> "Slide ingest")."""
    spec = _KINDS.get(kind)
    return (spec.label if spec else "") or kind.replace("_", " ").capitalize()


def job_kinds() -> list[str]:
    return sorted(_KINDS)


def job_enqueue(
    *,
    kind: str,
    target: models.Model,
    user: object | None = None,
    idempotency_key: str | None = None,
    message: str = "Waiting to start",
) -> Job:
    """Create the job row and dispatch it once the current transaction commits.

    Args:
        kind: an installed job kind.
        target: the row the job works on; only its label and primary key are stored.
        user: who asked for it.
        idempotency_key: a key that makes a second identical request return the first job.
    """
    if kind not in _KINDS:
        raise ValueError(f"unknown job kind {kind!r}")
    if idempotency_key:
        existing = Job.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing
    # Ask the queue before writing anything: with Redis down the request fails here, inside the
    # service's transaction, so no row is committed for the reconciler to run after the person
    # has already been told to try again (their retry would be a second job).
    _queue_check()
    job = Job.objects.create(
        kind=kind,
        target_model=target._meta.label_lower,
        target_id=target.pk,
        created_by=user if getattr(user, "is_authenticated", False) else None,  # type: ignore[misc]
        idempotency_key=idempotency_key,
        max_attempts=settings.JOBS_MAX_ATTEMPTS,
        message=message,
    )
    job_id = job.pk
    transaction.on_commit(lambda: _dispatch_committed(job_id))
    return job


def _queue_check() -> None:
    """Raise the queue's connection error now if Redis does not answer."""
    if settings.JOBS_BACKEND == "rq":
        import django_rq

        django_rq.get_connection(settings.JOBS_QUEUE).ping()


def _dispatch_committed(job_id: int) -> None:
    """Dispatch a just-committed job; if the queue refuses it, fail the row and re-raise.

    Redis can go away between :func:`_queue_check` and the commit. The row is committed by
    then, and the person gets the 503 page: the job is failed so that nothing runs it later
    behind their back, and their retry is the only run.
    """
    try:
        job_dispatch(job_id)
    except Exception:
        Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(
            status=Job.Status.FAILED,
            finished_at=timezone.now(),
            message="Failed",
            error="The job could not be queued: the job service was unavailable. Start it again.",
        )
        raise


def job_dispatch(job_id: int) -> None:
    """Hand the job id to the configured runner. Only the id travels."""
    if settings.JOBS_BACKEND == "rq":
        import django_rq

        queue = django_rq.get_queue(settings.JOBS_QUEUE)
        rq_job = queue.enqueue(
            "oncology_ui.core.jobs.job_run",
            job_id,
            job_timeout=settings.JOBS_TIMEOUT_SECONDS,
            result_ttl=3600,
            failure_ttl=7 * 24 * 3600,
        )
        Job.objects.filter(pk=job_id).update(rq_job_id=rq_job.id)
    else:
        _in_process_executor().submit(_run_in_thread, job_id)


def _in_process_executor() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="oncoboard-job")
    return _executor


def jobs_in_process_drain() -> None:
    """Wait for the in-process executor's queued and running jobs to end (no-op without one).

    A management command that enqueued jobs calls this before its last words, so the runner's
    log lines come before them, not after (``seed_demo`` prints the demo passwords last).
    """
    global _executor
    executor, _executor = _executor, None
    if executor is not None:
        executor.shutdown(wait=True)


def _run_in_thread(job_id: int) -> None:
    try:
        job_run(job_id)
    finally:
        # Worker threads own their connections; leaving them open leaks one per job.
        connections.close_all()


def _claim(job_id: int) -> Job | None:
    """Move a queued job to running; None when another runner has it, or it is finished or gone.

    One conditional UPDATE decides, so two runners (a worker and the in-process executor, or a
    command running the job here) cannot both start it, on SQLite as on PostgreSQL.
    """
    now = timezone.now()
    claimed = Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(
        status=Job.Status.RUNNING,
        attempts=F("attempts") + 1,
        started_at=now,
        heartbeat_at=now,
        error="",
        message="Started",
    )
    return Job.objects.filter(pk=job_id).first() if claimed else None


def job_run(job_id: int) -> str:
    """Run one job by id: the function RQ workers and the in-process executor call.

    1. Claim the row (``queued`` -> ``running``); a job another runner has, or a finished one,
       is skipped. Safe to call twice.
    2. Run the handler while a heartbeat thread stamps the row and SIGTERM is turned into
       :class:`WorkerStopping`.
    3. Record the outcome, unless the reconciler gave the job to another runner meanwhile.
       A stopped worker's job goes back to the queue without using up an attempt.

    Returns the final status, "skipped" or "returned".
    """
    job = _claim(job_id)
    if job is None:
        _log_skipped(job_id)
        return "skipped"
    spec = _KINDS.get(job.kind)
    if spec is None:
        _finish(job, Job.Status.FAILED, error=f"This kind of job ({job.kind}) is not known here.")
        return Job.Status.FAILED

    def progress(percent: int, message: str) -> None:
        Job.objects.filter(pk=job.pk).update(
            progress=max(0, min(100, percent)), message=message[:300], heartbeat_at=timezone.now()
        )

    try:
        with _heartbeat(job), _sigterm_stops_the_job():
            result = spec.handler(job, progress) or {}
    except WorkerStopping:
        _return_to_queue(job)
        return "returned"
    except JobError as exc:
        _finish(job, Job.Status.FAILED, error=str(exc))
        return Job.Status.FAILED
    except Exception as exc:
        if _is_timeout(exc):
            minutes = max(1, round(settings.JOBS_TIMEOUT_SECONDS / 60))
            logger.error("job %s (%s) passed its time limit", job.pk, job.kind)
            _finish(
                job,
                Job.Status.FAILED,
                error=f"The job ran longer than its time limit (about {minutes} min) and was "
                "stopped. Start it again; if it stops again, tell your administrator the job "
                f"number {job.pk}.",
            )
            return Job.Status.FAILED
        # Class and frames only: the message can quote the record the handler was reading.
        log_failure(logger, exc, "job %s (%s)", job.pk, job.kind)
        _finish(
            job,
            Job.Status.FAILED,
            error=f"The job stopped with an internal error ({type(exc).__name__}). "
            f"Try again; if it fails again, tell your administrator the job number {job.pk}.",
        )
        return Job.Status.FAILED
    _finish(job, Job.Status.SUCCEEDED, result=result)
    return Job.Status.SUCCEEDED


def _is_timeout(exc: BaseException) -> bool:
    """RQ's job timeout (raised inside the handler by the worker's alarm)."""
    try:
        from rq.timeouts import JobTimeoutException
    except ImportError:  # pragma: no cover - rq is a runtime dependency
        return False
    return isinstance(exc, JobTimeoutException)


def _this_attempt(job: Job) -> models.QuerySet[Job]:
    """The row while it is still this runner's: running, and not requeued and claimed again."""
    return Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING, attempts=job.attempts)


@contextmanager
def _heartbeat(job: Job) -> Iterator[None]:
    """Stamp ``heartbeat_at`` from a thread while the job runs, whatever the handler does."""
    stop = threading.Event()
    interval = settings.JOBS_HEARTBEAT_SECONDS

    def beat() -> None:
        try:
            while not stop.wait(interval):
                try:
                    if not _this_attempt(job).update(heartbeat_at=timezone.now()):
                        return  # requeued by the reconciler: this run's beats no longer count
                except Exception as exc:
                    # A database blip: keep beating; a long outage makes the job look dead,
                    # which is what the reconciler should then believe.
                    log_failure(logger, exc, "job %s heartbeat", job.pk, level=logging.WARNING)
        finally:
            connections.close_all()  # this thread's own connection

    thread = threading.Thread(target=beat, name=f"job-{job.pk}-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=interval + 5)


@contextmanager
def _sigterm_stops_the_job() -> Iterator[None]:
    """Turn SIGTERM into :class:`WorkerStopping` inside the handler (main thread only).

    RQ's work horse otherwise dies at once on SIGTERM (systemd sends it to the whole unit),
    leaving the row ``running`` until the reconciler notices. Threads cannot take signals, so
    the in-process executor is left alone.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: FrameType | None) -> None:
        raise WorkerStopping(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _return_to_queue(job: Job) -> None:
    returned = _this_attempt(job).update(
        status=Job.Status.QUEUED,
        attempts=F("attempts") - 1,  # a stopping worker is not the job's fault
        heartbeat_at=timezone.now(),
        message="Returned to the queue: its worker was stopping",
    )
    logger.warning("job %s returned to the queue: its worker is stopping", job.pk)
    if not returned:
        return
    try:
        job_dispatch(job.pk)
    except Exception:
        # Redis is going away too: the reconciler re-enqueues queued rows Redis does not hold.
        logger.warning("job %s could not be re-enqueued; the reconciler will", job.pk)


def _log_skipped(job_id: int) -> None:
    """Say in words why a runner skips a job: meeting a finished one is routine, not a fault.

    The demo's seed and the in-process executor both run the jobs they enqueue, so every demo
    run meets finished jobs; a vague "running elsewhere, finished or gone" read like an error.
    """
    status = Job.objects.filter(pk=job_id).values_list("status", flat=True).first()
    if status is None:
        logger.info("job %s no longer exists; nothing to run", job_id)
    elif status == Job.Status.RUNNING:
        logger.info("job %s is already running in another worker; not run again", job_id)
    elif status in {Job.Status.SUCCEEDED, Job.Status.FAILED}:
        logger.info("job %s has already %s; not run again", job_id, status)
    else:  # claimed and requeued by another runner between our UPDATE and this read
        logger.info("job %s was taken by another runner; not run here", job_id)


def _finish(
    job: Job, status: str, *, error: str = "", result: dict[str, object] | None = None
) -> None:
    now = timezone.now()
    fields = {
        "status": status,
        "finished_at": now,
        "heartbeat_at": now,
        "error": error,
        "progress": 100 if status == Job.Status.SUCCEEDED else job.progress,
        "message": "Finished" if status == Job.Status.SUCCEEDED else "Failed",
    }
    if result is not None:
        fields["result"] = result
    if not _this_attempt(job).update(**fields):
        # The reconciler took the job from this runner (its heartbeat went stale) and another
        # attempt owns the row now; this run's outcome must not overwrite that one.
        logger.warning("job %s attempt %s ended after it was taken over", job.pk, job.attempts)


def jobs_reconcile(*, stale_after: timedelta | None = None) -> dict[str, int]:
    """Requeue or fail jobs orphaned by a killed worker or a lost queue.

    1. A ``running`` job without a heartbeat for ``JOBS_STALE_AFTER_SECONDS`` lost its worker
       (running jobs beat every ``JOBS_HEARTBEAT_SECONDS``): requeue it if attempts remain,
       else fail it with a message.
    2. With RQ, a ``queued`` job that Redis no longer holds (a flushed or restarted Redis) or
       whose RQ job already ended is enqueued again; a ``running`` job whose RQ job ended
       failed is handled as in step 1.
    """
    stale_after = stale_after or timedelta(seconds=settings.JOBS_STALE_AFTER_SECONDS)
    cutoff = timezone.now() - stale_after
    counts = {"requeued": 0, "failed": 0}
    orphaned = list(Job.objects.filter(status=Job.Status.RUNNING, heartbeat_at__lt=cutoff))
    rq_status = _rq_status_reader()
    if rq_status is not None:
        for job in Job.objects.filter(status=Job.Status.RUNNING, heartbeat_at__gte=cutoff):
            if rq_status(job.rq_job_id) in _RQ_ENDED - {"finished"}:
                orphaned.append(job)
    for job in orphaned:
        if job.attempts < job.max_attempts:
            if _this_attempt(job).update(
                status=Job.Status.QUEUED, message="Restarting after an interrupted run"
            ):
                job_dispatch(job.pk)
                counts["requeued"] += 1
        else:
            _finish(
                job,
                Job.Status.FAILED,
                error="The job was interrupted too many times and was stopped. Start it again.",
            )
            counts["failed"] += 1
    if rq_status is not None:
        for job in Job.objects.filter(status=Job.Status.QUEUED):
            if rq_status(job.rq_job_id) in _RQ_ENDED:
                job_dispatch(job.pk)
                counts["requeued"] += 1
    return counts


# RQ states in which the RQ job will never run our row again (None: Redis does not hold it).
_RQ_ENDED: frozenset[str | None] = frozenset({"finished", "failed", "stopped", "canceled", None})


def _rq_status_reader() -> Callable[[str], str | None] | None:
    if settings.JOBS_BACKEND != "rq":
        return None
    import django_rq
    from rq.exceptions import NoSuchJobError
    from rq.job import Job as RQJob

    connection = django_rq.get_connection(settings.JOBS_QUEUE)

    def status(rq_job_id: str) -> str | None:
        if not rq_job_id:
            return None
        try:
            return str(RQJob.fetch(rq_job_id, connection=connection).get_status())
        except NoSuchJobError:
            return None

    return status
