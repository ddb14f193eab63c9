"""Accessibility checks for browser tests: axe-core run inside the page under test.

axe is evaluated through the DevTools protocol (``page.evaluate``), which the page's CSP does not
govern, so the app's policy stays exactly as served and the console guard still sees every
violation the page itself causes.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

AXE_JS = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
# WCAG 2.1 A and AA rules plus axe's best practices (landmarks, one main, heading order).
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
BLOCKING_IMPACTS = {"critical", "serious"}


@cache
def _axe_source() -> str:
    return AXE_JS.read_text(encoding="utf-8")


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Run axe-core on the page as it is now; every violation, whatever its impact."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(_axe_source())
    result: dict[str, Any] = page.evaluate(
        """tags => axe.run(document, {
            runOnly: {type: "tag", values: tags},
            resultTypes: ["violations"],
        })""",
        AXE_TAGS,
    )
    violations: list[dict[str, Any]] = result["violations"]
    return violations


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        targets = [" ".join(node["target"]) for node in violation["nodes"][:5]]
        lines.append(
            f"{violation['impact']}: {violation['id']} ({len(violation['nodes'])} elements) "
            f"{violation['help']} -> {targets}"
        )
    return "\n".join(lines)


def assert_no_serious_a11y_violations(page: Page) -> None:
    """Fail with a readable list when axe finds a critical or serious violation on the page."""
    blocking = [v for v in axe_violations(page) if v["impact"] in BLOCKING_IMPACTS]
    assert not blocking, f"{page.url}\n{describe(blocking)}"
