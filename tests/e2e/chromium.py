"""Debian's Chromium as the browser tests and the documentation screenshots drive it.

Plain Playwright, no Django and no pytest, so ``docs/screenshots/capture.py`` (which serves the
app in another process) can use it as well as the browser tests.
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, Page, Playwright

CHROMIUM = Path("/usr/bin/chromium")
# Debian's Chromium, headless, with everything that would phone home switched off.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def launch_chromium(playwright: Playwright) -> Browser:
    """The system Chromium, headless; nothing is downloaded."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def submit_password(page: Page, username: str, password: str) -> None:
    """Fill in and send the login form, as a user would."""
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("form button[type=submit]")


def log_in(page: Page, username: str, password: str) -> None:
    """Sign in through the login form (a user without a second factor) and land on the patients."""
    submit_password(page, username, password)
    page.wait_for_url("**/patients/")
