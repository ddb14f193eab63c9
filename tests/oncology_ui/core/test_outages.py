"""Outages met by signed-in people (issue #15 section 4; SECURITY.md scenarios 42 and 43).

The database outage here is real: the connection is pointed at a loopback port where nothing
listens, so every query the request makes fails the way it does when PostgreSQL is stopped.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import connections
from django.test import Client
from django.urls import reverse

from tests.oncology_ui.conftest import Cast

# Not wrapped in a transaction: the outage must reach a real connect attempt, not a closed
# handle inside the test's transaction.
pytestmark = pytest.mark.django_db(transaction=True)


@contextmanager
def database_down() -> Iterator[None]:
    """Point the default connection at a closed port for the duration of the block."""
    connection = connections["default"]
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict["PORT"] = "1"  # nothing listens there
    connection.settings_dict["OPTIONS"] = {**saved.get("OPTIONS", {}), "connect_timeout": 2}
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)


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
