"""The coordinator's side: search, trial page, reverse matching, work list, CSV, saved searches."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from oncology_ui.core.jobs import job_run
from oncology_ui.core.models import AccessLog
from oncology_ui.trials import services
from oncology_ui.trials.models import ReverseMatchRun, SavedSearch, WorkListEntry
from tests.factories import CaseFactory, PatientFactory
from tests.oncology_ui.conftest import Cast, signed_in_client
from tests.oncology_ui.trials.factories import (
    WorkListEntryFactory,
    fit_breast_case,
    import_trials,
    lung_record,
    trial,
    trial_record,
)

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def _denied() -> int:
    return AccessLog.objects.filter(action=AccessLog.Action.DENIED).count()


def test_search_by_text_and_filters(cast: Cast, coordinator_client: Client) -> None:
    import_trials(trial_record(), lung_record())
    url = reverse("trials-search")
    page = coordinator_client.get(url, {"text": "osimertinib lung"}).content.decode()
    assert "NCT90000002" in page and "NCT90000001" not in page
    assert "found by BM25 only" in page
    assert "NCT90000001" in coordinator_client.get(url, {"condition": "breast"}).content.decode()
    phase3 = coordinator_client.get(url, {"phase": "Phase 3"}, headers=HTMX).content.decode()
    assert phase3.lstrip().startswith('<div id="trial-results"')
    assert "NCT90000002" in phase3 and "NCT90000001" not in phase3
    marker = coordinator_client.get(url, {"biomarker": "egfr"}).content.decode()
    assert "NCT90000002" in marker
    closed = coordinator_client.get(url, {"status": "completed"}).content.decode()
    assert "No trial matches this search" in closed
    assert AccessLog.objects.filter(category="trial-search").exists()


def test_the_trial_page_shows_parsed_criteria_with_negation_and_free_text(
    cast: Cast, coordinator_client: Client
) -> None:
    trial()
    page = coordinator_client.get(reverse("trials-detail", args=["NCT90000001"])).content.decode()
    assert "Eligibility criteria as parsed" in page
    assert "bilirubin &lt;= 1.5 x ULN" in page
    assert "absence" in page  # "No known EGFR mutation"
    assert "not parsed (free text)" in page and "Pacientes embarazadas" in page
    assert "Rank our patients for this trial" in page
    assert coordinator_client.get(reverse("trials-detail", args=["NCT00000000"])).status_code == 404


def test_reverse_ranking_lists_only_team_patients_and_audits_each(
    cast: Cast, coordinator_client: Client
) -> None:
    import_trials(trial_record())
    fit_breast_case(cast.case)
    response = coordinator_client.post(
        reverse("trials-reverse-match", args=["NCT90000001"]), headers=HTMX
    )
    assert 'hx-trigger="job-finished from:body"' in response.content.decode()
    run = ReverseMatchRun.objects.get()
    assert run.job is not None
    job_run(run.job.pk)
    partial = coordinator_client.get(
        reverse("trials-reverse-ranking", args=["NCT90000001"]), headers=HTMX
    ).content.decode()
    assert cast.patient.mrn in partial and cast.other_patient.mrn not in partial
    assert "Flag on the work list" in partial and "Criteria checklist" in partial
    assert AccessLog.objects.filter(
        category="trial-screening", patient_id_snapshot=cast.patient.pk
    ).exists()


def test_an_oncologist_cannot_rank_patients_for_a_trial(
    cast: Cast, oncologist_client: Client
) -> None:
    trial()
    assert (
        oncologist_client.post(reverse("trials-reverse-match", args=["NCT90000001"])).status_code
        == 403
    )
    page = oncologist_client.get(reverse("trials-detail", args=["NCT90000001"])).content.decode()
    assert "Rank our patients" not in page


def test_flagging_another_teams_case_is_404_and_audited(
    cast: Cast, coordinator_client: Client
) -> None:
    trial()
    before = _denied()
    response = coordinator_client.post(
        reverse("trials-worklist-add", args=["NCT90000001"]), {"case_id": cast.other_case.pk}
    )
    assert response.status_code == 404 and _denied() == before + 1
    assert not WorkListEntry.objects.exists()
    coordinator_client.post(
        reverse("trials-worklist-add", args=["NCT90000001"]), {"case_id": cast.case.pk}
    )
    assert WorkListEntry.objects.get().case == cast.case


def test_worklist_moves_follow_the_allowed_transitions(cast: Cast) -> None:
    entry = WorkListEntryFactory.create(case=cast.case)
    entry = services.worklist_move(
        entry=entry, status="contacted", reason="", user=cast.coordinator
    )
    entry = services.worklist_move(
        entry=entry, status="screening", reason="", user=cast.coordinator
    )
    with pytest.raises(ValidationError, match="cannot move to flagged"):
        services.worklist_move(entry=entry, status="flagged", reason="", user=cast.coordinator)
    with pytest.raises(ValidationError, match="reason"):
        services.worklist_move(
            entry=entry, status="not_eligible", reason="  ", user=cast.coordinator
        )
    entry = services.worklist_move(
        entry=entry, status="not_eligible", reason="ECOG 3", user=cast.coordinator
    )
    entry.refresh_from_db()
    assert (entry.status, entry.reason) == ("not_eligible", "ECOG 3")
    steps = [(h.from_status, h.to_status, h.by) for h in entry.history.all()]
    assert steps == [
        ("flagged", "contacted", cast.coordinator),
        ("contacted", "screening", cast.coordinator),
        ("screening", "not_eligible", cast.coordinator),
    ]
    with pytest.raises(ValidationError, match="cannot move to enrolled"):
        services.worklist_move(entry=entry, status="enrolled", reason="", user=cast.coordinator)


def test_the_worklist_page_moves_and_explains_a_refusal(
    cast: Cast, coordinator_client: Client
) -> None:
    entry = WorkListEntryFactory.create(case=cast.case)
    url = reverse("trials-worklist-move", args=[entry.pk])
    refused = coordinator_client.post(url, {"status": "not_eligible"}, follow=True)
    assert "Give the reason the patient is not eligible" in refused.content.decode()
    wrong = coordinator_client.post(url, {"status": "enrolled"}, follow=True)
    assert "cannot move to enrolled" in wrong.content.decode()
    coordinator_client.post(url, {"status": "not_eligible", "reason": "Prior CDK4/6"})
    entry.refresh_from_db()
    assert entry.status == "not_eligible"
    page = coordinator_client.get(reverse("trials-worklist")).content.decode()
    assert cast.patient.mrn in page and "Prior CDK4/6" in page
    assert coordinator_client.get(url).status_code == 405


def test_another_teams_worklist_entry_is_404_with_one_denied_row(
    cast: Cast, coordinator_client: Client
) -> None:
    entry = WorkListEntryFactory.create(case=cast.other_case)
    before = _denied()
    response = coordinator_client.post(
        reverse("trials-worklist-move", args=[entry.pk]), {"status": "contacted"}
    )
    assert response.status_code == 404 and _denied() == before + 1
    entry.refresh_from_db()
    assert entry.status == "flagged"
    page = coordinator_client.get(reverse("trials-worklist")).content.decode()
    assert cast.other_patient.mrn not in page


def test_csv_export_neutralises_formulas_and_holds_only_team_entries(
    cast: Cast, coordinator_client: Client
) -> None:
    evil = CaseFactory.create(
        patient=PatientFactory.create(
            teams=[cast.breast_team], given_name="=HYPERLINK(1)", family_name="+SUM(A1)"
        ),
        primary_diagnosis="@cmd|' /C calc'!A0",
    )
    entry = WorkListEntryFactory.create(case=evil)
    services.worklist_move(entry=entry, status="not_eligible", reason="-2+3", user=cast.coordinator)
    WorkListEntryFactory.create(case=cast.other_case, trial=entry.trial)
    response = coordinator_client.get(reverse("trials-worklist-export"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Security-Policy"] == "sandbox"
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][0] == "NCT id" and len(rows) == 2
    cells = rows[1]
    for cell in cells:
        assert not cell.startswith(("=", "+", "-", "@")), cell
    assert "'+SUM(A1), =HYPERLINK(1)" in cells or any(c.startswith("'+SUM") for c in cells)
    assert "'@cmd|' /C calc'!A0" in cells and "'-2+3" in cells
    assert cast.other_patient.mrn not in response.content.decode()
    assert AccessLog.objects.filter(
        action=AccessLog.Action.EXPORT, patient_id_snapshot=evil.patient_id
    ).exists()


def test_only_coordinators_export_the_worklist(cast: Cast, oncologist_client: Client) -> None:
    assert oncologist_client.get(reverse("trials-worklist-export")).status_code == 403
    assert oncologist_client.get(reverse("trials-worklist")).status_code == 403


def test_saved_searches_belong_to_their_owner(cast: Cast, coordinator_client: Client) -> None:
    trial()
    coordinator_client.post(
        reverse("trials-search-save"), {"name": "HER2-neg breast", "condition": "breast"}
    )
    saved = SavedSearch.objects.get()
    assert (saved.owner, saved.params) == (cast.coordinator, {"condition": "breast"})
    page = coordinator_client.get(reverse("trials-search")).content.decode()
    assert "HER2-neg breast" in page and "condition=breast" in page
    other = signed_in_client(cast.outsider)
    before = _denied()
    assert other.post(reverse("trials-search-delete", args=[saved.pk])).status_code == 404
    assert _denied() == before + 1 and SavedSearch.objects.exists()
    coordinator_client.post(reverse("trials-search-delete", args=[saved.pk]))
    assert not SavedSearch.objects.exists()


def test_the_move_menu_offers_only_allowed_moves(cast: Cast, coordinator_client: Client) -> None:
    WorkListEntryFactory.create(case=cast.case)
    page = coordinator_client.get(reverse("trials-worklist")).content.decode()
    menu = page.split('<select name="status" id="move-status-', 1)[1].split("</select>", 1)[0]
    assert 'value="contacted"' in menu and 'value="not_eligible"' in menu
    assert 'value="enrolled"' not in menu and 'value="flagged"' not in menu


def test_the_move_menu_and_the_filter_have_labels(cast: Cast, coordinator_client: Client) -> None:
    entry = WorkListEntryFactory.create(case=cast.case)
    page = coordinator_client.get(reverse("trials-worklist")).content.decode()
    assert f'<label for="move-status-{entry.pk}"' in page
    assert f'id="move-status-{entry.pk}"' in page
    assert "Work-list status" in page


def test_the_csv_carries_the_trial_status_and_the_referral_note(
    cast: Cast, coordinator_client: Client
) -> None:
    closed = trial("NCT90000009", status="active_not_recruiting")
    services.referral_create(
        case=cast.case, trial=closed, note="Ask about cohort B", user=cast.oncologist
    )
    body = coordinator_client.get(reverse("trials-worklist-export")).content.decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    assert rows[0]["Trial status"] == "Active, not recruiting"
    assert rows[0]["Referral note"] == "Ask about cohort B"


def test_the_trial_page_shows_the_brief_summary_and_sites(
    cast: Cast, coordinator_client: Client
) -> None:
    from inference.trials.schema import Location

    trial(
        "NCT90000010",
        summary="A study of palbociclib after endocrine therapy.",
        locations=(
            Location("Royal Marsden Hospital", "London", "", "United Kingdom", "recruiting"),
        ),
    )
    page = coordinator_client.get(reverse("trials-detail", args=["NCT90000010"])).content.decode()
    assert "Brief summary" in page and "palbociclib after endocrine therapy" in page
    assert "Sites (1)" in page and "Royal Marsden Hospital" in page and "London" in page
    assert "Recruiting" in page


def test_reverse_matching_groups_patients_and_sinks_an_empty_record(
    cast: Cast, coordinator_client: Client
) -> None:
    import_trials(trial_record())
    fit_breast_case(cast.case)
    empty = CaseFactory.create(patient=PatientFactory.create(teams=[cast.breast_team]))
    high = CaseFactory.create(patient=PatientFactory.create(teams=[cast.breast_team]))
    from tests.oncology_ui.trials.factories import LabResultFactory

    LabResultFactory.create(case=high, value=60.0, value_text="60")  # bilirubin far above ULN
    coordinator_client.post(reverse("trials-reverse-match", args=["NCT90000001"]))
    run = ReverseMatchRun.objects.get()
    assert run.job is not None
    job_run(run.job.pk)
    from oncology_ui.trials.selectors import reverse_match_view

    view = reverse_match_view(ReverseMatchRun.objects.get(), cast.coordinator)
    groups = {g["key"]: g["items"] for g in view["groups"]}
    needs = [i["case"].pk for i in groups["needs_info"]]
    assert empty.pk in needs and [i["case"].pk for i in groups["excluded"]] == [high.pk]
    blank = next(i for i in groups["needs_info"] if i["case"].pk == empty.pk)
    fit = next(
        i for g in ("eligible", "needs_info") for i in groups[g] if i["case"].pk == cast.case.pk
    )
    assert blank["completeness"]["percent"] < fit["completeness"]["percent"]
    assert blank["resolvers"]  # what is missing is said
    if fit["group"] == "needs_info":
        assert needs.index(cast.case.pk) < needs.index(empty.pk)
    page = coordinator_client.get(reverse("trials-detail", args=["NCT90000001"])).content.decode()
    assert (
        page.index("Likely eligible") < page.index("Needs information") < page.index("Excluded (")
    )
    assert "Record completeness:" in page and "Excluded by:" in page and "Missing:" in page
