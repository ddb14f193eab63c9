"""A job kind for tests that drive real worker processes (imported by the worker, see below).

``test_sleeps`` stands for a long slide ingest or model run: it reports progress, then sleeps
for ``TEST_JOB_SLEEP_SECONDS`` (read in the worker's environment, so a first worker can hang
and a second one finish at once).
"""

from __future__ import annotations

import os
import time

from oncology_ui.core.jobs import JobKind, ProgressCallback, job_kinds_install
from oncology_ui.core.models import Job


def _sleeps(job: Job, progress: ProgressCallback) -> dict[str, object]:
    progress(10, "Reading")
    time.sleep(float(os.environ.get("TEST_JOB_SLEEP_SECONDS", "0")))
    return {"slept_on_attempt": job.attempts}


job_kinds_install({"test_sleeps": JobKind(_sleeps)})


# Run by the test as `python -c`: install the kind above, then start the real worker command.
WORKER_SCRIPT = """
import django, sys
django.setup()
import tests.oncology_ui.core.worker_jobs
from django.core.management import call_command
call_command("jobs_worker", *sys.argv[1:])
"""
