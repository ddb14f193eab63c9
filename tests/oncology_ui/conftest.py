"""A small cast: two care teams, each with its own patient and case, and one user per role."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.auth.models import User
from django.test import Client

from oncology_ui.core import roles
from oncology_ui.core.models import Team
from oncology_ui.patients.models import Case, Patient
from tests.factories import (
    CaseFactory,
    PatientFactory,
    TeamFactory,
    TimelineEventFactory,
    UserFactory,
)


@dataclass
class Cast:
    breast_team: Team
    lung_team: Team
    oncologist: User
    outsider: User
    pathologist: User
    coordinator: User
    admin: User
    patient: Patient
    case: Case
    other_patient: Patient
    other_case: Case


@pytest.fixture
def cast(db: None) -> Cast:
    breast = TeamFactory.create(name="Breast MDT")
    lung = TeamFactory.create(name="Thoracic MDT")
    patient = PatientFactory.create(teams=[breast])
    case = CaseFactory.create(patient=patient)
    TimelineEventFactory.create(case=case)
    other_patient = PatientFactory.create(teams=[lung])
    other_case = CaseFactory.create(
        patient=other_patient,
        primary_diagnosis="Lung adenocarcinoma",
        oncotree_code="LUAD",
        icd10_code="C34.11",
    )
    TimelineEventFactory.create(case=other_case)
    return Cast(
        breast_team=breast,
        lung_team=lung,
        oncologist=UserFactory.create(username="onco", role=roles.ONCOLOGIST, teams=[breast]),
        outsider=UserFactory.create(username="onco-lung", role=roles.ONCOLOGIST, teams=[lung]),
        pathologist=UserFactory.create(username="path", role=roles.PATHOLOGIST, teams=[breast]),
        coordinator=UserFactory.create(
            username="coord", role=roles.TRIAL_COORDINATOR, teams=[breast]
        ),
        admin=UserFactory.create(username="admin", role=roles.ADMINISTRATOR, is_staff=True),
        patient=patient,
        case=case,
        other_patient=other_patient,
        other_case=other_case,
    )


def client_for(user: User) -> Client:
    """A test client signed in as ``user``."""
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def oncologist_client(cast: Cast) -> Client:
    return client_for(cast.oncologist)
