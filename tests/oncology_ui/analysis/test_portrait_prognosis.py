"""Prognosis from the clinical portrait, end to end: rows -> routed model -> page and PDF."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from oncology_ui.analysis.adapters import case_snapshot
from oncology_ui.analysis.models import Prediction
from oncology_ui.analysis.readable import validation_text, why_factors
from oncology_ui.analysis.selectors import prognosis_from_today
from oncology_ui.analysis.services import analysis_request, prognosis_predict
from oncology_ui.core.jobs import job_run
from oncology_ui.patients.models import Case
from oncology_ui.reports.build import case_report_data
from oncology_ui.reports.pdf import render_case_report
from tests.factories import CaseFactory, PatientFactory, UserFactory
from tests.oncology_ui.clinical.conftest import ihc_biomarker
from tests.oncology_ui.conftest import Cast
from tests.oncology_ui.modelregistry.helpers import move, row
from tests.pdfs import pdf_text

pytestmark = pytest.mark.django_db


def _quiet(percent: int, message: str) -> None:
    """Progress goes nowhere in these tests."""


def _analyse(case: Case, user: User) -> Prediction:
    run = analysis_request(case=case, user=user)
    assert run.job is not None
    job_run(run.job.pk)
    run.job.refresh_from_db()
    assert run.job.status == "succeeded", run.job.error
    return Prediction.objects.get(run=run)


def _five_year(prediction: Prediction) -> float:
    row = next(r for r in prediction.survival_at if r["years"] == 5)
    return float(row["survival"])


def _er(case: Case, value: str, day: dt.date) -> None:
    ihc_biomarker(case, "ER", value, "%", day, user=UserFactory.create())


def _breast(**fields: object) -> Case:
    defaults: dict[str, object] = {"clinical_t": "", "clinical_n": "", "clinical_m": ""}
    return CaseFactory.create(**{**defaults, **fields})


def test_a_stage_iv_breast_case_gets_a_lower_curve_than_a_stage_i_case_from_its_rows() -> None:
    user = UserFactory.create()
    early = _analyse(_breast(stage_group="I", clinical_m="cM0"), user)
    late = _analyse(_breast(stage_group="IV", clinical_m="cM1"), user)
    for prediction in (early, late):
        assert prediction.status == "ok"
        assert prediction.model_name == "oncoboard-portrait"
        assert "stage_group" in prediction.covariates_used
        assert prediction.validation is not None
        assert prediction.validation["cancer_type"] == "BRCA"
    assert _five_year(late) < _five_year(early) - 0.05
    band = late.curve
    assert all(
        lo <= s <= hi
        for lo, s, hi in zip(band["lower"], band["survival"], band["upper"], strict=True)
    )


def test_the_demo_breast_case_moves_with_stage_nodes_and_er_and_er_is_in_the_why_list() -> None:
    # DEMO-0001 (METABRIC MB-5066): 53 years, one positive node, postmenopausal, ER positive.
    patient = PatientFactory.create(birth_date=dt.date(1970, 3, 1))
    case = _breast(
        patient=patient,
        diagnosis_date=dt.date(2023, 6, 1),
        stage_group="",
        nodes_positive=1,
        menopausal_status="post",
    )
    _er(case, "90", dt.date(2023, 6, 10))
    base = prognosis_predict(case_snapshot(case), _quiet)
    assert base.status == "ok"
    labels = [
        factor["label"]
        for factor in why_factors(
            {
                "feature_attributions": [
                    {
                        "modality": a.modality,
                        "feature": a.feature,
                        "value": a.value,
                        "attribution": a.attribution,
                    }
                    for a in base.explanation.feature_attributions  # type: ignore[union-attr]
                ],
                "reference_years": 5,
            }
        )
    ]
    assert "ER positive" in labels

    def five_year(changed: Case) -> float:
        prediction = prognosis_predict(case_snapshot(changed), _quiet)
        return next(r.survival for r in prediction.survival_at if r.years == 5) or 0.0

    start = five_year(case)
    case.nodes_positive = 9
    assert five_year(case) < start
    case.nodes_positive = 1
    case.stage_group = "III"
    assert five_year(case) < start
    case.stage_group = ""
    _er(case, "0", dt.date(2023, 7, 1))  # a newer ER result: negative
    assert five_year(case) < start


def test_a_cancer_type_without_a_portrait_model_goes_to_the_pan_cancer_model_with_the_reason() -> (
    None
):
    case = CaseFactory.create(
        oncotree_code="ODG", primary_diagnosis="Oligodendroglioma", icd10_code="C71.1"
    )
    prediction = _analyse(case, UserFactory.create())
    assert prediction.model_name == "oncoboard-tcga-pancancer"
    assert prediction.covariates_used == []
    reason = (prediction.validation or {})["portrait_not_used"]
    assert "no portrait model is validated for OncoTree ODG" in reason
    # The pan-cancer model's own test figures for gliomas come with it.
    assert (prediction.validation or {})["cohorts"] == ["TCGA-GBMLGG"]
    assert validation_text(prediction.validation).startswith("Validated for ODG")


def test_the_activated_commercial_checkpoint_serves_without_non_commercial_data() -> None:
    # The model committee activates the commercial checkpoint: it replaces the default one.
    change = move(row("oncoboard-portrait-commercial"), "active")
    assert [t["model"] for t in change.transitions] == [
        row("oncoboard-portrait-commercial").pk,
        row("oncoboard-portrait").pk,
    ]
    user = UserFactory.create()
    breast = _analyse(_breast(stage_group="II"), user)
    assert breast.model_name == "oncoboard-portrait-commercial"
    assert not (breast.validation or {}).get("non_commercial")
    stomach = _analyse(
        CaseFactory.create(
            oncotree_code="STAD", primary_diagnosis="Stomach adenocarcinoma", icd10_code="C16.9"
        ),
        user,
    )
    assert stomach.model_name != "oncoboard-portrait-commercial"
    assert stomach.registered_model == row("oncoboard-tcga-pancancer")
    assert "not covered by the selected checkpoint" in (stomach.validation or {}).get(
        "portrait_not_used", ""
    )


def test_the_curve_counts_from_the_type_cohorts_time_zero_and_says_so() -> None:
    lung = CaseFactory.create(
        oncotree_code="LUAD",
        primary_diagnosis="Lung adenocarcinoma",
        icd10_code="C34.11",
        stage_group="IV",
        clinical_m="cM1",
        ecog=1,
        ecog_date=dt.date(2024, 2, 2),
    )
    prediction = _analyse(lung, UserFactory.create())
    assert prediction.validation is not None
    assert prediction.time_zero == prediction.validation["time_zero"]
    reading = prognosis_from_today(prediction, case=lung, today=timezone.localdate())
    if prediction.time_zero in {"diagnosis", "surgery"}:
        assert reading.conditioned
    else:
        assert not reading.conditioned and "time zero" in reading.basis


def test_the_page_names_the_facts_used_those_missing_and_the_validation(
    cast: Cast, oncologist_client: Client
) -> None:
    case = cast.case
    case.stage_group, case.grade = "IIIA", 3
    case.save()
    _er(case, "90", dt.date(2024, 2, 10))
    prediction = _analyse(case, cast.oncologist)
    page = oncologist_client.get(reverse("patients-case-section", args=[case.pk, "prognosis"]))
    used = [item["label"] for item in page.context["portrait"]["used"]]
    assert {"Stage III", "Grade 3", "ER positive"} <= set(used)
    assert "Tumour size" in page.context["portrait"]["missing"]
    content = page.content.decode()
    assert "Validated for BRCA" in content and "Harrell C" in content
    assert prediction.validation is not None
    assert f"{prediction.validation['harrell_c']:.3f}" in content
    card = oncologist_client.get(reverse("analysis-model-card", args=[prediction.model_name]))
    assert card.status_code == 200 and "portrait" in card.content.decode()


def test_the_pdf_prints_the_facts_used_the_validation_and_the_why_list(cast: Cast) -> None:
    case = cast.case
    case.stage_group, case.nodes_positive = "IIB", 2
    case.save()
    _analyse(case, cast.oncologist)
    data = case_report_data(case)
    assert "Stage II (case record)" in data.data_used
    assert data.prognosis is not None and "Validated for BRCA" in data.prognosis.validation
    assert data.prognosis.factors
    text = pdf_text(render_case_report(data))
    assert "Validated for BRCA" in text and "Why: the facts that moved" in text
    assert "Stage II (case record)" in text
