from __future__ import annotations

from pathlib import Path

import pytest

from tests.oncology_ui.core.helpers import environment_without, manage_py


@pytest.mark.slow
def test_it_passes_the_deploy_check_with_production_variables(tmp_path: Path) -> None:
    env = environment_without(
        # DJANGO_ALLOW_ASYNC_UNSAFE is set by the browser tests' process, never in deployment.
        {"HTTPS", "DEBUG", "SECRET_KEY", "ONCOBOARD_STATE_DIR", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    )
    env.update(
        {
            "SECRET_KEY": "x" * 20 + "production-like-secret-from-the-environment-0123456789",
            "AUDIT_HMAC_KEY": "a" * 20 + "production-like-audit-key-from-the-environment-0123",
            "ALLOWED_HOSTS": "oncoboard.hospital.example",
            "ONCOBOARD_STATE_DIR": str(tmp_path),
        }
    )
    result = manage_py("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert not (tmp_path / "secret_key").exists()


def test_it_refuses_to_start_in_production_without_a_secret_key(tmp_path: Path) -> None:
    env = environment_without({"HTTPS", "DEBUG", "SECRET_KEY"})
    env["ONCOBOARD_STATE_DIR"] = str(tmp_path)
    result = manage_py("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_it_refuses_to_start_with_a_malformed_value_and_names_the_variable(
    tmp_path: Path,
) -> None:
    env = environment_without({"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "AUDIT_HMAC_KEY"})
    env.update(
        {"ONCOBOARD_STATE_DIR": str(tmp_path), "HTTPS": "false", "PATHOLOGY_CHUNK_MB": "lots"}
    )
    result = manage_py("check", env=env)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1] == (
        "django.core.exceptions.ImproperlyConfigured: "
        "PATHOLOGY_CHUNK_MB must be a whole number, not 'lots'"
    )
