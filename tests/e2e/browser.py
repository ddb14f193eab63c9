"""What the browser tests share: the skip marks, how a user signs in, the console guard and the
case page's sections (where Chromium is and how it starts: ``tests.e2e.chromium``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import ConsoleMessage, Page

from tests.e2e import chromium
from tests.e2e.chromium import CHROMIUM, submit_password
from tests.factories import PASSWORD

if TYPE_CHECKING:
    from oncology_ui.patients.models import Case

# Every browser test module uses these marks: skipped (with the reason) where Chromium is absent.
BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed; browser tests need it"
    ),
]


def log_in(page: Page, username: str, password: str = PASSWORD) -> None:
    """Sign in through the login form, as a user would (the factories' password by default)."""
    chromium.log_in(page, username, password)


class ConsoleGuard:
    """Collects console errors, uncaught page errors and CSP violations from watched pages.

    Chromium reports a CSP violation as a console error ("Refused to apply inline style because it
    violates the following Content Security Policy directive ..."), so one listener covers both.
    """

    def __init__(self) -> None:
        self.errors: list[str] = []
        self._allowed: list[str] = []

    def watch(self, page: Page) -> None:
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        # Pages opened from this one (a PDF in a new tab, a popup) are watched too.
        page.on("popup", self.watch)

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error" or "Content Security Policy" in message.text:
            self.errors.append(f"console {message.type}: {message.text} ({message.location})")

    def allow(self, fragment: str) -> None:
        """Let through errors containing ``fragment``: a test that provokes one on purpose."""
        self._allowed.append(fragment)

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(f in e for f in self._allowed)]

    def check(self) -> None:
        unexpected = self.unexpected()
        if unexpected:
            pytest.fail("browser console errors:\n" + "\n".join(unexpected), pytrace=False)


def log_in_with_code(page: Page, username: str, code: str, password: str = PASSWORD) -> None:
    """Sign in as a user with an authenticator app: password form, then the code page."""
    submit_password(page, username, password)
    page.get_by_label("Code from your authenticator app").fill(code)
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url("**/patients/")


def reveal_sections(page: Page) -> None:
    """Scroll each deferred case-page section into view and wait until htmx has swapped it in.

    Sections below the fold are placeholders (``section.deferred``) that load when revealed,
    as they do for a person scrolling down the case page.
    """
    from playwright.sync_api import expect

    page.wait_for_load_state()
    for _ in range(20):  # bounded: ten sections, some of which may re-render while loading
        ids = page.eval_on_selector_all("section.deferred", "els => els.map(e => e.id)")
        if not ids:
            return
        for section_id in ids:
            # By id, not by element: htmx may swap the placeholder while we scroll to it.
            page.evaluate("id => document.getElementById(id)?.scrollIntoView()", section_id)
            expect(page.locator(f"#{section_id}.deferred")).to_have_count(0)
    raise AssertionError("case-page sections did not finish loading")


def open_case(page: Page, case: Case, *, section: str = "") -> None:
    """Open ``case``'s page (scrolled to ``#section-<section>`` if given) as a signed-in user,
    and wait until every deferred section has loaded."""
    page.goto(f"/patients/cases/{case.pk}/" + (f"#section-{section}" if section else ""))
    reveal_sections(page)
