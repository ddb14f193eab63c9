"""An oncologist's first case in the browser, the way issue #13 found it: labs arrive as a CSV
that is five weeks old with a high ALT and a low neutrophil count; the therapy options must stay
blocked on those values (never a mere "repeat"), the labs page shows them, and the prognosis
reads from today. The autouse console guard fails the test on any console error."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import FilePayload, Page, expect

from oncology_ui.analysis.models import AnalysisRun
from oncology_ui.clinical.models import ClinicalImport, LabResult
from oncology_ui.core.jobs import job_run
from oncology_ui.core.models import Team
from oncology_ui.therapies.kb import kb_load
from tests.e2e.browser import BROWSER_MARKS, log_in, open_case
from tests.factories import CaseFactory
from tests.oncology_ui.therapies.factories import BiomarkerFactory

pytestmark = BROWSER_MARKS


def _lab_csv(collected: dt.date) -> bytes:
    day = collected.isoformat()
    rows = [
        "date,test,loinc,value,unit,reference_range,result_id,comment",
        f"{day},ALT,1742-6,210,U/L,0-40,,",
        f"{day},Neutrophils,751-8,0.8,10^9/L,1.8-7.5,,",
        f"{day},Platelets,777-3,250,10^9/L,150-400,,",
        f"{day},Haemoglobin,718-7,12.5,g/dL,12.0-15.5,,",
        f"{day},Bilirubin,1975-2,0.6,mg/dL,0.1-1.2,,",
        f"{day},AST,1920-8,35,U/L,0-40,,",
        f"{day},Creatinine,2160-0,0.8,mg/dL,0.5-1.1,,",
    ]
    return ("\n".join(rows) + "\n").encode()


def test_an_oncologist_imports_old_abnormal_labs_and_the_options_stay_blocked(
    page: Page, team: Team, oncologist: User
) -> None:
    kb_load()
    today = timezone.localdate()
    case = CaseFactory.create(
        patient__teams=[team],
        stage_group="IIA",
        ecog=0,
        ecog_date=today - dt.timedelta(days=3),
        diagnosis_date=today - dt.timedelta(days=2 * 365),
    )
    BiomarkerFactory.create(case=case, name="ER", status="positive")
    BiomarkerFactory.create(case=case, name="HER2", status="negative")

    log_in(page, oncologist.username)
    page.goto(f"/clinical/cases/{case.pk}/import/")
    page.set_input_files(
        "input[type=file]",
        files=FilePayload(
            name="labs.csv", mimeType="text/csv", buffer=_lab_csv(today - dt.timedelta(days=36))
        ),
    )
    page.get_by_role("button", name="Upload and import").click()
    page.wait_for_load_state("networkidle")
    imported = ClinicalImport.objects.get(case=case)
    assert imported.job is not None and job_run(imported.job.pk) == "succeeded"
    assert LabResult.objects.filter(case=case, analyte_key="alt").exists()

    page.goto(f"/clinical/cases/{case.pk}/labs/")
    expect(page.locator("main")).to_contain_text("210")

    open_case(page, case)  # sections below the fold load as a person scrolls to them
    section = page.locator("#section-therapies")
    section.get_by_role("button", name="Rank therapy options").click()
    first = section.locator(".therapy-option").first
    expect(first).to_contain_text("Blocked on the last value, 36 days old", timeout=30_000)
    expect(first).to_contain_text("210 U/L")
    expect(section).not_to_contain_text("crcl_cg")

    prognosis = page.locator("#section-prognosis")
    prognosis.scroll_into_view_if_needed()
    prognosis.get_by_role("button", name="Analyse case").click()
    expect(page.locator("#section-prognosis .job")).to_be_visible()
    run = AnalysisRun.objects.get(case=case)
    assert run.job is not None and job_run(run.job.pk) == "succeeded"
    expect(page.locator("#section-prognosis")).to_contain_text("from today", timeout=15_000)
