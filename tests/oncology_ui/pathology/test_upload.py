"""Chunked, resumable upload and the plain form: offsets, resume, content sniffing, limits."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from oncology_ui.core.models import AccessLog, Job
from oncology_ui.pathology.models import Slide, SlideUpload
from tests.oncology_ui.conftest import Cast, signed_in_client
from tests.oncology_ui.pathology.conftest import CMU, media_files

pytestmark = pytest.mark.django_db

MIB = 1024 * 1024


def _start(client: Client, case_id: int, name: str, size: int) -> dict[str, object]:
    response = client.post(
        reverse("pathology-uploads", args=[case_id]), {"name": name, "size": size}
    )
    assert response.status_code == 201, response.content
    data: dict[str, object] = response.json()
    return data


def _start_cmu(client: Client, case_id: int) -> tuple[bytes, dict[str, object]]:
    """Start uploading the real CMU-1.svs: its bytes and the upload session."""
    data = CMU.read_bytes()
    return data, _start(client, case_id, "CMU-1.svs", len(data))


def _chunk(client: Client, url: object, data: bytes, offset: int) -> tuple[int, dict[str, object]]:
    response = client.post(
        str(url), data, content_type="application/octet-stream", HTTP_X_UPLOAD_OFFSET=str(offset)
    )
    return response.status_code, response.json()


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(settings, "PATHOLOGY_CHUNK_MB", 1)
    return MIB


def test_it_uploads_a_real_svs_in_chunks_and_starts_the_ingest(
    cast: Cast, pathologist_client: Client, small_chunks: int
) -> None:
    data, session = _start_cmu(pathologist_client, cast.case.pk)
    for offset in range(0, len(data), small_chunks):
        status, body = _chunk(
            pathologist_client, session["chunk"], data[offset : offset + small_chunks], offset
        )
        assert status == 200, body
        assert body["received"] == min(len(data), offset + small_chunks)

    response = pathologist_client.post(str(session["finish"]))

    assert response.status_code == 201
    slide = Slide.objects.get(pk=response.json()["slide"])
    assert slide.case == cast.case and slide.original_name == "CMU-1.svs"
    assert slide.status == Slide.Status.RECEIVED and slide.file_kind == "tiff"
    assert slide.job is not None and slide.job.kind == "slide_ingest"
    assert Job.objects.get(pk=slide.job.pk).status == Job.Status.QUEUED
    from oncology_ui.pathology.services import media_path

    assert media_path(slide.original_path).read_bytes() == data
    assert not SlideUpload.objects.exists()
    assert AccessLog.objects.filter(action="create", category="slide").count() == 1


def test_it_resumes_after_an_interruption_from_what_the_server_holds(
    cast: Cast, pathologist_client: Client, small_chunks: int
) -> None:
    data, session = _start_cmu(pathologist_client, cast.case.pk)
    _chunk(pathologist_client, session["chunk"], data[:small_chunks], 0)

    # After a reload the page asks which uploads are unfinished and continues there.
    listed = pathologist_client.get(reverse("pathology-uploads", args=[cast.case.pk])).json()
    (resumable,) = listed["uploads"]
    assert (resumable["id"], resumable["received"]) == (session["id"], small_chunks)
    # A chunk resent after a lost answer is refused with the offset to continue from.
    status, body = _chunk(pathologist_client, session["chunk"], data[:small_chunks], 0)
    assert (status, body["received"]) == (409, small_chunks)
    status, body = _chunk(
        pathologist_client,
        session["chunk"],
        data[2 * small_chunks : 3 * small_chunks],
        2 * small_chunks,
    )
    assert (status, body["received"]) == (409, small_chunks)
    for offset in range(small_chunks, len(data), small_chunks):
        status, body = _chunk(
            pathologist_client, session["chunk"], data[offset : offset + small_chunks], offset
        )
        assert status == 200

    response = pathologist_client.post(str(session["finish"]))
    assert response.status_code == 201
    from oncology_ui.pathology.services import media_path

    slide = Slide.objects.get()
    assert media_path(slide.original_path).read_bytes() == data


def test_it_refuses_to_finish_an_incomplete_upload(
    cast: Cast, pathologist_client: Client, small_chunks: int
) -> None:
    data, session = _start_cmu(pathologist_client, cast.case.pk)
    _chunk(pathologist_client, session["chunk"], data[:small_chunks], 0)

    response = pathologist_client.post(str(session["finish"]))

    assert response.status_code == 400
    assert "incomplete" in response.json()["error"]
    assert not Slide.objects.exists()


def test_an_html_file_named_svs_is_refused_on_its_first_chunk_and_nothing_stays(
    cast: Cast, pathologist_client: Client, _media_root: Path
) -> None:
    page = b"<!DOCTYPE html><html><body>ZZCANARY</body></html>" * 10
    session = _start(pathologist_client, cast.case.pk, "scan.svs", len(page))

    status, body = _chunk(pathologist_client, session["chunk"], page, 0)

    assert status == 415
    assert "web page (HTML)" in str(body["error"])
    assert not SlideUpload.objects.exists() and not Slide.objects.exists()
    assert media_files(_media_root) == []


def test_a_png_named_svs_is_accepted_as_a_png_micrograph(
    cast: Cast, pathologist_client: Client
) -> None:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (230, 150, 190)).save(buffer, format="PNG")
    png = buffer.getvalue()
    session = _start(pathologist_client, cast.case.pk, "scan.svs", len(png))
    assert _chunk(pathologist_client, session["chunk"], png, 0)[0] == 200
    assert pathologist_client.post(str(session["finish"])).status_code == 201
    assert Slide.objects.get().file_kind == "png"


def test_it_enforces_the_size_limit_and_the_chunk_bounds(
    cast: Cast, pathologist_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "PATHOLOGY_MAX_UPLOAD_MB", 2)
    monkeypatch.setattr(settings, "PATHOLOGY_CHUNK_MB", 1)
    url = reverse("pathology-uploads", args=[cast.case.pk])
    response = pathologist_client.post(url, {"name": "big.svs", "size": 2 * MIB + 1})
    assert response.status_code == 413 and "largest slide" in response.json()["error"]
    assert pathologist_client.post(url, {"name": "empty.svs", "size": 0}).status_code == 400

    session = _start(pathologist_client, cast.case.pk, "s.svs", 1000)
    head = CMU.read_bytes()[:1000]
    status, _ = _chunk(pathologist_client, session["chunk"], head + b"x", 0)
    assert status == 400  # runs past the declared size
    status, _ = _chunk(pathologist_client, session["chunk"], bytes(MIB + 1), 0)
    assert status == 413  # a chunk above the chunk size
    assert SlideUpload.objects.get().received == 0


def test_the_plain_form_works_without_javascript(cast: Cast, pathologist_client: Client) -> None:
    url = reverse("pathology-upload", args=[cast.case.pk])
    page = pathologist_client.get(url)
    assert page.status_code == 200
    assert b'enctype="multipart/form-data"' in page.content
    assert b"pathology/upload.js" in page.content and b"<script>" not in page.content

    with CMU.open("rb") as fh:
        response = pathologist_client.post(url, {"file": fh})

    assert response.status_code == 302
    slide = Slide.objects.get()
    assert slide.original_name == "CMU-1-Small-Region.svs" and slide.job is not None


def test_the_plain_form_refuses_html_with_a_clear_message(
    cast: Cast, pathologist_client: Client, _media_root: Path
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    fake = SimpleUploadedFile("slide.svs", b"<html><body>not a slide</body></html>")
    response = pathologist_client.post(
        reverse("pathology-upload", args=[cast.case.pk]), {"file": fake}
    )

    assert response.status_code == 400
    assert "web page (HTML)" in response.content.decode()
    assert not Slide.objects.exists() and media_files(_media_root) == []


def test_the_plain_form_refuses_an_oversized_body_before_reading_it(
    cast: Cast, pathologist_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "PATHOLOGY_MAX_UPLOAD_MB", 1)
    response = pathologist_client.post(
        reverse("pathology-upload", args=[cast.case.pk]),
        {"file": CMU.open("rb")},
    )
    assert response.status_code == 413
    assert not Slide.objects.exists()


def test_the_filename_never_becomes_a_path(cast: Cast, pathologist_client: Client) -> None:
    data = CMU.read_bytes()[:1000]
    session = _start(pathologist_client, cast.case.pk, "../../etc/passwd\x00.svs", 1000)
    _chunk(pathologist_client, session["chunk"], data, 0)
    upload = SlideUpload.objects.get()
    assert upload.original_name == "passwd.svs"
    assert upload.part_path.startswith("pathology/uploads/") and "passwd" not in upload.part_path


def test_another_team_or_a_view_only_role_cannot_upload(cast: Cast) -> None:
    outsider = signed_in_client(cast.outsider)
    coordinator = signed_in_client(cast.coordinator)
    owner = signed_in_client(cast.pathologist)
    session = _start(owner, cast.case.pk, "s.svs", 1000)

    for client in (outsider, coordinator):
        before = AccessLog.objects.filter(action="denied").count()
        assert (
            client.post(
                reverse("pathology-uploads", args=[cast.case.pk]), {"name": "x", "size": 10}
            ).status_code
            == 404
        )
        response = client.post(
            str(session["chunk"]), b"II*\x00", content_type="application/octet-stream",
            HTTP_X_UPLOAD_OFFSET="0",
        )  # fmt: skip
        assert response.status_code == 404
        assert AccessLog.objects.filter(action="denied").count() - before == 2
    assert SlideUpload.objects.get().received == 0


def test_an_oversized_plain_upload_is_refused_from_its_length_before_the_body_is_read(
    cast: Cast, monkeypatch: pytest.MonkeyPatch, _media_root: Path
) -> None:
    monkeypatch.setattr(settings, "PATHOLOGY_MAX_UPLOAD_MB", 1)
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.pathologist)
    url = reverse("pathology-upload", args=[cast.case.pk])
    # The declared length is 5 GiB; only a few bytes follow, so parsing would have to fail.
    response = client.generic(
        "POST", url, b"--x\\r\\n", content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(5 * 1024**3),
    )  # fmt: skip
    assert response.status_code == 413
    assert not Slide.objects.exists() and media_files(_media_root) == []


def test_the_plain_form_still_enforces_csrf(cast: Cast) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.pathologist)
    with CMU.open("rb") as fh:
        response = client.post(reverse("pathology-upload", args=[cast.case.pk]), {"file": fh})
    assert response.status_code == 403
    assert not Slide.objects.exists()


def test_uploads_of_other_users_are_not_offered_for_resume(cast: Cast) -> None:
    owner = signed_in_client(cast.pathologist)
    _start(owner, cast.case.pk, "mine.svs", 1000)
    colleague = signed_in_client(cast.oncologist)

    listed = colleague.get(reverse("pathology-uploads", args=[cast.case.pk])).json()

    assert listed == {"uploads": []}
    upload = SlideUpload.objects.get()
    for name in ("pathology-upload-chunk", "pathology-upload-finish", "pathology-upload-cancel"):
        before = AccessLog.objects.filter(action=AccessLog.Action.DENIED).count()
        assert colleague.post(reverse(name, args=[upload.pk])).status_code == 404, name
        denied = AccessLog.objects.filter(action=AccessLog.Action.DENIED).count() - before
        assert denied == 1, name


def test_abandoned_uploads_are_purged_with_their_files(
    cast: Cast, pathologist_client: Client, _media_root: Path
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from oncology_ui.pathology.services import pathology_purge

    session = _start(pathologist_client, cast.case.pk, "s.svs", 2000)
    _chunk(pathologist_client, session["chunk"], CMU.read_bytes()[:1000], 0)
    assert pathology_purge()["uploads"] == 0
    assert pathology_purge(now=timezone.now() + timedelta(hours=49))["uploads"] == 1
    assert not SlideUpload.objects.exists() and media_files(_media_root) == []


def test_a_chunk_needs_post(cast: Cast, pathologist_client: Client) -> None:
    session = _start(pathologist_client, cast.case.pk, "s.svs", 1000)
    assert pathologist_client.get(str(session["chunk"])).status_code == 405
