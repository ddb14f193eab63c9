"""The site training table: de-identified (no names, MRNs, dates), ages capped, audited, with its
data dictionary written beside it and shipped in docs/."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client

from oncology_ui.core import roles
from oncology_ui.core.models import AccessLog
from oncology_ui.patients.models import Case, TimelineEvent
from oncology_ui.patients.services import timeline_event_create
from oncology_ui.sitelearn.export import SHIPPED_DICTIONARY, data_dictionary
from tests.factories import CaseFactory, PatientFactory, UserFactory
from tests.oncology_ui.conftest import signed_in_client

pytestmark = pytest.mark.django_db
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _site_cases() -> list[Case]:
    user = UserFactory.create(username="recorder", role=roles.ONCOLOGIST)
    old = PatientFactory.create(birth_date=dt.date(1925, 1, 1), sex="male")
    died = CaseFactory.create(
        patient=old, diagnosis_date=dt.date(2015, 3, 10), oncotree_code="PRAD",
        primary_diagnosis="Prostate adenocarcinoma", icd10_code="C61", clinical_t="cT2",
        clinical_n="", clinical_m="", stage_group="", grade=3,
    )  # fmt: skip
    timeline_event_create(
        case=died, created_by=user, kind=TimelineEvent.Kind.DEATH, date=dt.date(2017, 3, 10)
    )
    alive = CaseFactory.create(diagnosis_date=dt.date(2016, 1, 1))
    timeline_event_create(
        case=alive, created_by=user, kind=TimelineEvent.Kind.LAST_FOLLOW_UP,
        date=dt.date(2020, 1, 1),
    )  # fmt: skip
    CaseFactory.create(diagnosis_date=dt.date(2019, 1, 1))  # no outcome: not exported
    return [died, alive]


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


def test_the_export_has_no_identifiers_and_is_audited(tmp_path: Path) -> None:
    died, alive = _site_cases()
    before = AccessLog.objects.count()
    call_command("export_training_table", "--out", str(tmp_path), stdout=io.StringIO())
    text = (tmp_path / "site_training_table.csv").read_text()
    rows = _rows(tmp_path / "site_training_table.csv")
    assert len(rows) == 2
    for case in (died, alive):
        patient = case.patient
        for secret in (patient.mrn, patient.given_name, patient.family_name):
            assert secret not in text
        assert str(case.pk) not in {r["pseudo_id"] for r in rows}
    assert not DATE.search(text), "no calendar date may be written"
    first, second = rows
    assert first["event"] == "1" and second["event"] == "0"
    assert float(first["time_months"]) == pytest.approx(731 / (365.25 / 12), abs=0.01)
    assert first["diagnosis_day"] == "0" and int(second["diagnosis_day"]) == 297
    # A 90-year-old is written as 90, in the 90+ band.
    assert float(first["age_years"]) == 90.0 and first["age_band"] == "90+"
    assert first["grade"] == "3.0" and first["cancer_type"] == "PRAD"
    assert (tmp_path / "data_dictionary.md").read_text() == data_dictionary()
    audit = AccessLog.objects.filter(pk__gt=0).order_by("-id")[: AccessLog.objects.count() - before]
    exported = [a for a in audit if a.category == "site-training-table"]
    assert {a.patient_id_snapshot for a in exported} == {died.patient_id, alive.patient_id}
    assert all(a.action == AccessLog.Action.EXPORT for a in exported)


def test_pseudonyms_are_stable_and_keyed(tmp_path: Path, settings: object) -> None:
    _site_cases()
    call_command("export_training_table", "--out", str(tmp_path / "a"), stdout=io.StringIO())
    call_command("export_training_table", "--out", str(tmp_path / "b"), stdout=io.StringIO())
    settings.SITE_PSEUDONYM_KEY = "another-site-secret-" + "x" * 40  # type: ignore[attr-defined]
    call_command("export_training_table", "--out", str(tmp_path / "c"), stdout=io.StringIO())
    ids = [[r["pseudo_id"] for r in _rows(tmp_path / p / "site_training_table.csv")] for p in "abc"]
    assert ids[0] == ids[1]
    assert set(ids[0]).isdisjoint(ids[2])


def test_the_shipped_data_dictionary_is_the_one_written() -> None:
    assert SHIPPED_DICTIONARY.read_text() == data_dictionary()


def test_the_admin_action_downloads_the_table_and_dictionary(cast: object) -> None:
    died, alive = _site_cases()
    admin = UserFactory.create(username="site-admin", role=roles.ADMINISTRATOR, is_staff=True)
    client: Client = signed_in_client(admin)
    response = client.post(
        "/admin/sitelearn/siteoutcomecase/",
        {"action": "export_training_table", "_selected_action": [died.pk, alive.pk]},
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert set(archive.namelist()) == {"site_training_table.csv", "data_dictionary.md"}
    table = archive.read("site_training_table.csv").decode()
    assert died.patient.mrn not in table and not DATE.search(table)
    assert AccessLog.objects.filter(
        category="site-training-table", username="site-admin", patient_id_snapshot=died.patient_id
    ).exists()


def test_an_oncologist_cannot_use_the_export_action(cast: object) -> None:
    _site_cases()
    client = signed_in_client(UserFactory.create(username="o2", role=roles.ONCOLOGIST))
    response = client.get("/admin/sitelearn/siteoutcomecase/")
    assert response.status_code in {302, 403}


def test_the_command_refuses_an_unknown_user(tmp_path: Path) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no user"):
        call_command("export_training_table", "--out", str(tmp_path), "--user", "nobody")
