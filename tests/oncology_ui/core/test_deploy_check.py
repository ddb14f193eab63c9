from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_it_passes_the_deploy_check_with_production_variables(tmp_path: Path) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        # DJANGO_ALLOW_ASYNC_UNSAFE is set by the browser tests' process, never in deployment.
        if key
        not in {"HTTPS", "DEBUG", "SECRET_KEY", "ONCOBOARD_STATE_DIR", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    env.update(
        {
            "SECRET_KEY": "x" * 20 + "production-like-secret-from-the-environment-0123456789",
            "AUDIT_HMAC_KEY": "a" * 20 + "production-like-audit-key-from-the-environment-0123",
            "ALLOWED_HOSTS": "oncoboard.hospital.example",
            "ONCOBOARD_STATE_DIR": str(tmp_path),
        }
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert not (tmp_path / "secret_key").exists()


def test_it_refuses_to_start_in_production_without_a_secret_key(tmp_path: Path) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"HTTPS", "DEBUG", "SECRET_KEY"}
    }
    env["ONCOBOARD_STATE_DIR"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr
