"""The cohort builder: survival of our own patients, the minimum group size, scope and audit."""

from __future__ import annotations

import csv
import io
from typing import Any

import numpy as np
import pytest
from django.test import Client
from django.urls import reverse

from inference.survival.logrank import logrank_test
from oncology_ui.analysis.selectors import DAYS_PER_MONTH
from oncology_ui.cohorts.selectors import CohortFilter, cohort_cases, cohort_compare
from oncology_ui.core.models import AccessLog
from oncology_ui.patients.models import Case
from tests.oncology_ui.cohorts.conftest import followed_case
from tests.oncology_ui.conftest import Cast, signed_in_client

pytestmark = pytest.mark.django_db

ER_POSITIVE = {"a-biomarker": "ER", "a-biomarker_status": "positive"}
COMPARE_ER = {
    **ER_POSITIVE,
    "b-enabled": "on",
    "b-biomarker": "ER",
    "b-biomarker_status": "negative",
}


def _get(client: Client, name: str, query: dict[str, str], **headers: Any) -> Any:
    return client.get(reverse(name), query, **headers)


def test_it_draws_the_survival_of_a_cohort_with_landmarks_and_numbers_at_risk(
    cast: Cast, breast_cohort: dict[str, list[Case]]
) -> None:
    response = _get(signed_in_client(cast.oncologist), "cohorts-builder", ER_POSITIVE)
    assert response.status_code == 200
    page = response.content.decode()
    assert "data:image/svg+xml;base64," in page
    group = response.context["comparison"].first
    assert (group.patients, group.events) == (6, 2)
    # By hand: deaths at day 400 (6 at risk) and 1500 (3 at risk): S(1 y) = 1, S(5 y) = 5/6 * 2/3.
    one, three, five = group.landmarks
    assert one.survival == pytest.approx(1.0)
    assert three.survival == pytest.approx(5 / 6)
    assert five.survival == pytest.approx(5 / 6 * 2 / 3)
    assert five.lower < five.survival < five.upper
    # Followed 400, 700, 1200, 1500, 2000 and 2200 days: at 1 y all six, at 2 y four, ...
    assert group.at_risk == (6, 6, 4, 4, 3, 2)
    assert "not reached" in page  # the median is not reached (S stays above one half)


def test_two_cohorts_are_compared_by_log_rank_as_the_test_computes_it(
    cast: Cast, breast_cohort: dict[str, list[Case]], settings: object
) -> None:
    settings.COHORT_MIN_GROUP_SIZE = 3  # type: ignore[attr-defined]
    response = _get(signed_in_client(cast.oncologist), "cohorts-builder", COMPARE_ER)
    comparison = response.context["comparison"]

    def months(cases: list[Case]) -> tuple[np.ndarray, np.ndarray]:
        times, events = [], []
        for case in cases:
            end = case.patient.date_of_death or case.patient.last_contact_date
            assert end is not None
            times.append((end - case.diagnosis_date).days / DAYS_PER_MONTH)
            events.append(1.0 if case.patient.date_of_death else 0.0)
        return np.array(times), np.array(events)

    expected = logrank_test(*months(breast_cohort["positive"]), *months(breast_cohort["negative"]))
    assert comparison.logrank.chi_square == pytest.approx(expected.chi_square)
    assert comparison.logrank.p_value == pytest.approx(expected.p_value)
    assert f"{expected.chi_square:.2f}" in response.content.decode()


def test_it_never_shows_a_group_smaller_than_the_minimum(
    cast: Cast, breast_cohort: dict[str, list[Case]]
) -> None:
    client = signed_in_client(cast.oncologist)
    response = _get(client, "cohorts-builder", COMPARE_ER)
    page = response.content.decode()
    second = response.context["comparison"].second
    assert not second.shown and second.patients is None and second.landmarks == ()
    assert "Fewer than 5 patients; not shown." in page
    assert response.context["comparison"].logrank is None
    assert "each cohort needs at least 5 patients" in page
    exported = _get(client, "cohorts-export-csv", COMPARE_ER).content.decode()
    rows = list(csv.reader(io.StringIO(exported)))
    b_rows = [row for row in rows if row[0] == "B"]
    assert b_rows == [
        ["B", "all cancer types, ER negative", "suppressed", "", "fewer than 5 patients; not shown"]
    ]
    assert not any(row[0] == "A vs B" for row in rows)
    png = _get(client, "cohorts-export-png", COMPARE_ER)
    assert png["Content-Type"] == "image/png" and png.content.startswith(b"\x89PNG")


def test_the_minimum_is_a_setting(
    cast: Cast, breast_cohort: dict[str, list[Case]], settings: object
) -> None:
    settings.COHORT_MIN_GROUP_SIZE = 7  # type: ignore[attr-defined]
    response = _get(signed_in_client(cast.oncologist), "cohorts-builder", ER_POSITIVE)
    assert not response.context["comparison"].first.shown
    assert "Fewer than 7 patients; not shown." in response.content.decode()


def test_a_user_never_counts_patients_outside_their_teams(
    cast: Cast, breast_cohort: dict[str, list[Case]]
) -> None:
    for _ in range(5):
        followed_case(cast, died_after=100, team="lung")
    everyone = CohortFilter()
    breast_ids = {c.patient_id for c in cohort_cases(cast.oncologist, everyone)}
    lung_ids = {c.patient_id for c in cohort_cases(cast.outsider, everyone)}
    assert len(breast_ids) == 10 and len(lung_ids) == 6
    assert not breast_ids & lung_ids
    # Naming the other team in the query does not widen the scope.
    other_team = CohortFilter(team=cast.lung_team.pk)
    assert cohort_cases(cast.oncologist, other_team) == []
    response = _get(
        signed_in_client(cast.oncologist), "cohorts-builder", {"a-team": str(cast.lung_team.pk)}
    )
    assert response.status_code == 400  # not one of the user's teams: refused by the form
    assert cohort_compare(cast.outsider, everyone, None).first.patients == 6


def test_every_look_and_export_is_audited(cast: Cast, breast_cohort: dict[str, list[Case]]) -> None:
    client = signed_in_client(cast.oncologist)
    before = AccessLog.objects.count()
    _get(client, "cohorts-builder", ER_POSITIVE)
    _get(client, "cohorts-export-csv", ER_POSITIVE)
    _get(client, "cohorts-export-png", ER_POSITIVE)
    rows = list(AccessLog.objects.order_by("id")[before:])
    assert [(r.action, r.category, r.username) for r in rows] == [
        ("view", "cohort", "onco"),
        ("export", "cohort", "onco"),
        ("export", "cohort", "onco"),
    ]
    reference = CohortFilter(biomarker="ER", biomarker_status="positive").reference()
    assert all(r.object_ref == f"{reference} n=6" for r in rows)


def test_htmx_gets_the_results_partial_and_plain_get_the_page(
    cast: Cast, breast_cohort: dict[str, list[Case]]
) -> None:
    client = signed_in_client(cast.oncologist)
    partial = _get(client, "cohorts-builder", ER_POSITIVE, HTTP_HX_REQUEST="true").content.decode()
    assert partial.lstrip().startswith('<div id="cohort-results">')
    full = _get(client, "cohorts-builder", {}).content.decode()
    assert "<form" in full and "Choose the filters of a cohort" in full


def test_bad_filters_get_a_message_not_an_error(cast: Cast) -> None:
    client = signed_in_client(cast.oncologist)
    query = {"a-diagnosed_from": "2020-01-01", "a-diagnosed_to": "2019-01-01"}
    response = _get(client, "cohorts-builder", query)
    assert response.status_code == 400
    assert "is after" in response.content.decode()
    export = _get(client, "cohorts-export-csv", query)
    assert export.status_code == 400 and "is after" in export.content.decode()
    assert _get(client, "cohorts-export-csv", {}).status_code == 400


def test_roles_and_methods(cast: Cast, breast_cohort: dict[str, list[Case]]) -> None:
    pathologist = signed_in_client(cast.pathologist)
    assert _get(pathologist, "cohorts-builder", ER_POSITIVE).status_code == 200
    assert _get(pathologist, "cohorts-export-csv", ER_POSITIVE).status_code == 403
    assert signed_in_client(cast.oncologist).post(reverse("cohorts-builder")).status_code == 405
    assert Client().get(reverse("cohorts-builder")).status_code == 302
