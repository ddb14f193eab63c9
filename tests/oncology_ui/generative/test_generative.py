"""The generative profile and in-silico experiments: jobs, refusals, the section, the PDF, scope.

The jobs run the shipped generative checkpoint (pinned sha256) and the shipped survival model on
the case's rows; sample counts are lowered so a profile takes seconds.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import pytest
from django.conf import LazySettings
from django.test import Client
from django.urls import reverse

from inference.expression.reference import references
from oncology_ui.clinical import expression
from oncology_ui.clinical import services as clinical
from oncology_ui.clinical.models import ClinicalImport, Variant
from oncology_ui.core.jobs import job_run
from oncology_ui.core.models import AccessLog, Job
from oncology_ui.generative.models import GenerativeProfile, InSilicoExperiment, Status
from oncology_ui.patients.models import Case
from oncology_ui.reports import services as reports
from oncology_ui.trials.models import TrialMatchResult
from tests.factories import CaseFactory
from tests.oncology_ui.conftest import Cast, signed_in_client
from tests.oncology_ui.therapies.factories import VariantFactory
from tests.pdfs import pdf_pages

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _few_samples(settings: LazySettings) -> None:
    settings.GENERATIVE_SAMPLES = 20
    settings.GENERATIVE_NEXT_TEST_DRAWS = 2
    settings.GENERATIVE_PROGNOSIS_SAMPLES = 3


def _run(job: Job | None) -> Job:
    assert job is not None
    job_run(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    return job


def _profile(client: Client, case: Case) -> GenerativeProfile:
    response = client.post(reverse("generative-profile", args=[case.pk]))
    assert response.status_code == 302
    profile = GenerativeProfile.objects.get(case=case)
    _run(profile.job)
    profile.refresh_from_db()
    return profile


def _experiment(client: Client, case: Case, change: str) -> InSilicoExperiment:
    response = client.post(reverse("generative-experiment", args=[case.pk]), {"change": change})
    assert response.status_code == 302, response.content.decode()[:500]
    experiment = InSilicoExperiment.objects.filter(case=case).first()
    assert experiment is not None
    _run(experiment.job)
    experiment.refresh_from_db()
    return experiment


def _section(client: Client, case: Case) -> str:
    response = client.get(reverse("patients-case-section", args=[case.pk, "generative"]))
    assert response.status_code == 200
    return response.content.decode()


def _untrained_case(cast: Cast) -> Case:
    return CaseFactory.create(
        patient=cast.patient,
        primary_diagnosis="Pancreatic adenocarcinoma",
        oncotree_code="PAAD",
        icd10_code="C25.0",
    )


@pytest.mark.slow
def test_the_job_computes_and_stores_a_profile_from_the_cases_rows(
    cast: Cast, oncologist_client: Client
) -> None:
    VariantFactory.create(case=cast.case, gene="TP53", protein_short="p.R175H")
    VariantFactory.create(
        case=cast.case, kind=Variant.Kind.COPY_NUMBER, gene="ERBB2", copy_number_level=2
    )
    profile = _profile(oncologist_client, cast.case)
    assert profile.status == Status.OK
    assert profile.observation["cancer_type"] == "IDC"
    assert profile.observation["mutations"] == {"TP53": True}
    assert profile.observation["cnv"] == {"ERBB2": 2.0}
    assert profile.model_version.startswith("oncoboard-generative/")
    assert len(profile.weights_sha256) == 64 and (profile.seed, profile.n_samples) == (0, 20)
    assert profile.measured == ["clinical", "mutation", "cnv"]
    assert "rna" in profile.imputed and "rna" not in profile.measured
    assert profile.feature_counts["mutation"]["measured"] == 1
    assert profile.feature_counts["rna"]["measured"] == 0
    assert profile.feature_counts["rna"]["imputed"] > 1000
    assert profile.hallmarks is not None and profile.hallmarks["source"] == "imputed"
    scored = [c for c in profile.hallmarks["capabilities"] if c["programme"]["score"] is not None]
    assert scored and all(c["programme"]["lower"] <= c["programme"]["upper"] for c in scored)
    assert profile.next_tests is not None and profile.prognosis is not None
    tests = profile.next_tests["tests"]
    assert [t["rank"] for t in tests] == list(range(1, len(tests) + 1))
    assert {"rna", "mutation:PIK3CA"} <= {t["key"] for t in tests}
    assert "mutation:TP53" not in {t["key"] for t in tests}  # measured: no test to propose
    assert profile.prognosis["imputed"]["modalities"] == ["rna"]
    assert profile.validation["fold"] == 0


@pytest.mark.slow
def test_the_same_record_gives_the_same_profile(cast: Cast, oncologist_client: Client) -> None:
    first = _profile(oncologist_client, cast.case)
    second_response = oncologist_client.post(reverse("generative-profile", args=[cast.case.pk]))
    assert second_response.status_code == 302
    second = GenerativeProfile.objects.exclude(pk=first.pk).get(case=cast.case)
    _run(second.job)
    second.refresh_from_db()
    assert second.hallmarks == first.hallmarks and second.prognosis == first.prognosis


def test_the_page_shows_measured_and_imputed_modalities(
    cast: Cast, oncologist_client: Client
) -> None:
    VariantFactory.create(case=cast.case, gene="PIK3CA", protein_short="p.H1047R")
    _profile(oncologist_client, cast.case)
    page = _section(oncologist_client, cast.case)
    assert "What we know and what we don" in page
    rows = page.split('id="generative-modalities"')[1].split("</table>")[0]
    assert 'Mutations</td><td><span class="badge stale">partly measured, rest imputed' in rows
    assert 'Gene expression</td><td><span class="badge stale">imputed' in rows
    assert "Research use only" in page and "non-commercial" in page
    assert 'id="imputation-caveat"' in page and "correlate only weakly" in page
    assert "imputed</span>" in page  # the hallmark profile carries its imputed badge
    assert 'id="generative-next-tests"' in page
    assert "3-year survival, copy number, expression imputed" in page
    assert "Model card" in page
    card = oncologist_client.get(reverse("analysis-model-card", args=["oncoboard-generative"]))
    assert card.status_code == 200 and "non-commercial" in card.content.decode()


def test_an_untrained_cancer_type_is_refused_with_the_models_reason_on_the_page(
    cast: Cast, oncologist_client: Client
) -> None:
    case = _untrained_case(cast)
    profile = _profile(oncologist_client, case)
    assert profile.status == Status.REFUSED
    assert "not trained on cancer type 'PAAD'" in profile.refusal
    assert profile.hallmarks is None and profile.next_tests is None
    page = _section(oncologist_client, case)
    assert 'id="generative-refused"' in page and "PAAD" in page and "BRCA" in page


def test_an_in_silico_experiment_is_refused_for_an_untrained_cancer_type(
    cast: Cast, oncologist_client: Client
) -> None:
    case = _untrained_case(cast)
    experiment = _experiment(oncologist_client, case, "acquire:KRAS")
    assert experiment.status == Status.REFUSED and experiment.result is None
    assert "not trained on cancer type 'PAAD'" in experiment.refusal
    page = _section(oncologist_client, case)
    assert 'id="experiment-refused"' in page and "PAAD" in page


def test_an_experiment_shows_hallmark_shifts_labelled_as_a_hypothesis(
    cast: Cast, oncologist_client: Client
) -> None:
    VariantFactory.create(case=cast.case, gene="PIK3CA", protein_short="p.H1047R")
    form_page = _section(oncologist_client, cast.case)
    assert 'value="lose:PIK3CA"' in form_page and 'value="acquire:TP53"' in form_page
    _profile(oncologist_client, cast.case)
    form_page = _section(oncologist_client, cast.case)
    assert 'value="acquire:GATA3"' in form_page  # a breast-cancer driver the model learnt
    assert 'value="acquire:EGFR"' not in form_page  # never seen in its breast training data
    experiment = _experiment(oncologist_client, cast.case, "acquire:TP53")
    assert experiment.status == Status.OK
    assert experiment.result is not None
    shifts = experiment.result["shifts"]
    assert shifts and all(s["lower"] <= s["mean"] <= s["upper"] for s in shifts[:5])
    assert experiment.result["prognosis_shift"]["name"] == "3-year survival"
    page = _section(oncologist_client, cast.case)
    assert "Hypothesis for research — not a prediction" in page
    assert "acquires a TP53 mutation" in page and 'id="experiment-result"' in page


def test_an_unknown_change_is_a_form_error_and_nothing_is_queued(
    cast: Cast, oncologist_client: Client
) -> None:
    url = reverse("generative-experiment", args=[cast.case.pk])
    response = oncologist_client.post(url, {"change": "acquire:NOTAGENE"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()
    assert not InSilicoExperiment.objects.exists()


def test_the_pdf_contains_the_generative_section(cast: Cast, oncologist_client: Client) -> None:
    _profile(oncologist_client, cast.case)
    _experiment(oncologist_client, cast.case, "inhibit:HALLMARK_HYPOXIA")
    text = " ".join(pdf_pages(reports.case_report_pdf(case=cast.case, deidentified=False)))
    assert "what we know and what we don't" in text
    assert "Gene expression: imputed" in text and "Hallmark profile: IMPUTED" in text
    assert "Next best tests" in text and "correlate only weakly" in text
    assert "In-silico experiment" in text and "not a prediction" in text


def test_measured_expression_is_used_and_the_page_refers_to_its_profile(
    cast: Cast, oncologist_client: Client
) -> None:
    genes = sorted(references().cohorts["brca"].zscore_genes)
    rows: Sequence[str] = [f"{g},0.5" for g in genes]
    data = ("gene,value\n" + "\n".join(rows) + "\n").encode()
    record = clinical.import_receive(
        case=cast.case,
        user=None,
        upload=io.BytesIO(data),
        name="rna.csv",
        size=len(data),
        kind=ClinicalImport.Kind.EXPRESSION,
        options=expression.expression_options(case=cast.case, unit="zscore", scale="tcga"),
    )
    _run(record.job)
    profile = _profile(oncologist_client, cast.case)
    assert "rna" in profile.measured and profile.feature_counts["rna"]["measured"] > 1000
    page = _section(oncologist_client, cast.case)
    assert 'id="generative-hallmarks-measured"' in page


def test_requests_are_audited_and_scoped_to_the_care_team(
    cast: Cast, oncologist_client: Client
) -> None:
    oncologist_client.post(
        reverse("generative-profile", args=[cast.case.pk]), HTTP_HX_REQUEST="true"
    )
    profile = GenerativeProfile.objects.get(case=cast.case)
    assert AccessLog.objects.filter(
        action="create", category="generative", object_ref=f"generative-profile:{profile.pk}"
    ).exists()
    denied = AccessLog.objects.filter(action=AccessLog.Action.DENIED).count()
    outsider = signed_in_client(cast.outsider)
    for name in ("generative-profile", "generative-experiment"):
        response = outsider.post(reverse(name, args=[cast.case.pk]), {"change": "acquire:TP53"})
        assert response.status_code == 404
    assert AccessLog.objects.filter(action=AccessLog.Action.DENIED).count() == denied + 2
    coordinator = signed_in_client(cast.coordinator)
    response = coordinator.post(reverse("generative-profile", args=[cast.case.pk]))
    assert response.status_code == 404
    assert GenerativeProfile.objects.count() == 1
    assert (
        oncologist_client.get(reverse("generative-profile", args=[cast.case.pk])).status_code == 405
    )
    # The coordinator sees the section (view permission) but no buttons to run anything.
    page = _section(coordinator, cast.case)
    assert "Run generative profile" not in page and 'id="experiment-form"' not in page


def test_the_htmx_request_returns_the_section_partial_with_its_job(
    cast: Cast, oncologist_client: Client
) -> None:
    response = oncologist_client.post(
        reverse("generative-profile", args=[cast.case.pk]), HTTP_HX_REQUEST="true"
    )
    content = response.content.decode()
    job = GenerativeProfile.objects.get(case=cast.case).job
    assert job is not None and job.kind == "generative_profile"
    assert content.lstrip().startswith('<section id="section-generative"')
    assert f'id="job-{job.pk}"' in content and 'hx-trigger="job-finished from:body"' in content


def test_next_tests_say_which_trial_criteria_they_would_settle(
    cast: Cast, oncologist_client: Client
) -> None:
    def verdict(resolver: str) -> dict[str, str]:
        return {"verdict": "unknown", "resolver": resolver, "text": "criterion"}

    TrialMatchResult.objects.create(
        case=cast.case,
        matches=[
            {
                "nct_id": "NCT01234567",
                "verdicts": [
                    verdict("order TP53 testing"),
                    verdict("order EGFR testing"),  # not learnt for breast cancer
                    verdict("order albumin"),
                    verdict("record both ER and PR status"),
                    {"verdict": "met", "resolver": "order PTEN testing", "text": "met"},
                ],
            }
        ],
    )
    profile = _profile(oncologist_client, cast.case)
    assert profile.next_tests is not None
    by_key = {t["key"]: t for t in profile.next_tests["tests"]}
    assert by_key["mutation:TP53"]["resolves"] == ["criteria of 1 trial (NCT01234567)"]
    assert "criteria of 1 trial (NCT01234567)" in by_key["mutation:TP53"]["reasoning"]
    assert by_key["mutation:PTEN"]["resolves"] == []  # its criterion is already met
    trial = ["criteria of 1 trial (NCT01234567)"]
    assert profile.next_tests["not_simulated"] == [
        {"test": "EGFR", "settles": trial},
        {"test": "ER", "settles": trial},
    ]
    page = _section(oncologist_client, cast.case)
    assert "Also waiting, not simulated by the generative model" in page
    assert "albumin" not in page.split('id="section-generative"')[1]
