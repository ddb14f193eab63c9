"""An oncologist opens a CT from the case page and scrolls it by wheel, keys and slider."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from playwright.sync_api import ConsoleMessage, Page, Request, expect

from oncology_ui.core import roles
from tests.e2e.browser import BROWSER_MARKS, log_in, open_case
from tests.factories import CaseFactory, TeamFactory, UserFactory
from tests.oncology_ui.imaging.conftest import ingest, sts_zip

pytestmark = BROWSER_MARKS


def _index(request: Request) -> int:
    return int(parse_qs(urlparse(request.url).query)["index"][0])


def test_the_viewer_scrolls_by_wheel_keys_and_slider_without_csp_errors(page: Page) -> None:
    team = TeamFactory.create(name="Sarcoma MDT")
    user = UserFactory.create(username="onco", role=roles.ONCOLOGIST, teams=[team])
    case = CaseFactory.create(patient__teams=[team])
    upload = ingest(case, {"sts.zip": sts_zip("CT", "PET")}, user)
    assert upload.status == "stored", upload.error
    problems: list[str] = []

    def console(message: ConsoleMessage) -> None:
        # The browser's own favicon probe 404s on every page; anything else is a real problem.
        if message.type == "error" and "favicon" not in message.location.get("url", ""):
            problems.append(f"{message.text} at {message.location.get('url')}")

    page.on("console", console)
    page.on(
        "response",
        lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )
    log_in(page, "onco")
    open_case(page, case)
    section = page.locator("#section-imaging")
    expect(section).to_contain_text("Research use only")
    section.get_by_role("link", name="View").first.click()
    page.wait_for_url("**/imaging/series/*/")
    image = page.locator("#viewer-slice")
    expect(image).to_be_visible()
    start = int(page.locator("#viewer-index").input_value())

    with page.expect_request(lambda r: "/slice.png" in r.url) as wheel:
        image.hover()
        page.mouse.wheel(0, 120)
    assert _index(wheel.value) == start + 1
    expect(page.locator("#viewer-position")).to_contain_text(f"{start + 2} / 48")

    with page.expect_request(lambda r: "/slice.png" in r.url) as key:
        page.keyboard.press("PageDown")
    assert _index(key.value) == start + 11

    # The plane links swap the panel through htmx; the slice then comes from the coronal plane.
    with page.expect_request(lambda r: "/slice.png" in r.url and "coronal" in r.url) as plane:
        page.get_by_role("link", name="Coronal").click()
    response = plane.value.response()
    assert response is not None and response.status == 200
    assert response.headers["content-type"] == "image/png"
    assert page.evaluate("document.getElementById('viewer-slice').naturalWidth") > 0
    assert problems == [], problems
