"""Shared steps of the slide viewer browser tests: open a ready slide from the case page, zoom in,
and check that Deep Zoom tiles arrive."""

from __future__ import annotations

from playwright.sync_api import Page, Response, expect

from oncology_ui.pathology.models import Slide
from oncology_ui.patients.models import Case
from tests.e2e.browser import open_case


def open_viewer_and_zoom(page: Page, case: Case, slide: Slide) -> list[Response]:
    """From ``case``'s page open ``slide`` in the viewer, zoom in once, and return the tile
    responses so far (at least one JPEG tile has been served)."""
    tiles: list[Response] = []
    page.on("response", lambda r: tiles.append(r) if "/slide_files/" in r.url else None)
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
    ok = [r for r in tiles if r.status == 200]
    assert ok, "no Deep Zoom tile was loaded"
    assert all(r.headers["content-type"] == "image/jpeg" for r in ok)
    return tiles
