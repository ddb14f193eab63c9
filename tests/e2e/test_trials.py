"""An oncologist finds trials for a case in the browser, filters them and refers the patient."""

from __future__ import annotations

from dataclasses import replace

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from oncology_ui.core.jobs import job_run
from oncology_ui.core.models import Team
from oncology_ui.trials.models import Referral, TrialMatchResult
from tests.e2e.browser import BROWSER_MARKS, log_in, open_case
from tests.factories import CaseFactory
from tests.oncology_ui.trials.factories import (
    fit_breast_case,
    import_trials,
    lung_record,
    trial_record,
)

pytestmark = [*BROWSER_MARKS, pytest.mark.usefixtures("bm25_only_trials")]


def test_find_trials_filter_and_refer_without_a_page_reload(
    page: Page, team: Team, oncologist: User
) -> None:
    case = fit_breast_case(CaseFactory.create(patient__teams=[team]))
    # The lung trial is closed: an open one is for another cancer and is never listed.
    import_trials(trial_record(), replace(lung_record(), status="completed"))
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    log_in(page, oncologist.username)
    open_case(page, case)
    page.evaluate("window.__noReload = true")
    section = page.locator("#section-trials")
    section.get_by_role("button", name="Find trials").click()
    expect(section.locator(".job")).to_be_visible()
    # No worker runs in the browser tests: run the queued job here; the section's job-status
    # poll then fires "job-finished" and the section refreshes itself.
    job = TrialMatchResult.objects.get(case=case).job
    assert job is not None
    job_run(job.pk)
    expect(section).to_contain_text("Palbociclib and letrozole", timeout=15_000)

    section.locator("select[name=phase]").select_option("Phase 3")
    section.locator("select[name=status]").select_option("any")
    section.get_by_role("button", name="Filter").click()
    expect(section.locator("#trial-match-list")).not_to_contain_text("Palbociclib")
    expect(section.locator("#trial-match-list")).to_contain_text("Osimertinib")

    section.locator("select[name=phase]").select_option("")
    section.locator("select[name=status]").select_option("")
    section.get_by_role("button", name="Filter").click()
    # Wait for the swapped list: a summary clicked in the old one would close with the swap.
    expect(section.locator("#trial-match-list")).to_contain_text("Palbociclib")
    first = section.locator("article.trial-match").first
    first.locator("summary").click()
    expect(first.locator("table.checklist")).to_be_visible()
    first.get_by_role("button", name="Refer to coordinator").click()
    expect(section).to_contain_text("Referred to the trial coordinator")
    assert Referral.objects.filter(case=case).count() == 1
    assert page.evaluate("window.__noReload") is True
    assert not [e for e in errors if "Content Security Policy" in e], errors
