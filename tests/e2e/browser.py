"""What the browser tests share: where Chromium is, how it starts, how a user signs in."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page

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

# Every browser test module uses these marks: skipped (with the reason) where Chromium is absent.
BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed; browser tests need it"
    ),
]


def log_in(page: Page, username: str, password: str) -> None:
    """Sign in through the login form, as a user would."""
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("form button[type=submit]")
    page.wait_for_url("**/patients/")
