"""dicom3tools' ``dciodvfy``: the DICOM standard's IOD checker, run on the objects we write.

``.ci/run`` installs Debian's ``dicom3tools`` when missing; a machine without it fails the tests
that use it (they never skip).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest


def dciodvfy_errors(path: Path) -> list[str]:
    """The "Error" lines ``dciodvfy`` prints for ``path`` (warnings are allowed)."""
    binary = shutil.which("dciodvfy")
    if binary is None:
        pytest.fail("dciodvfy is not installed: `apt-get install dicom3tools` (.ci/run does it)")
    done = subprocess.run(  # noqa: S603 - the installed checker on our own file
        [binary, str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    lines = (done.stdout + done.stderr).splitlines()
    return [line for line in lines if line.startswith("Error")]
