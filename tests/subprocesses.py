"""Python in a fresh process, from the project root: for checks the suite's own process cannot make.

Settings read once at start-up, a database other than the suite's, a script run as an operator
runs it: these need an interpreter of their own.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from tests.paths import REPO_ROOT


def run_python(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run this interpreter with ``args`` in the project root; a failure is returned, not raised."""
    return subprocess.run(  # noqa: S603 - this interpreter and the test's own arguments
        [sys.executable, *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def last_json_line(output: str) -> dict[str, Any]:
    """The JSON object a probe prints last (whatever it logged before it)."""
    loaded: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return loaded
