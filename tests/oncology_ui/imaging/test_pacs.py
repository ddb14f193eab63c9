"""Find and import studies from a real PACS (Orthanc over DICOMweb, started by the conftest).

No mocks: a PACS that is down is a port nobody listens on, a slow one is the test Orthanc
stopped with SIGSTOP, wrong credentials are Orthanc's own 401.
"""

from __future__ import annotations

import html
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import pytest
import requests
from django.conf import LazySettings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from oncology_ui.core.jobs import WorkerStopping, job_run
from oncology_ui.core.models import AccessLog, Job
from oncology_ui.demodata.orthanc import (
    PASSWORD,
    USERNAME,
    Orthanc,
    OrthancMissing,
    free_port,
    orthanc_find,
)
from oncology_ui.imaging import pacs as pacs_service
from oncology_ui.imaging import services
from oncology_ui.imaging.models import ImagingRegion, ImagingSeries, ImagingStudy, ImagingUpload
from oncology_ui.imaging.storage import imaging_root
from oncology_ui.patients.models import Case
from tests.factories import CaseFactory
from tests.oncology_ui.conftest import Cast, signed_in_client
from tests.oncology_ui.imaging.conftest import pacs_study_files

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}
STS_002_STUDY = "1.3.6.1.4.1.14519.5.2.1.5168.1900.190311276211389538203367070477"


def _patient_mrn(cast: Cast, mrn: str) -> Case:
    cast.patient.mrn = mrn
    cast.patient.save(update_fields=["mrn"])
    return cast.case


def _find(client: Client, case: Case, **params: str) -> str:
    response = client.get(reverse("imaging-pacs", args=[case.pk]), {"find": "1", **params})
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def _study_uid(server: Orthanc, mrn: str) -> str:
    """The Study Instance UID the test PACS holds for ``mrn`` (asked over QIDO-RS directly)."""
    answer = requests.get(
        f"{server.dicomweb_url}/studies",
        params={"PatientID": mrn},
        auth=(USERNAME, PASSWORD),
        timeout=10,
    )
    answer.raise_for_status()
    (study,) = answer.json()
    return str(study["0020000D"]["Value"][0])


def _import(client: Client, case: Case, study_uid: str) -> ImagingUpload:
    """POST the import as the page does, then run its job here (tests never commit)."""
    response = client.post(reverse("imaging-pacs-import", args=[case.pk]), {"study_uid": study_uid})
    upload = ImagingUpload.objects.filter(case=case).latest("pk")
    assert response.status_code == 302
    assert response["Location"] == reverse("imaging-upload-detail", args=[upload.pk])
    assert upload.job is not None and upload.job.kind == pacs_service.IMPORT_JOB
    job_run(upload.job.pk)
    upload.refresh_from_db()
    return upload


def _files_under(folder: str) -> list[Path]:
    root = imaging_root() / folder
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _nothing_stored(case: Case) -> None:
    assert not ImagingStudy.objects.filter(case=case).exists()
    assert not ImagingSeries.objects.filter(study__case=case).exists()
    for folder in ("series", "quarantine", "incoming", "work"):
        assert _files_under(folder) == [], folder


def _audit_rows(category: str, **fields: Any) -> list[AccessLog]:
    return list(AccessLog.objects.filter(category=category, **fields))


@contextmanager
def _frozen(server: Orthanc) -> Iterator[None]:
    """The PACS process stopped (SIGSTOP): it accepts connections but never answers."""
    os.kill(server.process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(server.process.pid, signal.SIGCONT)


def _rows(case: Case) -> dict[str, Any]:
    """What an ingest stored for ``case``, without row ids and storage keys."""
    studies = [
        (s.study_uid, s.study_date, s.features) for s in ImagingStudy.objects.filter(case=case)
    ]
    series = sorted(
        (
            s.series_uid,
            s.modality,
            s.series_number,
            s.slice_count,
            s.units,
            s.suv_kind,
            s.frame_of_reference_uid,
            str(s.geometry),
            [uid for _, uid in s.files],
        )
        for s in ImagingSeries.objects.filter(study__case=case)
    )
    regions = sorted(
        (r.series.series_uid, r.name, r.source, r.volume_ml, r.longest_diameter_mm, r.maximum)
        for r in ImagingRegion.objects.filter(series__study__case=case)
    )
    return {"studies": studies, "series": series, "regions": regions}


def _upload_files(case: Case, files: list[Path], user: Any) -> ImagingUpload:
    upload = services.upload_receive(
        case=case,
        user=user,
        files=[SimpleUploadedFile(f"{n:03d}.dcm", p.read_bytes()) for n, p in enumerate(files)],
    )
    assert upload.job is not None
    job_run(upload.job.pk)
    upload.refresh_from_db()
    return upload


# --- find --------------------------------------------------------------------------------------


def test_it_lists_the_patients_study_by_mrn_and_audits_the_query(
    cast: Cast, pacs: Orthanc, oncologist_client: Client
) -> None:
    case = _patient_mrn(cast, "STS_002")
    page = _find(oncologist_client, case)
    assert "1 study of MRN STS_002 in the PACS" in page
    assert "28 Jan 2006" in page and "CT, MR, PT, RTSTRUCT" in page
    assert "IBSI_1_STS_002" in page and "<td>6</td>" in page and "<td>134</td>" in page
    assert f'value="{STS_002_STUDY}"' in page and "STS_003" not in page
    (row,) = _audit_rows("imaging-pacs")
    assert row.action == AccessLog.Action.VIEW and row.outcome == AccessLog.Outcome.SUCCESS
    assert row.patient_id_snapshot == cast.patient.pk and row.username == "onco"


def test_htmx_gets_only_the_results_partial(
    cast: Cast, pacs: Orthanc, oncologist_client: Client
) -> None:
    case = _patient_mrn(cast, "STS_002")
    response = oncologist_client.get(
        reverse("imaging-pacs", args=[case.pk]), {"find": "1"}, headers=HTMX
    )
    body = response.content.decode()
    assert response.status_code == 200 and body.lstrip().startswith('<div id="pacs-results"')
    assert "<html" not in body and 'hx-post="' in body and '<form method="post"' in body


def test_the_page_without_a_search_asks_nothing_and_audits_nothing(
    cast: Cast, pacs: Orthanc, oncologist_client: Client
) -> None:
    response = oncologist_client.get(reverse("imaging-pacs", args=[cast.case.pk]))
    assert response.status_code == 200 and 'id="pacs-find-form"' in response.content.decode()
    assert _audit_rows("imaging-pacs") == []


def test_it_narrows_the_search_to_an_accession_number(
    cast: Cast, pacs: Orthanc, oncologist_client: Client
) -> None:
    case = _patient_mrn(cast, "STS_002")
    assert STS_002_STUDY in _find(oncologist_client, case, accession="3912173256621705")
    page = _find(oncologist_client, case, accession="0000")
    assert "The PACS has no studies of MRN STS_002 with accession 0000." in page


def test_a_malformed_accession_is_explained_and_not_sent(
    cast: Cast, pacs: Orthanc, oncologist_client: Client
) -> None:
    case = _patient_mrn(cast, "STS_002")
    response = oncologist_client.get(
        reverse("imaging-pacs", args=[case.pk]), {"find": "1", "accession": "1" * 17}, headers=HTMX
    )
    assert response.status_code == 200
    assert "at most 16 characters" in response.content.decode()
    assert _audit_rows("imaging-pacs") == []


def test_an_mrn_with_a_wildcard_is_not_sent_to_the_pacs(
    cast: Cast, pacs: Orthanc, oncologist_client: Client
) -> None:
    case = _patient_mrn(cast, "STS_00*")
    page = _find(oncologist_client, case)
    assert "a character the PACS reads as a wildcard" in page and "STS_003" not in page
    (row,) = _audit_rows("imaging-pacs")
    assert row.outcome == AccessLog.Outcome.FAILURE


def test_an_outsider_cannot_query_the_pacs(cast: Cast, pacs: Orthanc) -> None:
    _patient_mrn(cast, "STS_002")
    response = signed_in_client(cast.outsider).get(
        reverse("imaging-pacs", args=[cast.case.pk]), {"find": "1"}
    )
    assert response.status_code == 404
    assert _audit_rows("imaging-pacs") == []
    assert _audit_rows("case", action=AccessLog.Action.DENIED)


def test_a_team_member_without_the_upload_permission_cannot_query(
    cast: Cast, pacs: Orthanc
) -> None:
    response = signed_in_client(cast.pathologist).get(
        reverse("imaging-pacs", args=[cast.case.pk]), {"find": "1"}
    )
    assert response.status_code == 404 and _audit_rows("imaging-pacs") == []


def test_find_refuses_post(cast: Cast, pacs: Orthanc, oncologist_client: Client) -> None:
    response = oncologist_client.post(reverse("imaging-pacs", args=[cast.case.pk]))
    assert response.status_code == 405


def test_a_pacs_that_is_down_gives_a_clear_message_and_a_failed_audit_row(
    cast: Cast, pacs: Orthanc, settings: LazySettings, oncologist_client: Client
) -> None:
    case = _patient_mrn(cast, "STS_002")
    settings.PACS_DICOMWEB_URL = f"http://127.0.0.1:{free_port()}/dicom-web"
    page = _find(oncologist_client, case)
    assert "The PACS could not be reached; it may be down. Try again later." in page
    (row,) = _audit_rows("imaging-pacs")
    assert row.outcome == AccessLog.Outcome.FAILURE and row.patient_id_snapshot == cast.patient.pk


def test_wrong_credentials_give_a_clear_message(
    cast: Cast, pacs: Orthanc, settings: LazySettings, oncologist_client: Client
) -> None:
    case = _patient_mrn(cast, "STS_002")
    settings.PACS_PASSWORD = "not-the-password"
    page = _find(oncologist_client, case)
    assert "The PACS refused OncoBoard's credentials" in page and STS_002_STUDY not in page
    assert "not-the-password" not in page


def test_a_pacs_that_does_not_answer_times_out_with_a_clear_message(
    cast: Cast, pacs: Orthanc, settings: LazySettings, oncologist_client: Client
) -> None:
    case = _patient_mrn(cast, "STS_002")
    settings.PACS_TIMEOUT_SECONDS = 1
    with _frozen(pacs):
        page = _find(oncologist_client, case)
    assert "The PACS did not answer within 1 s" in page


def test_the_case_page_offers_the_search_only_with_a_pacs_configured(
    cast: Cast, pacs: Orthanc, settings: LazySettings, oncologist_client: Client
) -> None:
    url = reverse("patients-case-section", args=[cast.case.pk, "imaging"])
    section = oncologist_client.get(url).content.decode()
    assert 'id="pacs-find-form"' in section and "Find studies in PACS" in section
    assert f'action="{reverse("imaging-pacs", args=[cast.case.pk])}"' in section
    pathologist_view = signed_in_client(cast.pathologist).get(url).content.decode()
    assert "Find studies in PACS" not in pathologist_view
    settings.PACS_DICOMWEB_URL = ""
    assert "Find studies in PACS" not in oncologist_client.get(url).content.decode()


# --- import ------------------------------------------------------------------------------------


def test_an_import_stores_the_same_rows_as_an_upload_of_the_same_files(
    cast: Cast, pacs: Orthanc, oncologist_client: Client
) -> None:
    case = _patient_mrn(cast, "99000")
    upload = _import(oncologist_client, case, _study_uid(pacs, "99000"))
    assert upload.status == ImagingUpload.Status.STORED, (upload.error, upload.problems)
    assert upload.source == ImagingUpload.Source.PACS and upload.kind_label == "PACS import"
    assert upload.label == "PACS study of 2003-04-17 (CT)" and upload.file_count == 3
    assert upload.counts["series"] == 1 and upload.counts["instances"] == 3
    assert upload.job is not None
    upload.job.refresh_from_db()
    assert upload.job.status == Job.Status.SUCCEEDED and upload.job.progress == 100
    assert _files_under("incoming") == [] and _files_under("work") == []
    # The same files uploaded to another case of the same patient (same de-identification key):
    # the same studies, series, instances and regions.
    other = CaseFactory.create(patient=cast.patient)
    uploaded = _upload_files(other, pacs_study_files("99000"), cast.oncologist)
    assert uploaded.status == ImagingUpload.Status.STORED
    assert _rows(case) == _rows(other) and _rows(case)["series"]
    assert uploaded.counts == upload.counts
    # Audited: the request (by the view) and the retrieve (by the job), with the patient.
    (asked,) = _audit_rows("imaging-pacs", action=AccessLog.Action.CREATE)
    (retrieved,) = _audit_rows("imaging-pacs-retrieve")
    assert asked.patient_id_snapshot == retrieved.patient_id_snapshot == cast.patient.pk
    assert retrieved.outcome == AccessLog.Outcome.SUCCESS and retrieved.username == "onco"
    assert retrieved.object_ref == f"upload:{upload.pk}"
    # Listed as imported from now on.
    assert "Imported" in _find(oncologist_client, case)


@pytest.mark.slow
def test_the_whole_sarcoma_study_imports_like_its_upload(
    cast: Cast, pacs: Orthanc, oncologist_client: Client
) -> None:
    case = _patient_mrn(cast, "STS_002")
    upload = _import(oncologist_client, case, STS_002_STUDY)
    assert upload.status == ImagingUpload.Status.STORED, (upload.error, upload.problems)
    assert upload.counts["instances"] == 134 and upload.counts["regions"] == 3
    other = CaseFactory.create(patient=cast.patient)
    _upload_files(other, pacs_study_files("STS_002"), cast.oncologist)
    assert _rows(case) == _rows(other)


def test_htmx_import_answers_with_the_polling_status_line(
    cast: Cast, pacs: Orthanc, oncologist_client: Client
) -> None:
    case = _patient_mrn(cast, "99000")
    response = oncologist_client.post(
        reverse("imaging-pacs-import", args=[case.pk]),
        {"study_uid": _study_uid(pacs, "99000")},
        headers=HTMX,
    )
    upload = ImagingUpload.objects.get(case=case)
    body = response.content.decode()
    assert response.status_code == 200 and f'id="imaging-upload-{upload.pk}"' in body
    assert 'hx-trigger="every 2s"' in body and "PACS import" in body


def test_a_second_request_while_the_import_waits_reuses_it(
    cast: Cast, pacs: Orthanc, oncologist_client: Client
) -> None:
    case = _patient_mrn(cast, "99000")
    uid = _study_uid(pacs, "99000")
    first = pacs_service.pacs_import_request(case=case, user=cast.oncologist, study_uid=uid)
    again = pacs_service.pacs_import_request(case=case, user=cast.oncologist, study_uid=uid)
    assert first.pk == again.pk and ImagingUpload.objects.filter(case=case).count() == 1


def test_another_patients_study_is_refused_before_anything_is_retrieved(
    cast: Cast, pacs: Orthanc, oncologist_client: Client
) -> None:
    case = _patient_mrn(cast, "STS_002")
    upload = _import(oncologist_client, case, _study_uid(pacs, "STS_003"))
    assert upload.status == ImagingUpload.Status.REFUSED
    assert upload.error == (
        "The PACS holds this study under another Patient ID than this patient's MRN; nothing "
        "was retrieved or stored."
    )
    assert upload.file_count == 0 and "STS_003" not in upload.error
    _nothing_stored(case)
    (retrieved,) = _audit_rows("imaging-pacs-retrieve")
    assert retrieved.outcome == AccessLog.Outcome.DENIED
    assert retrieved.patient_id_snapshot == cast.patient.pk


def test_files_whose_patient_id_is_not_the_mrn_are_refused_at_ingest(
    cast: Cast, pacs: Orthanc
) -> None:
    """The PACS's index and its files disagree: the ingest reads every file's Patient ID.

    The study is retrieved while the PACS and the case agree (MRN STS_003); the MRN then changes
    before the ingest, as if the PACS had listed the study under this patient.
    """
    case = _patient_mrn(cast, "STS_003")
    upload = pacs_service.pacs_import_request(
        case=case, user=cast.oncologist, study_uid=_study_uid(pacs, "STS_003")
    )
    incoming = imaging_root() / "incoming" / upload.incoming_key
    pacs_service._retrieve_whole(upload, incoming, lambda percent, message: None)
    assert len(list(incoming.iterdir())) == 152
    _patient_mrn(cast, "STS_002")
    assert upload.job is not None
    job_run(upload.job.pk)
    upload.refresh_from_db()
    assert upload.status == ImagingUpload.Status.REFUSED
    assert upload.error == (
        "The images belong to another patient: their Patient ID is not this patient's MRN. "
        "Nothing was stored."
    )
    _nothing_stored(case)


def test_an_interrupted_retrieve_resumes_from_its_completed_series(
    cast: Cast, pacs: Orthanc
) -> None:
    """A worker stopping mid-study (SIGTERM: WorkerStopping) keeps the completed series; the
    job's next attempt asks the PACS only for the rest, then hands the whole study over."""
    case = _patient_mrn(cast, "STS_002")
    upload = pacs_service.pacs_import_request(
        case=case, user=cast.oncologist, study_uid=STS_002_STUDY
    )
    incoming = imaging_root() / "incoming" / upload.incoming_key
    part = imaging_root() / "work" / f"pacs-{upload.incoming_key}"

    def stop_after_two_series(percent: int, message: str) -> None:
        if message.startswith("Retrieved series 2 of"):
            raise WorkerStopping("signal 15")

    with pytest.raises(WorkerStopping):
        pacs_service._retrieve_whole(upload, incoming, stop_after_two_series)
    assert not incoming.exists()
    assert sorted(p.name for p in part.iterdir() if p.is_dir()) == ["series-0001", "series-0002"]
    kept = len(list(part.glob("series-*/*.dcm")))
    messages: list[str] = []
    pacs_service._retrieve_whole(upload, incoming, lambda percent, text: messages.append(text))
    retrieved = [m for m in messages if m.startswith("Retrieved series")]
    assert [m.split(" (")[0] for m in retrieved] == [
        f"Retrieved series {n} of 6" for n in (3, 4, 5, 6)
    ]
    assert len(list(incoming.iterdir())) == 134 and 0 < kept < 134 and not part.exists()
    upload.refresh_from_db()
    assert upload.file_count == 134 and len(upload.counts["names"]) == 134
    assert upload.size > 3_000_000  # the resumed series count too


def test_a_pacs_that_goes_down_before_the_retrieve_fails_the_import_with_nothing_stored(
    cast: Cast, pacs: Orthanc, settings: LazySettings, oncologist_client: Client
) -> None:
    case = _patient_mrn(cast, "STS_002")
    settings.PACS_DICOMWEB_URL = f"http://127.0.0.1:{free_port()}/dicom-web"
    upload = _import(oncologist_client, case, STS_002_STUDY)
    assert upload.status == ImagingUpload.Status.FAILED
    assert upload.error == "The PACS could not be reached; it may be down. Try again later."
    assert upload.job is not None
    upload.job.refresh_from_db()
    assert upload.job.status == Job.Status.FAILED and upload.job.error == upload.error
    _nothing_stored(case)
    (retrieved,) = _audit_rows("imaging-pacs-retrieve")
    assert retrieved.outcome == AccessLog.Outcome.FAILURE


@pytest.mark.parametrize(
    ("setting", "value", "freeze", "error"),
    [
        ("PACS_PASSWORD", "not-the-password", False, "The PACS refused OncoBoard's credentials"),
        ("PACS_TIMEOUT_SECONDS", 1, True, "The PACS did not answer within 1 s"),
        (
            "PACS_MAX_STUDY_MB",  # the study is about 4 MB
            1,
            False,
            "The study is larger than the 1 MB limit for one PACS import (PACS_MAX_STUDY_MB); "
            "nothing was stored.",
        ),
    ],
    ids=["wrong-credentials", "pacs-stops-answering", "study-over-the-size-limit"],
)
def test_a_failed_import_says_why_with_nothing_stored(
    cast: Cast,
    pacs: Orthanc,
    settings: LazySettings,
    oncologist_client: Client,
    setting: str,
    value: object,
    freeze: bool,
    error: str,
) -> None:
    case = _patient_mrn(cast, "STS_002")
    setattr(settings, setting, value)
    with _frozen(pacs) if freeze else nullcontext():
        upload = _import(oncologist_client, case, STS_002_STUDY)
    assert upload.status == ImagingUpload.Status.FAILED
    assert upload.error.startswith(error)
    _nothing_stored(case)


def test_a_study_the_pacs_does_not_have_fails_with_a_clear_message(
    cast: Cast, pacs: Orthanc, oncologist_client: Client
) -> None:
    case = _patient_mrn(cast, "STS_002")
    upload = _import(oncologist_client, case, "1.2.3.4.5")
    assert upload.status == ImagingUpload.Status.FAILED
    assert upload.error == "The PACS does not have this study (any more)."
    _nothing_stored(case)


def test_an_outsider_cannot_import(cast: Cast, pacs: Orthanc) -> None:
    response = signed_in_client(cast.outsider).post(
        reverse("imaging-pacs-import", args=[cast.case.pk]), {"study_uid": STS_002_STUDY}
    )
    assert response.status_code == 404 and not ImagingUpload.objects.exists()


def test_import_refuses_get_and_a_malformed_uid(
    cast: Cast, pacs: Orthanc, oncologist_client: Client
) -> None:
    url = reverse("imaging-pacs-import", args=[cast.case.pk])
    assert oncologist_client.get(url).status_code == 405
    response = oncologist_client.post(url, {"study_uid": "../../etc"}, follow=True)
    assert response.status_code == 200
    assert "That is not a DICOM Study Instance UID." in html.unescape(response.content.decode())
    assert not ImagingUpload.objects.exists()


def test_without_a_pacs_configured_nothing_is_asked(
    cast: Cast, settings: LazySettings, oncologist_client: Client
) -> None:
    settings.PACS_DICOMWEB_URL = ""
    page = oncologist_client.get(reverse("imaging-pacs", args=[cast.case.pk]), {"find": "1"})
    assert "No PACS is configured here" in page.content.decode()
    response = oncologist_client.post(
        reverse("imaging-pacs-import", args=[cast.case.pk]),
        {"study_uid": STS_002_STUDY},
        follow=True,
    )
    assert "No PACS is configured here" in response.content.decode()
    assert not ImagingUpload.objects.exists()


def test_the_password_is_never_in_the_settings_repr() -> None:
    from oncology_ui.imaging.conf import PacsSettings

    conf = PacsSettings("https://pacs", "user", "s3cret", 30, 1, True)
    assert "s3cret" not in repr(conf) and "s3cret" not in str(conf)


def test_a_machine_without_orthanc_is_told_how_to_install_it() -> None:
    """The fixture fails (never skips) on this error when Orthanc is missing."""
    with pytest.raises(OrthancMissing, match="apt-get install orthanc orthanc-dicomweb"):
        orthanc_find((), "NoSuchOrthancBinary")
