"""A pathologist opens a slide from the case page; the viewer loads Deep Zoom tiles and overlays."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from oncology_ui.core import roles
from oncology_ui.core.models import Team
from tests.e2e.browser import BROWSER_MARKS, log_in
from tests.e2e.slide_viewer import open_viewer_and_zoom
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

    log_in(page, "path")
    open_viewer_and_zoom(page, case, slide)
    expect(page.locator("#scale-bar .scale-bar-label")).to_contain_text("m")

    with page.expect_response(lambda r: "/heatmap.png" in r.url) as heat:
        page.select_option("#heatmap-source", index=1)
    assert heat.value.status == 200
    assert heat.value.headers["content-type"] == "image/png"
    with page.expect_response(lambda r: "/tissue.png" in r.url) as outline:
        page.check("#overlay-tissue")
    assert outline.value.status == 200
