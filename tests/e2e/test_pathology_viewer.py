"""A pathologist opens a slide from the case page; the viewer loads Deep Zoom tiles and overlays."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, Response, expect

from oncology_ui.core import roles
from oncology_ui.core.models import Team
from tests.e2e.browser import BROWSER_MARKS, log_in, open_case
from tests.factories import CaseFactory, UserFactory
from tests.oncology_ui.pathology.factories import SlideFactory, processed_slide_files

pytestmark = BROWSER_MARKS


def test_the_viewer_loads_tiles_scale_bar_and_a_heatmap(
    page: Page, team: Team, tmp_path: Path
) -> None:
    UserFactory.create(username="path", role=roles.PATHOLOGIST, teams=[team])
    case = CaseFactory.create(patient__teams=[team])
    files = processed_slide_files(tmp_path)
    slide = SlideFactory.ready(files=files, case=case)

    tiles: list[Response] = []
    overlays: list[Response] = []

    def record(response: Response) -> None:
        if "/slide_files/" in response.url:
            tiles.append(response)
        elif "/heatmap.png" in response.url:
            overlays.append(response)

    page.on("response", record)
    log_in(page, "path")
    open_case(page, case)
    section = page.locator("#section-pathology")
    expect(section.locator(f"#slide-{slide.pk} img")).to_be_visible()
    section.get_by_role("link", name="Open viewer").click()
    page.wait_for_url(f"**/pathology/slides/{slide.pk}/")

    expect(page.locator("#slide-viewer canvas").first).to_be_visible()
    # Zooming in asks for tiles of a finer level (the first ones may already have arrived).
    with page.expect_response(lambda r: "/slide_files/" in r.url) as first:
        page.locator("#slide-viewer").hover()
        page.mouse.wheel(0, -400)
    assert first.value.status in {200, 304}
    expect(page.locator("#scale-bar .scale-bar-label")).to_contain_text("m")
    ok = [r for r in tiles if r.status == 200]
    assert ok, "no Deep Zoom tile was loaded"
    assert all(r.headers["content-type"] == "image/jpeg" for r in ok)

    with page.expect_response(lambda r: "/heatmap.png" in r.url) as heat:
        page.select_option("#heatmap-source", index=1)
    assert heat.value.status == 200
    assert heat.value.headers["content-type"] == "image/png"
    with page.expect_response(lambda r: "/tissue.png" in r.url) as outline:
        page.check("#overlay-tissue")
    assert outline.value.status == 200
