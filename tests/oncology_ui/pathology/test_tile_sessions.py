"""Slide tiles are requested by the hundred: they touch the session table at most once a minute."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from oncology_ui.core.image_sessions import recent_clear
from oncology_ui.core.middleware import SESSION_ACTIVE_KEY
from oncology_ui.pathology.models import Slide

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_copies_between_tests() -> Iterator[None]:
    recent_clear()
    yield
    recent_clear()


def _session_queries(queries: CaptureQueriesContext, *verbs: str) -> int:
    return sum(
        1
        for query in queries.captured_queries
        if "django_session" in query["sql"]
        and (not verbs or query["sql"].lstrip().upper().startswith(verbs))
    )


def _age_idle_clock(client: Client, seconds: float) -> None:
    session = client.session
    session[SESSION_ACTIVE_KEY] = time.time() - seconds
    session.save()


def _tile_urls(slide: Slide) -> list[str]:
    top = 11  # full resolution of the 2048 px fixture
    return [
        reverse("pathology-tile", args=[slide.pk, level, col, row])
        for level in (top - 1, top)
        for col in range(4)
        for row in range(4)
    ]


def test_a_burst_of_tiles_writes_the_session_at_most_once(
    ready_slide: Slide, pathologist_client: Client
) -> None:
    # The idle clock is due for its once-a-minute refresh: one write is allowed, not forty.
    _age_idle_clock(pathologist_client, 120)
    urls = _tile_urls(ready_slide)
    with CaptureQueriesContext(connection) as queries:
        for url in urls + urls:  # the second pass hits the tile cache
            assert pathologist_client.get(url).status_code == 200

    assert _session_queries(queries, "UPDATE", "INSERT") <= 1
    # The refresh did happen: tiles are a person at work and keep the session alive.
    assert time.time() - pathologist_client.session[SESSION_ACTIVE_KEY] < 30


def test_a_burst_of_tiles_reads_the_session_table_once(
    ready_slide: Slide, pathologist_client: Client
) -> None:
    _age_idle_clock(pathologist_client, 5)
    # Tiles follow the viewer page, which settles what a page stores in the session (the
    # second-factor check notes once that this clinician signs in with a password alone).
    assert (
        pathologist_client.get(reverse("pathology-viewer", args=[ready_slide.pk])).status_code
        == 200
    )
    with CaptureQueriesContext(connection) as queries:
        for url in _tile_urls(ready_slide):
            assert pathologist_client.get(url).status_code == 200

    assert _session_queries(queries) == 1


def test_the_idle_refresh_from_a_tile_keeps_what_a_page_stored_meanwhile(
    ready_slide: Slide, pathologist_client: Client
) -> None:
    _age_idle_clock(pathologist_client, 5)
    url = _tile_urls(ready_slide)[0]
    pathologist_client.get(url)  # this worker now holds a copy of the session
    # A page in another worker stores something and the idle clock falls due.
    row = SessionStore(pathologist_client.session.session_key)
    row["stored_by_a_page"] = "kept"
    row[SESSION_ACTIVE_KEY] = time.time() - 120
    row.save()
    from oncology_ui.core import image_sessions

    image_sessions.recent_forget(row.session_key)  # the copy is due for a refresh as well
    pathologist_client.get(url)

    fresh = SessionStore(row.session_key)
    assert fresh["stored_by_a_page"] == "kept"
    assert time.time() - fresh[SESSION_ACTIVE_KEY] < 30


def test_pages_still_read_the_session_on_every_request(
    ready_slide: Slide, pathologist_client: Client
) -> None:
    viewer = reverse("pathology-viewer", args=[ready_slide.pk])
    with CaptureQueriesContext(connection) as queries:
        for _ in range(3):
            assert pathologist_client.get(viewer).status_code == 200

    assert _session_queries(queries, "SELECT") == 3


def test_a_signed_out_client_gets_no_tiles(ready_slide: Slide, pathologist_client: Client) -> None:
    url = _tile_urls(ready_slide)[0]
    assert pathologist_client.get(url).status_code == 200
    pathologist_client.logout()

    assert pathologist_client.get(url).status_code == 302
