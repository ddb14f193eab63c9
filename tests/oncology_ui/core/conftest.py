from __future__ import annotations

from collections.abc import Iterator

import django_rq
import pytest
from django.conf import settings


@pytest.fixture
def queue() -> Iterator[django_rq.queues.Queue]:
    """The jobs queue on the real Redis, emptied before and after the test."""
    assert settings.JOBS_BACKEND == "rq", "the suite runs jobs on the real Redis"
    q = django_rq.get_queue(settings.JOBS_QUEUE)
    q.connection.flushdb()
    yield q
    q.connection.flushdb()
