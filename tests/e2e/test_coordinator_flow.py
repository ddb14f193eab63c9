"""A trial coordinator's working day in the browser: rank the teams' patients for a trial, read
the groups (a near-empty record never reads as a good match), flag a patient, move the work-list
entry and export the list. The autouse console guard fails the test on any console error."""

from __future__ import annotations

import csv
import io

import pytest
from playwright.sync_api import Page, expect

from oncology_ui.core import roles
from oncology_ui.core.jobs import job_run
from oncology_ui.core.models import Team
from oncology_ui.trials.models import ReverseMatchRun, WorkListEntry
from tests.e2e.browser import BROWSER_MARKS, log_in
from tests.factories import CaseFactory, PatientFactory, UserFactory
from tests.oncology_ui.trials.factories import fit_breast_case, import_trials, trial_record

pytestmark = [*BROWSER_MARKS, pytest.mark.usefixtures("bm25_only_trials")]


def test_a_coordinator_ranks_patients_for_a_trial_flags_one_and_works_the_list(
    page: Page,
    team: Team,
) -> None:
    UserFactory.create(username="coord", role=roles.TRIAL_COORDINATOR, teams=[team])
    fitting = fit_breast_case(
        CaseFactory.create(
            patient=PatientFactory.create(teams=[team], family_name="Fitting"),
            primary_diagnosis="Breast cancer",
        )
    )
    # A record with nothing but a diagnosis: it must not lead the list as a "good" match.
    CaseFactory.create(
        patient=PatientFactory.create(teams=[team], family_name="Empty"),
        primary_diagnosis="Breast cancer",
        oncotree_code="BRCA",
    )
    import_trials(trial_record())

    log_in(page, "coord")
    page.goto("/trials/NCT90000001/")
    expect(page.get_by_role("heading", name="Brief summary")).to_be_visible()
    page.get_by_role("button", name="Rank our patients for this trial").click()
    expect(page.locator("#reverse-ranking .job")).to_be_visible()
    run = ReverseMatchRun.objects.get(trial__nct_id="NCT90000001")
    assert run.job is not None and job_run(run.job.pk) == "succeeded"

    ranking = page.locator("#reverse-ranking")
    expect(ranking).to_contain_text("Record completeness", timeout=15_000)
    groups = ranking.locator("section.reverse-group")
    expect(groups.first).to_be_visible()
    # The well-documented patient comes before the empty record, whatever groups they land in.
    names = ranking.locator("article.trial-match h4").all_inner_texts()
    assert [n for n in names if "FITTING" in n.upper()], names
    assert names.index(next(n for n in names if "FITTING" in n.upper())) < names.index(
        next(n for n in names if "EMPTY" in n.upper())
    )

    fitting_card = ranking.locator("article.trial-match", has_text=fitting.patient.mrn)
    fitting_card.get_by_role("button", name="Flag on the work list").click()
    page.wait_for_load_state("networkidle")
    assert WorkListEntry.objects.filter(case=fitting).count() == 1

    page.goto("/trials/worklist/")
    row = page.locator("table.worklist tbody tr", has_text=fitting.patient.mrn)
    expect(row).to_contain_text("Recruiting")
    row.get_by_label("Move to").select_option("contacted")
    row.get_by_role("button", name="Move").click()
    expect(page.locator("table.worklist tbody tr", has_text=fitting.patient.mrn)).to_contain_text(
        "Contacted"
    )

    response = page.request.get("/trials/worklist/export.csv")
    assert response.status == 200
    rows = list(csv.DictReader(io.StringIO(response.text())))
    assert len(rows) == 1
    assert "Trial status" in rows[0] and "Referral note" in rows[0]
