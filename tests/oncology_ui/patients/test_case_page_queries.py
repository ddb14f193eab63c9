"""The case page's database budget: every section reads its own rows once."""

from __future__ import annotations

import pytest
from django.db import connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.oncology_ui.conftest import Cast

pytestmark = pytest.mark.django_db


def test_the_case_page_with_every_section_stays_within_its_query_budget(
    cast: Cast, oncologist_client: Client
) -> None:
    url = reverse("patients-case", args=[cast.case.pk])
    oncologist_client.get(url)
    with CaptureQueriesContext(connections["default"]) as queries:
        assert oncologist_client.get(url).status_code == 200
    statements = [q["sql"] for q in queries.captured_queries]
    # Session, user, case, permissions and the audit insert (5 statements), then about two per
    # section; 31 when this test was written.
    assert len(statements) <= 32, "\n".join(s[:120] for s in statements)
    reads = [s.split(" WHERE ")[0] for s in statements if s.startswith("SELECT")]
    events = [s for s in reads if 'FROM "patients_timelineevent"' in s]
    assert len(events) == 1, "the timeline and the summary share one read of the events"
