"""Real RQ worker processes killed and stopped mid-job (SECURITY.md scenarios 40 and 41).

Each test starts ``manage.py jobs_worker`` on the real Redis and database. RQ puts its work horse
in a process group of its own, so signals go to the worker and the horse by pid, as systemd
(``KillMode=control-group``) and ``kill -9`` of both do.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import django_rq
import psutil
import pytest
from django.conf import LazySettings
from django.db import connection

from oncology_ui.core.jobs import job_enqueue, jobs_reconcile
from oncology_ui.core.models import Job
from tests.factories import CaseFactory
from tests.oncology_ui.core import worker_jobs
from tests.paths import REPO_ROOT

# Each test starts real worker processes and waits on heartbeats: tens of seconds each.
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _start_worker(*, sleep_seconds: int, burst: bool = False) -> subprocess.Popen[str]:
    db = connection.settings_dict
    env = dict(os.environ)
    env["DATABASE_URL"] = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    env["TEST_JOB_SLEEP_SECONDS"] = str(sleep_seconds)
    env["JOBS_HEARTBEAT_SECONDS"] = "1"
    env["DJANGO_SETTINGS_MODULE"] = "oncology_ui.settings"
    args = ["--burst"] if burst else []
    return subprocess.Popen(
        [sys.executable, "-c", worker_jobs.WORKER_SCRIPT, *args],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _signal_all(worker: subprocess.Popen[str], sig: signal.Signals) -> None:
    """Signal the worker and every process it started (its work horse)."""
    try:
        processes = [psutil.Process(worker.pid), *psutil.Process(worker.pid).children(True)]
    except psutil.NoSuchProcess:
        return
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.send_signal(sig)


def _stop(worker: subprocess.Popen[str]) -> None:
    if worker.poll() is None:
        _signal_all(worker, signal.SIGKILL)
        worker.wait(timeout=30)


def _wait_for(job: Job, status: str, worker: subprocess.Popen[str], timeout: float = 90) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status == status:
            return job
        if worker.poll() is not None:
            break
        time.sleep(0.2)
    _stop(worker)
    output = worker.communicate(timeout=30)[0]
    raise AssertionError(f"job {job.pk} is {job.status}, not {status}; worker said:\n{output}")


def _finished_by_a_new_worker(job: Job) -> Job:
    """A fresh burst worker takes ``job`` from Redis, runs it to success and exits cleanly."""
    rerun = _start_worker(sleep_seconds=0, burst=True)
    job = _wait_for(job, Job.Status.SUCCEEDED, rerun)
    assert rerun.wait(timeout=60) == 0
    return job


@contextlib.contextmanager
def _running_slow_job(*, sleep_seconds: int) -> Iterator[tuple[Job, subprocess.Popen[str]]]:
    """A worker process that has started a job sleeping ``sleep_seconds``; killed on exit."""
    job = job_enqueue(kind="test_sleeps", target=CaseFactory.create())
    worker = _start_worker(sleep_seconds=sleep_seconds)
    try:
        yield _wait_for(job, Job.Status.RUNNING, worker), worker
    finally:
        _stop(worker)


def test_a_running_job_keeps_beating_and_a_killed_workers_job_is_requeued_within_minutes(
    queue: django_rq.queues.Queue, settings: LazySettings
) -> None:
    settings.JOBS_STALE_AFTER_SECONDS = 4
    with _running_slow_job(sleep_seconds=120) as (job, worker):
        started_beat = job.heartbeat_at
        assert started_beat is not None
        time.sleep(6)  # longer than the stale limit: only a live heartbeat keeps it running
        assert jobs_reconcile() == {"requeued": 0, "failed": 0}
        job.refresh_from_db()
        assert job.status == Job.Status.RUNNING
        assert job.heartbeat_at is not None and job.heartbeat_at > started_beat
        _signal_all(worker, signal.SIGKILL)  # worker and work horse, no chance to clean up
        worker.wait(timeout=30)
    time.sleep(5)  # the heartbeat goes stale
    assert jobs_reconcile() == {"requeued": 1, "failed": 0}
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED
    # A new worker finishes it; the killed attempt left no result behind.
    job = _finished_by_a_new_worker(job)
    assert job.result == {"slept_on_attempt": 2} and job.attempts == 2


def test_sigterm_to_the_worker_and_its_horse_returns_the_running_job_to_the_queue(
    queue: django_rq.queues.Queue,
) -> None:
    with _running_slow_job(sleep_seconds=120) as (job, worker):
        _signal_all(worker, signal.SIGTERM)  # what systemd sends to the whole unit
        output = worker.communicate(timeout=60)[0]
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED, output
    assert job.attempts == 0  # a stopping worker is not the job's fault
    assert "worker was stopping" in job.message
    # Returned to Redis too, so the next worker takes it without waiting for the reconciler.
    job = _finished_by_a_new_worker(job)
    assert job.result == {"slept_on_attempt": 1}


def test_sigterm_to_the_worker_alone_lets_the_running_job_finish(
    queue: django_rq.queues.Queue,
) -> None:
    with _running_slow_job(sleep_seconds=3) as (job, worker):
        worker.send_signal(signal.SIGTERM)  # warm shutdown: the horse is left to finish
        output = worker.communicate(timeout=60)[0]
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, output
