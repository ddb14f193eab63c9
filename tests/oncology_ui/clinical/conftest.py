"""Helpers for the clinical tests: import a generated file through the real service and job."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from django.contrib.auth.models import User

from oncology_ui.clinical import services
from oncology_ui.clinical.facts import biomarker_add
from oncology_ui.clinical.models import ClinicalImport
from oncology_ui.core.jobs import job_run
from oncology_ui.patients.models import Case

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "clinical"


def run_import(case: Case, data: bytes, name: str = "upload.csv", kind: str = "") -> ClinicalImport:
    """Receive ``data`` as an upload for ``case`` and run its job now (tests never commit)."""
    record = services.import_receive(
        case=case, user=None, upload=io.BytesIO(data), name=name, size=len(data), kind=kind
    )
    assert record.job is not None
    job_run(record.job.pk)
    record.refresh_from_db()
    return record


def lab_csv(
    *rows: str, header: str = "date,test,loinc,value,unit,reference_range,result_id"
) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def ihc_biomarker(
    case: Case, name: str, value: str, unit: str, measured_on: dt.date, *, user: User
) -> None:
    """Enter an IHC result by hand, as the biomarker form does (status derived from the value)."""
    biomarker_add(
        case=case,
        user=user,
        name=name,
        method="IHC",
        value=value,
        unit=unit,
        status="",
        measured_on=measured_on,
    )


@pytest.fixture
def fhir_case(db: None) -> Case:
    """A case whose patient matches the mCODE example bundle's patient (born 1966-08-03)."""
    import datetime as dt

    from tests.factories import CaseFactory, PatientFactory, TeamFactory

    team = TeamFactory.create(name="Breast MDT")
    patient = PatientFactory.create(teams=[team], birth_date=dt.date(1966, 8, 3))
    return CaseFactory.create(patient=patient, diagnosis_date=dt.date(2017, 7, 21))
