"""The open-trial list: every open trial is checked, those for other cancers are counted, not
listed. Factory-built breast, lung and colorectal cases against the shipped corpus's open trials."""

from __future__ import annotations

from functools import lru_cache

import pytest
from django.test import Client
from django.urls import reverse

from inference.trials.corpus import load_shipped_trials
from inference.trials.schema import TrialRecord
from oncology_ui.core.jobs import job_run
from oncology_ui.core.models import Job
from oncology_ui.trials import services
from oncology_ui.trials.models import TrialMatchResult
from oncology_ui.trials.status import OPEN_STATUSES
from tests.oncology_ui.conftest import Cast
from tests.oncology_ui.trials.factories import import_trials

pytestmark = pytest.mark.django_db

PITUITARY = "NCT00461188"  # Familial Isolated Pituitary Adenoma (recruiting)
BREAST_OPEN = {"NCT01334021", "NCT00496288", "NCT02550210", "NCT03760588"}
COLON_OPEN = "NCT02912559"  # Colon adenocarcinoma, atezolizumab (recruiting)
SOLID_TUMOURS = "NCT01050504"  # "Malignant Solid Neoplasm": any solid cancer


@lru_cache(maxsize=1)
def _shipped_open_and_some_closed() -> tuple[TrialRecord, ...]:
    trials = load_shipped_trials()
    open_ = [t for t in trials if t.status in OPEN_STATUSES]
    # A few closed trials of each disease, so the overall ranking has something to rank too.
    closed = [
        t
        for t in trials
        if t.status == "completed"
        and any(w in " ".join(t.conditions).lower() for w in ("breast", "lung", "colon"))
    ][:30]
    return (*open_, *closed)


def _matched(cast: Cast, diagnosis: str, code: str) -> TrialMatchResult:
    import_trials(*_shipped_open_and_some_closed())
    case = cast.case
    case.primary_diagnosis = diagnosis
    case.histology = diagnosis
    case.oncotree_code = code
    case.save()
    result = services.trial_match_request(case=case, user=cast.oncologist)
    assert result.job is not None
    assert job_run(result.job.pk) == Job.Status.SUCCEEDED
    result.refresh_from_db()
    assert result.matches is not None
    return result


def _open_ids(result: TrialMatchResult) -> set[str]:
    assert result.matches is not None
    return {m["nct_id"] for m in result.matches if m["status"] in OPEN_STATUSES}


def test_a_breast_case_lists_no_open_trial_for_another_cancer(cast: Cast) -> None:
    result = _matched(cast, "Invasive ductal carcinoma of the breast", "IDC")
    listed = _open_ids(result)
    assert PITUITARY not in listed and COLON_OPEN not in listed
    assert listed >= BREAST_OPEN and SOLID_TUMOURS in listed
    assert PITUITARY in result.open_other_cancers and COLON_OPEN in result.open_other_cancers
    assert not listed & set(result.open_other_cancers)


def test_a_lung_case_lists_only_open_trials_that_cover_lung_cancer(cast: Cast) -> None:
    result = _matched(cast, "Lung adenocarcinoma", "LUAD")
    listed = _open_ids(result)
    assert not listed & BREAST_OPEN and PITUITARY not in listed
    assert SOLID_TUMOURS in listed
    assert BREAST_OPEN & set(result.open_other_cancers)


def test_a_colorectal_case_keeps_its_colon_trial(cast: Cast) -> None:
    result = _matched(cast, "Adenocarcinoma of the colon", "COAD")
    listed = _open_ids(result)
    assert COLON_OPEN in listed
    assert not listed & BREAST_OPEN and PITUITARY not in listed


def test_the_section_says_how_many_open_trials_are_for_other_cancers(
    cast: Cast, oncologist_client: Client
) -> None:
    result = _matched(cast, "Invasive ductal carcinoma of the breast", "IDC")
    # The trials section is deferred on the plain case page: open the page with it filled.
    section = reverse("patients-case-section", args=[cast.case.pk, "trials"])
    page = oncologist_client.get(section).content.decode()
    count = len(result.open_other_cancers)
    assert count > 10
    assert f"{count} open trials were checked and are for other cancers." in page
    assert "Familial Isolated Pituitary" not in page
