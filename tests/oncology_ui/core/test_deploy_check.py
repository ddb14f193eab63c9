from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _manage(
    *args: str, unset: set[str], values: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """Run ``manage.py`` as a deployment would: this environment less ``unset``, plus ``values``."""
    env = {key: value for key, value in os.environ.items() if key not in unset}
    env.update(values)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_it_passes_the_deploy_check_with_production_variables(tmp_path: Path) -> None:
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        # DJANGO_ALLOW_ASYNC_UNSAFE is set by the browser tests' process, never in deployment.
        unset={"HTTPS", "DEBUG", "SECRET_KEY", "ONCOBOARD_STATE_DIR", "DJANGO_ALLOW_ASYNC_UNSAFE"},
        values={
            "SECRET_KEY": "x" * 20 + "production-like-secret-from-the-environment-0123456789",
            "AUDIT_HMAC_KEY": "a" * 20 + "production-like-audit-key-from-the-environment-0123",
            "ALLOWED_HOSTS": "oncoboard.hospital.example",
            "ONCOBOARD_STATE_DIR": str(tmp_path),
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert not (tmp_path / "secret_key").exists()


def test_it_refuses_to_start_in_production_without_a_secret_key(tmp_path: Path) -> None:
    result = _manage(
        "check",
        unset={"HTTPS", "DEBUG", "SECRET_KEY"},
        values={"ONCOBOARD_STATE_DIR": str(tmp_path)},
    )
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_it_refuses_to_start_with_a_malformed_value_and_names_the_variable(
    tmp_path: Path,
) -> None:
    result = _manage(
        "check",
        unset={"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "AUDIT_HMAC_KEY"},
        values={
            "ONCOBOARD_STATE_DIR": str(tmp_path),
            "HTTPS": "false",
            "PATHOLOGY_CHUNK_MB": "lots",
        },
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1] == (
        "django.core.exceptions.ImproperlyConfigured: "
        "PATHOLOGY_CHUNK_MB must be a whole number, not 'lots'"
    )
