"""Outages met by signed-in people (issue #15 section 4; SECURITY.md scenarios 42 and 43).

Redis outages point the job queue at a closed port the same way.

The database outage here is real: the connection is pointed at a loopback port where nothing
listens, so every query the request makes fails the way it does when PostgreSQL is stopped.
"""

from __future__ import annotations

from collections.abc import Iterator

import django_rq
import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from oncology_ui.core.jobs import jobs_reconcile
from oncology_ui.core.models import Job
from tests.oncology_ui.conftest import Cast
from tests.oncology_ui.core.helpers import database_down

# Not wrapped in a transaction: the outage must reach a real connect attempt, not a closed
# handle inside the test's transaction.
pytestmark = pytest.mark.django_db(transaction=True)


def _signed_in_browser(cast: Cast) -> Client:
    """A client that behaves as a browser: errors come back as pages, never as exceptions."""
    client = Client(raise_request_exception=False)
    client.force_login(cast.oncologist)  # a real session row and a real session cookie
    return client


@pytest.mark.parametrize(
    "url_name",
    ["core-health", "patients-list", "patients-case", "core-login", "core-job-status"],
)
def test_a_signed_in_request_during_a_database_outage_gets_the_503_page(
    cast: Cast, url_name: str
) -> None:
    args = {"patients-case": [cast.case.pk], "core-job-status": [1]}.get(url_name, [])
    url = reverse(url_name, args=args)
    client = _signed_in_browser(cast)
    assert client.cookies.get("sessionid") or client.cookies  # the session cookie is sent
    with database_down():
        response = client.get(url)
    assert response.status_code == 503, response.content[:300]
    assert response["Retry-After"] == "30"
    assert response["Cache-Control"].startswith("no-store")
    if url_name != "core-health":  # the health check answers JSON for load balancers
        assert "temporarily unavailable" in response.content.decode()


def test_the_same_session_works_again_as_soon_as_the_database_is_back(cast: Cast) -> None:
    """Recovery needs no restart: persistent connections are health-checked (scenario 43)."""
    client = _signed_in_browser(cast)
    url = reverse("patients-case", args=[cast.case.pk])
    assert client.get(url).status_code == 200  # a persistent connection is now open
    with database_down():
        assert client.get(url).status_code == 503
    assert client.get(url).status_code == 200


def test_a_signed_in_htmx_request_during_a_database_outage_gets_503(cast: Cast) -> None:
    client = _signed_in_browser(cast)
    url = reverse("patients-case-section", args=[cast.case.pk, "timeline"])
    with database_down():
        response = client.get(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 503
    assert response["Retry-After"] == "30"


def test_a_signed_in_post_during_a_database_outage_gets_503(cast: Cast) -> None:
    client = _signed_in_browser(cast)
    with database_down():
        response = client.post(reverse("patients-case-export", args=[cast.case.pk]))
    assert response.status_code == 503
    assert response["Retry-After"] == "30"


# --- Redis outages: a request answered 503 leaves no job behind to run later -------------------


@pytest.fixture
def redis_down(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point the job queue at a closed loopback port: connections are refused, as when Redis
    is stopped."""
    import django_rq.settings
    from django.conf import settings

    queue_config = django_rq.settings.QUEUES[settings.JOBS_QUEUE]
    monkeypatch.setitem(queue_config, "URL", "redis://127.0.0.1:1/15")  # nothing listens there
    yield


def test_an_export_asked_for_while_redis_is_down_answers_503_and_leaves_no_job(
    cast: Cast, oncologist_client: Client, redis_down: None
) -> None:
    response = oncologist_client.post(reverse("patients-case-export", args=[cast.case.pk]))
    assert response.status_code == 503
    assert "temporarily unavailable" in response.content.decode()
    assert response["Retry-After"] == "30"
    # Nothing committed that a reconciler would run later: the retry is the only export.
    assert not Job.objects.exists()


def test_an_analysis_asked_for_while_redis_is_down_leaves_neither_run_nor_job(
    cast: Cast, oncologist_client: Client, redis_down: None
) -> None:
    from oncology_ui.analysis.models import AnalysisRun

    response = oncologist_client.post(reverse("analysis-request", args=[cast.case.pk]))
    assert response.status_code == 503
    assert not Job.objects.exists() and not AnalysisRun.objects.exists()


def test_a_job_redis_refuses_at_commit_is_failed_and_never_run_later(
    cast: Cast, queue: django_rq.queues.Queue, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis answers when the row is written and is gone when the transaction commits."""
    import django_rq.settings
    from django.conf import settings
    from redis.exceptions import ConnectionError as RedisConnectionError

    from oncology_ui.patients.services import case_export_request

    with pytest.raises(RedisConnectionError), transaction.atomic():
        job = case_export_request(case=cast.case, user=cast.oncologist)
        queue_config = django_rq.settings.QUEUES[settings.JOBS_QUEUE]
        monkeypatch.setitem(queue_config, "URL", "redis://127.0.0.1:1/15")
    monkeypatch.undo()  # Redis is back
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert "could not be queued" in job.error
    assert jobs_reconcile() == {"requeued": 0, "failed": 0}
    assert queue.count == 0
