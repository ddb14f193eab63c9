"""The parsers package is plain Python: importing every parser loads no Django."""

from __future__ import annotations

import pytest

from tests.subprocesses import run_python


@pytest.mark.slow
def test_the_parsers_never_import_django() -> None:
    code = (
        "import sys\n"
        "import oncology_ui.clinical.parsers.fhir, oncology_ui.clinical.parsers.labcsv\n"
        "import oncology_ui.clinical.parsers.variants, oncology_ui.clinical.parsers.annotate\n"
        "import oncology_ui.clinical.parsers.derived, oncology_ui.clinical.parsers.units\n"
        "bad = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.'))\n"
        "print(bad)\n"
        "raise SystemExit(1 if bad else 0)\n"
    )
    result = run_python("-c", code, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
