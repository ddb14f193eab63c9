"""The chunked uploader in a real browser: pieces with offsets, progress, and resuming an upload."""

from __future__ import annotations

import io

import pytest
from django.conf import settings
from playwright.sync_api import Page, Request, expect

from oncology_ui.core import roles
from oncology_ui.core.models import Team
from oncology_ui.pathology import services
from oncology_ui.pathology.models import Slide, SlideUpload
from tests.e2e.browser import BROWSER_MARKS, log_in, reveal_sections
from tests.factories import CaseFactory, UserFactory
from tests.oncology_ui.pathology.conftest import CMU

pytestmark = BROWSER_MARKS

MIB = 1024 * 1024


@pytest.fixture(autouse=True)
def _one_mib_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "PATHOLOGY_CHUNK_MB", 1)


def _offsets(page: Page) -> list[int]:
    offsets: list[int] = []

    def record(request: Request) -> None:
        if request.url.endswith("/chunk/"):
            offsets.append(int(request.headers["x-upload-offset"]))

    page.on("request", record)
    return offsets


def test_it_uploads_a_slide_in_chunks_and_returns_to_the_case(page: Page, team: Team) -> None:
    UserFactory.create(username="path", role=roles.PATHOLOGIST, teams=[team])
    case = CaseFactory.create(patient__teams=[team])
    offsets = _offsets(page)

    log_in(page, "path")
    page.goto(f"/pathology/cases/{case.pk}/slides/new/")
    expect(page.locator("#plain-upload-form")).to_be_hidden()
    page.set_input_files("#slide-files", str(CMU))
    page.click("#slide-upload-start")
    page.wait_for_url(f"**/patients/cases/{case.pk}/**")
    reveal_sections(page)

    assert offsets == [0, MIB]
    slide = Slide.objects.get(case=case)
    assert slide.original_name == CMU.name and slide.original_size == CMU.stat().st_size
    assert not SlideUpload.objects.exists()
    expect(page.locator("#section-pathology")).to_contain_text(CMU.name)


def test_choosing_the_same_file_again_resumes_where_the_server_stopped(
    page: Page, team: Team
) -> None:
    user = UserFactory.create(username="path", role=roles.PATHOLOGIST, teams=[team])
    case = CaseFactory.create(patient__teams=[team])
    data = CMU.read_bytes()
    # An upload interrupted after its first piece (a dropped connection or a closed tab).
    upload = services.upload_start(case=case, user=user, name=CMU.name, size=len(data))
    services.upload_append(upload=upload, offset=0, stream=io.BytesIO(data[:MIB]), length=MIB)
    offsets = _offsets(page)

    log_in(page, "path")
    page.goto(f"/pathology/cases/{case.pk}/slides/new/")
    page.set_input_files("#slide-files", str(CMU))
    page.click("#slide-upload-start")
    page.wait_for_url(f"**/patients/cases/{case.pk}/**")
    reveal_sections(page)

    assert offsets == [MIB]  # only the missing piece was sent
    slide = Slide.objects.get(case=case)
    assert services.media_path(slide.original_path).read_bytes() == data
