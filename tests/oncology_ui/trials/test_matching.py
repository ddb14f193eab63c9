"""Matching on the database, both directions, with expected verdicts for factory-built patients."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from oncology_ui.core.jobs import job_run
from oncology_ui.core.models import Job
from oncology_ui.patients.models import Case, TimelineEvent
from oncology_ui.trials import services
from oncology_ui.trials.models import ReverseMatchRun, TrialMatchResult
from oncology_ui.trials.selectors import reverse_match_view
from tests.factories import CaseFactory, PatientFactory
from tests.oncology_ui.conftest import Cast
from tests.oncology_ui.trials.factories import (
    BiomarkerFactory,
    LabResultFactory,
    VariantFactory,
    fit_breast_case,
    import_trials,
    lung_record,
    trial,
    trial_record,
)

pytestmark = pytest.mark.django_db


def _match(case: Case, user: Any) -> TrialMatchResult:
    result = services.trial_match_request(case=case, user=user)
    assert result.job is not None
    assert job_run(result.job.pk) == Job.Status.SUCCEEDED
    result.refresh_from_db()
    return result


def _verdicts(result: TrialMatchResult, nct_id: str) -> dict[str, dict[str, Any]]:
    assert result.matches is not None
    match = next(m for m in result.matches if m["nct_id"] == nct_id)
    return {v["text"]: v for v in match["verdicts"]}


def _find(verdicts: dict[str, dict[str, Any]], start: str) -> dict[str, Any]:
    return next(v for text, v in verdicts.items() if text.startswith(start))


def test_a_fit_breast_patient_ranks_the_breast_trial_first_with_evidence(cast: Cast) -> None:
    import_trials(trial_record(), lung_record())
    result = _match(fit_breast_case(cast.case), cast.oncologist)
    assert result.matches is not None
    top = result.matches[0]
    assert top["nct_id"] == "NCT90000001" and not top["excluded"]
    assert result.engine_version and result.retrieval_mode == "bm25"
    assert result.facts_as_of == timezone.localdate() and result.corpus_size == 2
    verdicts = _verdicts(result, "NCT90000001")
    ecog = _find(verdicts, "ECOG")
    assert ecog["verdict"] == "met" and ecog["evidence"][0]["value"] == "1"
    assert ecog["evidence"][0]["date"] == cast.case.ecog_date.isoformat()  # type: ignore[union-attr]
    bilirubin = _find(verdicts, "Total bilirubin")
    assert bilirubin["verdict"] == "met"  # 10 umol/L against 1.5 x ULN 21 umol/L
    assert _find(verdicts, "Absolute neutrophil")["verdict"] == "met"
    her2 = _find(verdicts, "HER2-positive")
    assert her2["verdict"] == "not_met" and her2["satisfied"]
    age = next(v for v in verdicts.values() if v["kind"] == "age")
    assert age["verdict"] == "met"


def test_a_bilirubin_above_the_uln_multiple_excludes(cast: Cast) -> None:
    import_trials(trial_record())
    case = fit_breast_case(cast.case)
    LabResultFactory.create(case=case, value=40.0, value_text="40", collected_at=timezone.now())
    result = _match(case, cast.oncologist)
    bilirubin = _find(_verdicts(result, "NCT90000001"), "Total bilirubin")
    assert bilirubin["verdict"] == "not_met" and bilirubin["excludes"]
    assert "ULN" in bilirubin["explanation"]
    assert result.matches is not None and result.matches[0]["excluded"]


def test_an_egfr_mutation_fails_the_negated_biomarker_criterion(cast: Cast) -> None:
    import_trials(trial_record())
    case = fit_breast_case(cast.case)
    before = _find(_verdicts(_match(case, cast.oncologist), "NCT90000001"), "No known EGFR")
    assert before["verdict"] == "unknown" and "EGFR" in before["resolver"]
    VariantFactory.create(case=case)
    after = _find(_verdicts(_match(case, cast.oncologist), "NCT90000001"), "No known EGFR")
    assert after["verdict"] == "not_met" and after["excludes"]
    assert after["evidence"][0]["value"].startswith("mutated")


def test_ecog_two_fails_and_an_old_ecog_is_unknown_with_a_resolver(cast: Cast) -> None:
    import_trials(trial_record())
    case = fit_breast_case(cast.case)
    case.ecog, case.ecog_date = 2, timezone.localdate() - dt.timedelta(days=3)
    case.save()
    ecog = _find(_verdicts(_match(case, cast.oncologist), "NCT90000001"), "ECOG")
    assert ecog["verdict"] == "not_met" and ecog["excludes"]
    case.ecog, case.ecog_date = 0, timezone.localdate() - dt.timedelta(days=90)
    case.save()
    stale = _find(_verdicts(_match(case, cast.oncologist), "NCT90000001"), "ECOG")
    assert stale["verdict"] == "unknown" and "older than" in stale["resolver"]


def test_age_outside_the_trial_limits_excludes(cast: Cast) -> None:
    import_trials(trial_record(max_age_years=40.0))
    result = _match(fit_breast_case(cast.case), cast.oncologist)
    age = next(v for v in _verdicts(result, "NCT90000001").values() if v["kind"] == "age")
    assert age["verdict"] == "not_met" and age["evidence"]


def test_unknowns_carry_what_would_resolve_them_and_free_text_stays_visible(cast: Cast) -> None:
    import_trials(trial_record())
    result = _match(cast.case, cast.oncologist)  # no ECOG, labs or markers recorded
    verdicts = _verdicts(result, "NCT90000001")
    assert "ECOG" in _find(verdicts, "ECOG")["resolver"]
    assert "HER2" in _find(verdicts, "HER2-positive")["resolver"]
    assert "bilirubin" in _find(verdicts, "Total bilirubin")["resolver"]
    spanish = _find(verdicts, "Pacientes embarazadas")
    assert spanish["kind"] == "text" and spanish["verdict"] == "unknown"
    assert "manual" in spanish["resolver"]
    assert "ECOG performance status" in result.facts_missing


def test_matching_without_a_corpus_fails_with_a_message(cast: Cast) -> None:
    result = services.trial_match_request(case=cast.case, user=cast.oncologist)
    assert result.job is not None
    assert job_run(result.job.pk) == Job.Status.FAILED
    result.job.refresh_from_db()
    assert "No trial corpus is loaded" in result.job.error


def test_a_rerun_of_a_finished_job_changes_nothing(cast: Cast) -> None:
    trial()
    result = _match(cast.case, cast.oncologist)
    stored = result.matches
    assert result.job is not None
    Job.objects.filter(pk=result.job.pk).update(status=Job.Status.QUEUED)
    job_run(result.job.pk)
    result.refresh_from_db()
    assert result.matches == stored


def test_reverse_matching_ranks_only_the_users_teams_cases(cast: Cast) -> None:
    import_trials(trial_record(), lung_record())
    fit_breast_case(cast.case)
    second = CaseFactory.create(patient=PatientFactory.create(teams=[cast.breast_team]))
    LabResultFactory.create(case=second, value=60.0, value_text="60")  # bilirubin far above ULN
    from oncology_ui.trials.models import Trial

    run = services.trial_reverse_match_request(
        trial=Trial.objects.get(nct_id="NCT90000001"), user=cast.coordinator
    )
    assert run.job is not None
    assert job_run(run.job.pk) == Job.Status.SUCCEEDED
    run = ReverseMatchRun.objects.get(pk=run.pk)
    assert run.cases_considered == 2
    assert run.matches is not None
    ids = [m["patient_id"] for m in run.matches]
    assert ids == [f"case:{cast.case.pk}", f"case:{second.pk}"]  # the excluded one last
    assert f"case:{cast.other_case.pk}" not in ids
    assert run.matches[1]["excluded"]
    # Another team's user sees none of these patients in the stored run.
    assert reverse_match_view(run, cast.outsider)["ranked"] == []


# Verbatim from NCT02413320 (shipped corpus): the parts of each line all have to hold.
TNBC_CRITERIA = (
    "Inclusion Criteria:\n"
    "  Patients with newly diagnosed stage I (T>1cm), II or III triple negative breast cancer "
    "who have not had definitive breast surgery or received systemic chemotherapy\n"
    "  No prior chemotherapy, endocrine therapy or radiation therapy with therapeutic intent "
    "for this cancer\n"
)


def _against(result: TrialMatchResult) -> list[str]:
    """The kinds of the criteria that count against the top match."""
    assert result.matches is not None
    return [v["kind"] for v in result.matches[0]["verdicts"] if v["excludes"]]


def test_what_the_record_already_answers_counts_against_a_triple_negative_trial(
    cast: Cast,
) -> None:
    import_trials(trial_record(eligibility_text=TNBC_CRITERIA, sex="all", max_age_years=None))
    case = cast.case
    BiomarkerFactory.create(case=case, name="ER", status="positive", value_text="90%")
    today = timezone.localdate()
    result = _match(case, cast.oncologist)
    assert result.matches is not None and result.matches[0]["excluded"]
    assert "biomarker" in _against(result)  # ER positive, not triple negative
    TimelineEvent.objects.create(
        case=case, kind=TimelineEvent.Kind.RADIOTHERAPY, date=today - dt.timedelta(days=300)
    )
    TimelineEvent.objects.create(
        case=case,
        kind=TimelineEvent.Kind.SYSTEMIC_THERAPY,
        date=today - dt.timedelta(days=200),
        regimen="FOLFOX",
        line_number=1,
    )
    therapy = [
        v
        for v in _match(case, cast.oncologist).matches[0]["verdicts"]  # type: ignore[index]
        if v["kind"] == "prior_therapy" and v["text"].startswith("No prior chemotherapy")
    ]
    evidence = {e["value"] for v in therapy if v["excludes"] for e in v["evidence"]}
    assert {"FOLFOX", "radiotherapy"} <= evidence


def test_sex_and_age_bounds_count_against(cast: Cast) -> None:
    import_trials(trial_record(sex="male", min_age_years=18.0, max_age_years=30.0))
    result = _match(fit_breast_case(cast.case), cast.oncologist)  # a woman born in 1961
    against = _against(result)
    assert {"sex", "age"} <= set(against)
    assert result.matches is not None and result.matches[0]["n_failed"] >= 2
