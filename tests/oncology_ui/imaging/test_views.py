"""Upload form, status polling, case section, viewer and slices: roles, teams and the audit log."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from oncology_ui.core.jobs import job_run
from oncology_ui.core.models import AccessLog
from oncology_ui.imaging.models import ImagingSeries, ImagingUpload, QuarantinedInstance
from tests.oncology_ui.conftest import Cast, signed_in_client
from tests.oncology_ui.imaging.conftest import ingest, sts_files, sts_zip

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def _ct(cast: Cast) -> ImagingSeries:
    return ImagingSeries.objects.get(study__case=cast.case, modality="CT")


def _audit(category: str, action: str = AccessLog.Action.VIEW) -> int:
    return AccessLog.objects.filter(category=category, action=action).count()


# --- upload ------------------------------------------------------------------------------------


def test_an_oncologist_uploads_a_zip_and_follows_it_to_stored(
    cast: Cast, oncologist_client: Client
) -> None:
    page = oncologist_client.get(reverse("imaging-upload", args=[cast.case.pk]))
    assert page.status_code == 200 and 'enctype="multipart/form-data"' in page.content.decode()
    assert "imaging/upload.js" in page.content.decode()
    upload_file = SimpleUploadedFile("study.zip", sts_zip("CT/image"), "application/zip")
    response = oncologist_client.post(
        reverse("imaging-upload", args=[cast.case.pk]), {"dicom": upload_file}
    )
    upload = ImagingUpload.objects.get(case=cast.case)
    assert response.status_code == 302
    assert response["Location"] == reverse("imaging-upload-detail", args=[upload.pk])
    assert upload.is_archive and upload.job is not None and upload.job.kind == "imaging_ingest"
    waiting = oncologist_client.get(
        reverse("imaging-upload-detail", args=[upload.pk]), headers=HTMX
    )
    assert waiting.status_code == 200 and 'hx-trigger="every 2s"' in waiting.content.decode()
    job_run(upload.job.pk)
    done = oncologist_client.get(reverse("imaging-upload-detail", args=[upload.pk]), headers=HTMX)
    assert done.status_code == 286 and "job-finished" in json.loads(done["HX-Trigger"])
    assert "48 images" in done.content.decode()
    job_page = oncologist_client.get(reverse("core-job-status", args=[upload.job.pk]))
    assert job_page.status_code == 200 and "Imaging upload" in job_page.content.decode()
    assert (
        signed_in_client(cast.outsider)
        .get(reverse("core-job-status", args=[upload.job.pk]))
        .status_code
        == 404
    )
    assert _audit("imaging-upload", AccessLog.Action.CREATE) == 1


def test_many_dcm_files_in_one_htmx_post_answer_with_the_status_partial(
    cast: Cast, oncologist_client: Client
) -> None:
    files = [SimpleUploadedFile(p.name, p.read_bytes()) for p in sts_files("CT/image")[:3]]
    response = oncologist_client.post(
        reverse("imaging-upload", args=[cast.case.pk]), {"dicom": files}, headers=HTMX
    )
    assert response.status_code == 200
    upload = ImagingUpload.objects.get(case=cast.case)
    assert not upload.is_archive and upload.file_count == 3
    assert f'id="imaging-upload-{upload.pk}"' in response.content.decode()


def test_an_empty_upload_is_refused_with_a_message_and_nothing_stored(
    cast: Cast, oncologist_client: Client
) -> None:
    response = oncologist_client.post(reverse("imaging-upload", args=[cast.case.pk]), {})
    assert response.status_code == 400 and "This field is required" in response.content.decode()
    empty = SimpleUploadedFile("empty.dcm", b"")
    response = oncologist_client.post(
        reverse("imaging-upload", args=[cast.case.pk]), {"dicom": empty}
    )
    assert response.status_code == 400
    assert not ImagingUpload.objects.exists()


def test_an_upload_over_the_limit_is_refused_before_it_is_read(
    cast: Cast, oncologist_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "IMAGING_MAX_UPLOAD_MB", 1)
    big = SimpleUploadedFile("big.zip", b"PK\x03\x04" + b"\0" * (3 * 1024 * 1024))
    response = oncologist_client.post(
        reverse("imaging-upload", args=[cast.case.pk]), {"dicom": big}
    )
    assert response.status_code == 413 and "1 MB limit" in response.content.decode()
    assert not ImagingUpload.objects.exists()


def test_the_upload_page_is_hidden_from_other_teams_and_from_roles_without_upload(
    cast: Cast,
) -> None:
    url = reverse("imaging-upload", args=[cast.case.pk])
    assert signed_in_client(cast.outsider).get(url).status_code == 404
    assert signed_in_client(cast.pathologist).get(url).status_code == 404
    assert AccessLog.objects.filter(outcome="denied", category="case").count() == 2
    assert signed_in_client(cast.oncologist).put(url).status_code == 405


def test_an_upload_status_of_another_team_is_404_and_audited(cast: Cast) -> None:
    upload = ingest(cast.other_case, {"a.dcm": sts_files("CT/image")[0].read_bytes()})
    response = signed_in_client(cast.oncologist).get(
        reverse("imaging-upload-detail", args=[upload.pk])
    )
    assert response.status_code == 404
    assert AccessLog.objects.filter(outcome="denied", object_ref=f"upload:{upload.pk}").count() == 1


# --- case section ------------------------------------------------------------------------------


def test_the_case_section_lists_series_measurements_and_research_use(
    cast: Cast, sts_upload: ImagingUpload, oncologist_client: Client
) -> None:
    response = oncologist_client.get(
        reverse("patients-case-section", args=[cast.case.pk, "imaging"]), headers=HTMX
    )
    text = response.content.decode()
    assert response.status_code == 200 and 'id="section-imaging"' in text
    assert "Research use only" in text and "mL" in text and "SUVbw" in text
    assert reverse("imaging-viewer", args=[_ct(cast).pk]) in text
    assert reverse("imaging-upload", args=[cast.case.pk]) in text
    assert "Study of 28 Jan 2006" in text
    assert "<dt>SUVmax</dt><dd>21.7 SUVbw</dd>" in text and "<dt>Lesions</dt><dd>1</dd>" in text
    pet = ImagingSeries.objects.get(study__case=cast.case, modality="PT")
    assert pet.warnings == []  # the SUV note is the series' SUV kind, not a warning
    full = oncologist_client.get(reverse("patients-case-section", args=[cast.case.pk, "imaging"]))
    assert full.status_code == 200 and "Upload DICOM study" in full.content.decode()


def test_the_section_polls_while_an_upload_runs_and_shows_held_images_to_radiologists(
    cast: Cast, radiologist: User
) -> None:
    from oncology_ui.imaging import services

    files = [SimpleUploadedFile("a.dcm", sts_files("CT/image")[0].read_bytes())]
    services.upload_receive(case=cast.case, user=cast.oncologist, files=files)
    url = reverse("patients-case-section", args=[cast.case.pk, "imaging"])
    busy = signed_in_client(cast.oncologist).get(url, headers=HTMX).content.decode()
    assert 'hx-trigger="job-finished from:body"' in busy
    QuarantinedInstance.objects.create(
        case=cast.case,
        upload=ImagingUpload.objects.get(case=cast.case),
        storage_name="x.dcm",
        sop_uid="2.25.1",
        modality="US",
        reason="modality US often carries burned-in text",
    )
    as_oncologist = signed_in_client(cast.oncologist).get(url, headers=HTMX).content.decode()
    as_radiologist = signed_in_client(radiologist).get(url, headers=HTMX).content.decode()
    assert "held for pixel review" in as_oncologist and "Release" not in as_oncologist
    assert "Release" in as_radiologist and "Discard" in as_radiologist


def test_an_empty_section_says_what_will_appear(cast: Cast, oncologist_client: Client) -> None:
    response = oncologist_client.get(
        reverse("patients-case-section", args=[cast.case.pk, "imaging"]), headers=HTMX
    )
    assert "No imaging studies yet" in response.content.decode()


def test_the_section_loader_stays_within_a_few_queries(
    cast: Cast, sts_upload: ImagingUpload, django_assert_max_num_queries: object, rf: object
) -> None:
    from oncology_ui.imaging.sections import imaging_section

    request = rf.get("/")  # type: ignore[attr-defined]
    request.user = cast.oncologist
    request.user.has_perm("imaging.view_imagingseries")  # permissions load once per request
    # 6: the PACS connections configured in the admin are one query (for those who may import).
    with django_assert_max_num_queries(6):  # type: ignore[operator]
        context = imaging_section(request, cast.case)
        _ = [r.name for r in context["imaging"].regions]


# --- viewer and slices -------------------------------------------------------------------------


def test_opening_the_viewer_is_audited_once_and_slices_are_pngs(
    cast: Cast, sts_upload: ImagingUpload, oncologist_client: Client
) -> None:
    ct = _ct(cast)
    before = _audit("imaging")
    page = oncologist_client.get(reverse("imaging-viewer", args=[ct.pk]))
    text = page.content.decode()
    assert page.status_code == 200 and 'id="viewer-panel"' in text and "imaging/viewer.js" in text
    assert "Research use only" in text and "Fuse PET" not in text  # fusion is on by default
    assert "Hide PET fusion" in text and "Hide contours" in text
    slice_url = reverse("imaging-slice", args=[ct.pk])
    for query in (
        "axis=axial&index=20&window=soft_tissue",
        "axis=coronal&index=10&window=lung&contours=0",
        "axis=sagittal&window=bone&fusion=1",
        "axis=axial&index=9999&window=nonsense",  # clamped and defaulted, never a 500
        "axis=oblique&index=abc",
    ):
        response = oncologist_client.get(f"{slice_url}?{query}")
        assert response.status_code == 200, query
        assert response["Content-Type"] == "image/png" and response.content[:4] == b"\x89PNG"
        assert response["Cache-Control"] == "private, max-age=600"
    partial = oncologist_client.get(
        reverse("imaging-viewer", args=[ct.pk]) + "?axis=coronal", headers=HTMX
    )
    assert partial.status_code == 200 and "<html" not in partial.content.decode()
    assert _audit("imaging") == before + 1


def test_pet_opens_in_suv_and_an_mr_window_falls_back_to_the_data(
    cast: Cast, sts_upload: ImagingUpload, oncologist_client: Client
) -> None:
    pet = ImagingSeries.objects.get(study__case=cast.case, modality="PT")
    page = oncologist_client.get(reverse("imaging-viewer", args=[pet.pk])).content.decode()
    assert "SUV 0–5" in page and "SUV 0–10" in page and "Soft tissue" not in page
    response = oncologist_client.get(reverse("imaging-slice", args=[pet.pk]) + "?window=suv10")
    assert response.status_code == 200 and response.content[:4] == b"\x89PNG"


def test_slices_of_another_team_are_404_with_one_denied_row(
    cast: Cast, sts_upload: ImagingUpload
) -> None:
    """Every imaging URL with a series or held-image id, asked by the other team's oncologist."""
    ct = _ct(cast)
    held = QuarantinedInstance.objects.create(
        case=cast.case,
        upload=sts_upload,
        storage_name="held.dcm",
        sop_uid="2.25.7",
        modality="US",
        reason="modality US often carries burned-in text",
    )
    outsider = signed_in_client(cast.outsider)
    requests = [
        ("get", reverse("imaging-viewer", args=[ct.pk]), f"series:{ct.pk}"),
        ("get", reverse("imaging-slice", args=[ct.pk]), f"series:{ct.pk}"),
        ("get", reverse("imaging-held-preview", args=[held.pk]), f"held:{held.pk}"),
        ("post", reverse("imaging-held-review", args=[held.pk]), f"held:{held.pk}"),
    ]
    for method, url, ref in requests:
        before = AccessLog.objects.filter(outcome="denied", object_ref=ref).count()
        response = getattr(outsider, method)(
            url, {"decision": "release"} if method == "post" else {}
        )
        assert response.status_code == 404, url
        assert AccessLog.objects.filter(outcome="denied", object_ref=ref).count() == before + 1
    held.refresh_from_db()
    assert held.status == "pending"
    assert Client().get(reverse("imaging-slice", args=[ct.pk])).status_code == 302  # login


def test_a_structure_set_series_has_no_viewer(
    cast: Cast, sts_upload: ImagingUpload, oncologist_client: Client
) -> None:
    rt = ImagingSeries.objects.filter(study__case=cast.case, modality="RTSTRUCT").first()
    assert rt is not None and not rt.has_volume
    assert oncologist_client.get(reverse("imaging-viewer", args=[rt.pk])).status_code == 302
    assert oncologist_client.get(reverse("imaging-slice", args=[rt.pk])).status_code == 404


# --- pixel review ------------------------------------------------------------------------------


def _held(cast: Cast) -> QuarantinedInstance:
    import io

    import pydicom

    ds = pydicom.dcmread(sts_files("CT/image")[0])
    ds.BurnedInAnnotation = "YES"
    buffer = io.BytesIO()
    ds.save_as(buffer)
    ingest(cast.case, {"screen.dcm": buffer.getvalue()}, cast.oncologist)
    return QuarantinedInstance.objects.get(case=cast.case)


def test_a_radiologist_previews_and_releases_a_held_image(cast: Cast, radiologist: User) -> None:
    held = _held(cast)
    client = signed_in_client(radiologist)
    preview = client.get(reverse("imaging-held-preview", args=[held.pk]))
    assert preview.status_code == 200 and preview.content[:4] == b"\x89PNG"
    assert "no-store" in preview["Cache-Control"]  # unreviewed pixels stay out of caches
    response = client.post(reverse("imaging-held-review", args=[held.pk]), {"decision": "release"})
    assert response.status_code == 302 and response["Location"].endswith("#section-imaging")
    held.refresh_from_db()
    assert held.status == "released"
    again = client.post(reverse("imaging-held-review", args=[held.pk]), {"decision": "discard"})
    assert again.status_code == 302
    held.refresh_from_db()
    assert held.status == "released"  # already reviewed: refused with a message


def test_only_radiologists_of_the_team_review_held_images(cast: Cast) -> None:
    held = _held(cast)
    url = reverse("imaging-held-review", args=[held.pk])
    assert signed_in_client(cast.oncologist).post(url, {"decision": "release"}).status_code == 404
    assert signed_in_client(cast.outsider).post(url, {"decision": "release"}).status_code == 404
    assert signed_in_client(cast.oncologist).get(url).status_code == 405
    held.refresh_from_db()
    assert held.status == "pending"


def test_more_files_than_django_accepts_in_one_request_get_a_message_not_a_500(
    cast: Cast, oncologist_client: Client, settings: object
) -> None:
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 5  # type: ignore[attr-defined]
    files = [SimpleUploadedFile(f"{n}.dcm", b"x" * 10) for n in range(6)]
    response = oncologist_client.post(
        reverse("imaging-upload", args=[cast.case.pk]), {"dicom": files}
    )
    assert response.status_code == 400 and "send the study as a zip" in response.content.decode()
    assert not ImagingUpload.objects.exists()
