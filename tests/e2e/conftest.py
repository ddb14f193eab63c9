"""Browser tests: headless Debian Chromium driven by Playwright against pytest-django's live server.

Nothing is downloaded: Playwright drives the system Chromium at ``/usr/bin/chromium``; where it is
absent the tests are skipped with that reason (see ``BROWSER_MARKS``). Live-server tests need
committed data, so each runs with ``transactional_db`` (``tests/conftest.py`` lets the flush
between them empty the audit table).

Every page a browser test opens is watched by :class:`ConsoleGuard`: a console error, an uncaught
exception or a Content-Security-Policy violation fails the test, so a regression such as an inline
style that the CSP blocks cannot hide behind a page that still "works".
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page, sync_playwright
from pytest_django.live_server_helper import LiveServer

from oncology_ui.core import roles
from oncology_ui.core.models import Team
from tests.e2e.browser import ConsoleGuard
from tests.e2e.chromium import launch_chromium
from tests.factories import TeamFactory, UserFactory

# Playwright's sync API runs an asyncio loop in this thread; Django's ORM refuses to run while a
# loop is running unless told it is safe. It is here: the loop only drives the browser.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def console_guard() -> ConsoleGuard:
    """This test's console errors; a test may ``allow()`` one it provokes on purpose."""
    return ConsoleGuard()


@pytest.fixture
def page(
    browser: Browser,
    live_server: LiveServer,
    transactional_db: None,
    console_guard: ConsoleGuard,
) -> Iterator[Page]:
    """A fresh browser context (no cookies, no storage) per test, its console watched."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        console_guard.watch(page)
        yield page
    finally:
        context.close()
    console_guard.check()


@pytest.fixture
def team(transactional_db: None) -> Team:
    """The care team of most browser tests: its members see its patients."""
    return TeamFactory.create(name="Breast MDT")


@pytest.fixture
def oncologist(team: Team) -> User:
    """``onco``, an oncologist in :func:`team` who signs in with the shared test password."""
    return UserFactory.create(username="onco", role=roles.ONCOLOGIST, teams=[team])
