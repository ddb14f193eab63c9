"""Shadow models predict beside the active one; clinicians never see what they said."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from oncology_ui.analysis.models import Prediction
from oncology_ui.analysis.services import analysis_request
from oncology_ui.core.jobs import job_run
from oncology_ui.core.models import Job
from oncology_ui.modelregistry.models import RegisteredModel, ShadowPrediction
from oncology_ui.modelregistry.selectors import shadow_predictions_for
from oncology_ui.reports.build import case_report_data
from oncology_ui.reports.pdf import render_case_report
from tests.oncology_ui.conftest import Cast
from tests.oncology_ui.modelregistry.helpers import move, row
from tests.pdfs import pdf_text

pytestmark = pytest.mark.django_db


def _analyse(cast: Cast) -> Job:
    run = analysis_request(case=cast.case, user=cast.oncologist)
    assert run.job is not None
    job_run(run.job.pk)
    run.job.refresh_from_db()
    return run.job


def test_a_shadow_model_predicts_beside_the_active_one_and_is_never_shown(
    cast: Cast, oncologist_client: Client
) -> None:
    move(row("oncoboard-support"), "shadow", reason="compare on our patients")
    move(row("oncoboard-portrait-commercial"), "shadow", reason="licence review")
    job = _analyse(cast)
    assert job.status == Job.Status.SUCCEEDED, job.error
    prediction = Prediction.objects.get(case=cast.case)
    assert prediction.registered_model == row("oncoboard-portrait")
    shadows = {s.registered_model.name: s for s in shadow_predictions_for(case_id=cast.case.pk)}
    assert set(shadows) == {"oncoboard-support", "oncoboard-portrait-commercial"}
    commercial = shadows["oncoboard-portrait-commercial"]
    assert commercial.status == "ok" and commercial.run_id == prediction.run_id
    assert [r["years"] for r in commercial.survival_at] == [1, 3, 5]
    assert commercial.curve and commercial.inputs_used
    assert shadows["oncoboard-support"].status in {"ok", "abstained"}
    # Rerunning the job adds nothing.
    job_run(job.pk)
    assert ShadowPrediction.objects.count() == 2
    # What a clinician sees: the case page, its prognosis section and the PDF.
    pages = [
        oncologist_client.get(reverse("patients-case", args=[cast.case.pk])),
        oncologist_client.get(reverse("patients-case-section", args=[cast.case.pk, "prognosis"])),
    ]
    texts = [page.content.decode() for page in pages]
    texts.append(pdf_text(render_case_report(case_report_data(cast.case))))
    for text in texts:
        assert "oncoboard-support" not in text
        assert "oncoboard-portrait-commercial" not in text
        assert "hadow" not in text
    assert "oncoboard-portrait" in texts[1]


def test_a_failing_shadow_model_is_recorded_and_never_fails_the_analysis(cast: Cast) -> None:
    move(row("oncoboard-portrait-commercial"), "shadow", reason="compare")
    # Its weights stop matching after approval (a tampered or replaced file).
    RegisteredModel.objects.filter(name="oncoboard-portrait-commercial").update(sha256="3" * 64)
    job = _analyse(cast)
    assert job.status == Job.Status.SUCCEEDED, job.error
    failed = ShadowPrediction.objects.get()
    assert failed.status == "failed" and "unavailable" in failed.error
    assert Prediction.objects.get(case=cast.case).status == "ok"


def test_shadow_models_only_run_for_the_types_they_list(cast: Cast) -> None:
    move(row("oncoboard-metabric"), "shadow", reason="breast only")
    run = analysis_request(case=cast.other_case, user=cast.oncologist)  # lung
    assert run.job is not None
    job_run(run.job.pk)
    assert not ShadowPrediction.objects.exists()
