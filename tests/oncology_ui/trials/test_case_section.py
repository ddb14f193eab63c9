"""The oncologist's side: the case page's trials section, filters, re-run and referral."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from inference.trials import ENGINE_VERSION
from oncology_ui.core.jobs import job_run
from oncology_ui.core.models import AccessLog
from oncology_ui.trials.models import Referral, TrialMatchResult, WorkListEntry
from tests.oncology_ui.conftest import Cast, signed_in_client
from tests.oncology_ui.trials.factories import (
    fit_breast_case,
    import_trials,
    lung_record,
    trial_record,
)

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def _matched(cast: Cast, client: Client) -> TrialMatchResult:
    import_trials(
        trial_record(),
        # Closed: an open lung trial is for another cancer and would not be listed at all.
        replace(lung_record(), status="completed"),
        trial_record(
            "NCT90000004",
            title="Radiotherapy boost after breast-conserving surgery",
            interventions=("Radiation: boost",),
            phase="Phase 3",
            status="completed",
            eligibility_text="Inclusion Criteria:\n- Breast cancer after lumpectomy\n",
        ),
    )
    fit_breast_case(cast.case)
    response = client.post(reverse("trials-match", args=[cast.case.pk]))
    assert response.status_code == 302
    result = TrialMatchResult.objects.get(case=cast.case)
    assert result.job is not None
    job_run(result.job.pk)
    result.refresh_from_db()
    return result


def _trials_section(cast: Cast) -> str:
    """The case page with the trials section open (it is deferred on the plain case page)."""
    return reverse("patients-case-section", args=[cast.case.pk, "trials"])


def test_the_empty_section_offers_find_trials(cast: Cast, oncologist_client: Client) -> None:
    page = oncologist_client.get(_trials_section(cast)).content.decode()
    assert "No trial matches yet" in page and "Find trials" in page


def test_find_trials_queues_a_job_and_the_section_polls_until_it_finishes(
    cast: Cast, oncologist_client: Client
) -> None:
    import_trials(trial_record())
    response = oncologist_client.post(reverse("trials-match", args=[cast.case.pk]), headers=HTMX)
    content = response.content.decode()
    assert response.status_code == 200
    assert 'hx-trigger="job-finished from:body"' in content
    result = TrialMatchResult.objects.get(case=cast.case)
    assert result.matches is None and result.job is not None
    job_run(result.job.pk)
    section = oncologist_client.get(
        reverse("patients-case-section", args=[cast.case.pk, "trials"]), headers=HTMX
    ).content.decode()
    assert "NCT90000001" in section and "job-finished" not in section
    assert "Re-run matching" in section


def test_the_section_shows_checklist_evidence_resolvers_and_basis(
    cast: Cast, oncologist_client: Client
) -> None:
    _matched(cast, oncologist_client)
    page = oncologist_client.get(_trials_section(cast)).content.decode()
    assert "Palbociclib and letrozole" in page
    assert "Criteria checklist" in page and "<details>" in page
    assert "verdict-ok" in page and "unknown" in page
    assert "Pacientes embarazadas" in page and "not parsed" in page
    assert "review this criterion manually" in page
    assert "Not recorded (criteria about them stay unknown)" in page
    assert "BM25 only" in page and f"engine {ENGINE_VERSION}" in page


def test_filters_narrow_the_list_as_a_partial_and_as_a_page(
    cast: Cast, oncologist_client: Client
) -> None:
    _matched(cast, oncologist_client)
    url = reverse("trials-case-matches", args=[cast.case.pk])
    partial = oncologist_client.get(
        url, {"intervention_type": "radiation", "status": "any"}, headers=HTMX
    )
    content = partial.content.decode()
    assert content.lstrip().startswith('<div id="trial-match-list"')
    assert "NCT90000004" in content and "NCT90000001" not in content
    phase = oncologist_client.get(url, {"phase": "Phase 2", "status": "open"}).content.decode()
    assert "<html" in phase and "NCT90000001" in phase and "NCT90000004" not in phase
    biomarker = oncologist_client.get(
        url, {"biomarker_only": "on", "status": "any"}, headers=HTMX
    ).content.decode()
    # Only the lung trial requires a biomarker; "no known EGFR mutation" is an absence.
    assert "NCT90000002" in biomarker and "NCT90000001" not in biomarker
    none = oncologist_client.get(url, {"phase": "Phase 4"}, headers=HTMX).content.decode()
    assert "No ranked trial fits these filters" in none


def test_refer_to_coordinator_creates_a_referral_and_a_flagged_entry(
    cast: Cast, oncologist_client: Client
) -> None:
    _matched(cast, oncologist_client)
    response = oncologist_client.post(
        reverse("trials-refer", args=[cast.case.pk]),
        {"nct_id": "NCT90000001", "note": "Keen to join"},
        headers=HTMX,
    )
    assert response.status_code == 200
    assert "Referred to the trial coordinator" in response.content.decode()
    referral = Referral.objects.get()
    assert (referral.case, referral.from_user, referral.note) == (
        cast.case,
        cast.oncologist,
        "Keen to join",
    )
    entry = WorkListEntry.objects.get()
    assert entry.status == "flagged" and entry.referral == referral
    assert entry.history.count() == 1
    assert AccessLog.objects.filter(category="trial-referral").exists()


def test_a_referral_to_an_unknown_trial_is_refused_with_a_message(
    cast: Cast, oncologist_client: Client
) -> None:
    import_trials(trial_record())
    response = oncologist_client.post(
        reverse("trials-refer", args=[cast.case.pk]), {"nct_id": "NCT12345678"}, follow=True
    )
    assert "Choose a trial from the list" in response.content.decode()
    assert not Referral.objects.exists()


def test_another_teams_case_is_404_with_one_denied_row(
    cast: Cast, oncologist_client: Client
) -> None:
    for name, method in (
        ("trials-match", "post"),
        ("trials-case-matches", "get"),
        ("trials-refer", "post"),
    ):
        before = AccessLog.objects.filter(action=AccessLog.Action.DENIED).count()
        url = reverse(name, args=[cast.other_case.pk])
        response = getattr(oncologist_client, method)(url)
        assert response.status_code == 404, name
        assert AccessLog.objects.filter(action=AccessLog.Action.DENIED).count() == before + 1
    assert not TrialMatchResult.objects.exists()


def test_a_pathologist_sees_matches_but_cannot_run_or_refer(cast: Cast) -> None:
    client = signed_in_client(cast.pathologist)
    page = client.get(_trials_section(cast)).content.decode()
    assert "Find trials" not in page
    assert client.post(reverse("trials-match", args=[cast.case.pk])).status_code == 404


def result_first(cast: Cast) -> str:
    result = TrialMatchResult.objects.filter(case=cast.case).latest("id")
    assert result.matches
    return str(result.matches[0]["nct_id"])


def test_the_report_source_prints_the_top_open_matches(
    cast: Cast, oncologist_client: Client
) -> None:
    from oncology_ui.reports.trials import trials_report_source

    assert not trials_report_source(cast.case, False).available
    _matched(cast, oncologist_client)
    section = trials_report_source(cast.case, True)
    assert section.available
    # The learned ranking puts the completed radiotherapy-boost trial first overall; the report
    # follows the case page's default and lists the open palbociclib trial, counting the
    # closed ones it leaves out.
    assert result_first(cast) == "NCT90000004"
    assert section.lines[0].startswith("1. NCT90000001")
    assert not any("NCT90000004" in line for line in section.lines)
    assert "met" in section.lines[0] and "unknown" in section.lines[0]
    assert "closed or completed trial(s) of the ranking are left out" in section.lines[-2]
    assert f"engine {ENGINE_VERSION}" in section.lines[-1]


def test_the_section_loader_stays_cheap(
    cast: Cast, oncologist_client: Client, django_assert_max_num_queries: Any
) -> None:
    from django.test import RequestFactory

    from oncology_ui.trials.sections import trials_section

    _matched(cast, oncologist_client)
    request = RequestFactory().get("/")
    request.user = cast.oncologist
    cast.oncologist.has_perm("trials.view_trial")  # warm the permission cache
    with django_assert_max_num_queries(4):
        context = trials_section(request, cast.case)
    assert context["trial_view"]["total"] == 3


def test_the_section_says_when_the_corpus_changed_since_the_ranking(
    cast: Cast, oncologist_client: Client
) -> None:
    _matched(cast, oncologist_client)
    url = reverse("patients-case-section", args=[cast.case.pk, "trials"])
    assert "corpus has been updated" not in oncologist_client.get(url).content.decode()
    import_trials(trial_record("NCT90000009"))
    assert "corpus has been updated" in oncologist_client.get(url).content.decode()


def test_the_list_shows_recruiting_trials_by_default_and_closed_ones_when_asked(
    cast: Cast, oncologist_client: Client
) -> None:
    _matched(cast, oncologist_client)
    page = oncologist_client.get(_trials_section(cast)).content.decode()
    # NCT90000004 and the lung trial are completed: ranked, but hidden by default and said so.
    assert "NCT90000001" in page and "NCT90000004" not in page
    assert "2 ranked trials that are closed or of unknown status are hidden" in page
    url = reverse("trials-case-matches", args=[cast.case.pk])
    closed = oncologist_client.get(url, {"status": "completed"}, headers=HTMX).content.decode()
    assert "NCT90000004" in closed and "NCT90000001" not in closed
    assert "Completed · not taking patients" in closed
    assert "trial-status-closed" in closed
    every = oncologist_client.get(url, {"status": "any"}, headers=HTMX).content.decode()
    assert "NCT90000004" in every and "NCT90000001" in every


def test_statuses_read_as_words(cast: Cast, oncologist_client: Client) -> None:
    import_trials(trial_record(status="active_not_recruiting"))
    fit_breast_case(cast.case)
    oncologist_client.post(reverse("trials-match", args=[cast.case.pk]))
    result = TrialMatchResult.objects.get(case=cast.case)
    assert result.job is not None
    job_run(result.job.pk)
    url = reverse("trials-case-matches", args=[cast.case.pk])
    page = oncologist_client.get(url, {"status": "any"}, headers=HTMX).content.decode()
    assert "Active, not recruiting · not taking patients" in page
    assert ">active_not_recruiting" not in page and "· active_not_recruiting" not in page


def test_referring_a_trial_that_is_not_recruiting_asks_first_as_a_plain_form(
    cast: Cast, oncologist_client: Client
) -> None:
    _matched(cast, oncologist_client)
    url = reverse("trials-refer", args=[cast.case.pk])
    ask = oncologist_client.post(url, {"nct_id": "NCT90000004", "note": "Ask the PI"})
    content = ask.content.decode()
    assert ask.status_code == 200 and "<html" in content
    assert "Refer to a trial that is not recruiting?" in content
    assert 'name="confirm_not_recruiting"' in content and 'value="Ask the PI"' in content
    assert not Referral.objects.exists()
    confirmed = oncologist_client.post(
        url, {"nct_id": "NCT90000004", "note": "Ask the PI", "confirm_not_recruiting": "on"}
    )
    assert confirmed.status_code == 302
    assert Referral.objects.get().trial.nct_id == "NCT90000004"
    # The htmx form gets the same question as the section's swap target.
    partial = oncologist_client.post(url, {"nct_id": "NCT90000004"}, headers=HTMX)
    assert partial.content.decode().lstrip().startswith('<section id="section-trials"')
    assert Referral.objects.count() == 1
