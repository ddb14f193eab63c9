"""Models and migrations agree: a model change without its migration fails the suite."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_no_model_change_is_missing_a_migration() -> None:
    out = io.StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit:  # --check exits non-zero when a migration would be written
        pytest.fail(
            f"makemigrations --check found model changes without migrations:\n{out.getvalue()}"
        )
