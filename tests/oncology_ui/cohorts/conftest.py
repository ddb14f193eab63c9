"""Breast-team patients with known follow-up for the cohort pages (dates count from diagnosis)."""

from __future__ import annotations

import datetime as dt

import pytest

from oncology_ui.clinical.models import Biomarker
from oncology_ui.patients.models import Case, Patient
from tests.factories import CaseFactory, PatientFactory
from tests.oncology_ui.conftest import Cast

DIAGNOSED = dt.date(2018, 1, 10)


def followed_case(
    cast: Cast,
    *,
    died_after: int | None = None,
    followed: int | None = None,
    er: str = "",
    stage: str = "IIB",
    team: str = "breast",
) -> Case:
    """A case diagnosed on ``DIAGNOSED``; death or last contact so many days later."""
    patient = PatientFactory.create(
        teams=[cast.breast_team if team == "breast" else cast.lung_team]
    )
    fields: dict[str, object] = {}
    if died_after is not None:
        fields.update(vital_status="deceased", date_of_death=DIAGNOSED + dt.timedelta(died_after))
    if followed is not None:
        fields.update(last_contact_date=DIAGNOSED + dt.timedelta(followed))
    Patient.objects.filter(pk=patient.pk).update(**fields)
    patient.refresh_from_db()
    case = CaseFactory.create(patient=patient, diagnosis_date=DIAGNOSED, stage_group=stage)
    if er:
        Biomarker.objects.create(case=case, source_key=f"er-{case.pk}", name="ER", status=er)
    return case


@pytest.fixture
def breast_cohort(cast: Cast) -> dict[str, list[Case]]:
    """Six ER-positive cases (two deaths) and three ER-negative ones (two deaths), stage II;
    the cast's own breast case has no follow-up and no ER."""
    positive = [
        followed_case(cast, died_after=400, er="positive"),
        followed_case(cast, died_after=1500, er="positive"),
        followed_case(cast, followed=700, er="positive"),
        followed_case(cast, followed=1200, er="positive"),
        followed_case(cast, followed=2000, er="positive"),
        followed_case(cast, followed=2200, er="positive"),
    ]
    negative = [
        followed_case(cast, died_after=200, er="negative", stage="IIIA"),
        followed_case(cast, died_after=500, er="negative", stage="IIIA"),
        followed_case(cast, followed=900, er="negative", stage="IIIA"),
    ]
    return {"positive": positive, "negative": negative}
