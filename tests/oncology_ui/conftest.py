"""A small cast: two care teams, each with its own patient and case, and one user per role."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.auth.models import AbstractUser
from django.test import Client

from oncology_ui.core import roles
from oncology_ui.core.models import Team
from oncology_ui.patients.models import Case, Patient
from tests.factories import CaseFactory, PatientFactory, TeamFactory, TimelineEventFactory, UserFactory


@dataclass
class Cast:
    breast_team: Team
    lung_team: Team
    oncologist: AbstractUser
    outsider: AbstractUser
    pathologist: AbstractUser
    coordinator: AbstractUser
    admin: AbstractUser
    patient: Patient
    case: Case
    other_patient: Patient
    other_case: Case


@pytest.fixture
def cast(db: None) -> Cast:
    breast = TeamFactory(name="Breast MDT")
    lung = TeamFactory(name="Thoracic MDT")
    patient = PatientFactory(teams=[breast])
    case = CaseFactory(patient=patient)
    TimelineEventFactory(case=case)
    other_patient = PatientFactory(teams=[lung])
    other_case = CaseFactory(
        patient=other_patient,
        primary_diagnosis="Lung adenocarcinoma",
        oncotree_code="LUAD",
        icd10_code="C34.11",
    )
    TimelineEventFactory(case=other_case)
    return Cast(
        breast_team=breast,
        lung_team=lung,
        oncologist=UserFactory(username="onco", role=roles.ONCOLOGIST, teams=[breast]),
        outsider=UserFactory(username="onco-lung", role=roles.ONCOLOGIST, teams=[lung]),
        pathologist=UserFactory(username="path", role=roles.PATHOLOGIST, teams=[breast]),
        coordinator=UserFactory(username="coord", role=roles.TRIAL_COORDINATOR, teams=[breast]),
        admin=UserFactory(username="admin", role=roles.ADMINISTRATOR, is_staff=True),
        patient=patient,
        case=case,
        other_patient=other_patient,
        other_case=other_case,
    )


@pytest.fixture
def oncologist_client(cast: Cast) -> Client:
    client = Client()
    client.force_login(cast.oncologist)
    return client
