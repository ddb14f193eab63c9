"""Settings are read from the environment once, in ``settings.py``, and a bad value stops start-up.

The settings module is executed afresh with a chosen environment (``runpy``), so the suite's own
settings stay untouched (``core/test_deploy_check.py`` starts ``manage.py`` for real to see what an
operator sees).
"""

from __future__ import annotations

import ast
import runpy
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from tests.paths import REPO_ROOT

SETTINGS = REPO_ROOT / "oncology_ui" / "settings.py"
# The only modules that may touch os.environ: the helpers that read it for settings.py, and the
# entry points that name the settings module.
# A PACS connection configured in the admin names the environment variable of its password,
# which is read at each use so that the password never reaches the database.
ENVIRONMENT_READERS = {
    "oncology_ui/core/env.py",
    "oncology_ui/wsgi.py",
    "oncology_ui/imaging/connections.py",
}


def _load_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **env: str) -> dict[str, Any]:
    monkeypatch.setenv("ONCOBOARD_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("HTTPS", "false")
    for name in ("SECRET_KEY", "AUDIT_HMAC_KEY", "DATABASE_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS))


def test_the_defaults_start(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    loaded = _load_settings(monkeypatch, tmp_path)
    assert loaded["PATHOLOGY_CHUNK_MB"] == 8
    assert loaded["IMAGING_DEID_DATES"] == "shift"
    assert loaded["TRIALS_RETRIEVAL_MODE"] == "hybrid"
    assert loaded["LOG_LEVEL"] == "INFO"


def test_values_are_read_and_normalised(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    loaded = _load_settings(
        monkeypatch,
        tmp_path,
        PATHOLOGY_CHUNK_MB="4",
        IMAGING_DEID_DATES="keep",
        LOG_LEVEL="warning",
        CLINICAL_FHIR_MAX_MB="5",
    )
    assert loaded["PATHOLOGY_CHUNK_MB"] == 4
    assert loaded["IMAGING_DEID_DATES"] == "keep"
    assert loaded["LOGGING"]["root"]["level"] == "WARNING"
    assert loaded["CLINICAL_FHIR_MAX_BYTES"] == 5 * 1024 * 1024


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("HTTPS", "perhaps", "HTTPS must be one of true/false"),
        ("JOBS_MAX_ATTEMPTS", "many", "JOBS_MAX_ATTEMPTS must be a whole number, not 'many'"),
        ("SESSION_IDLE_TIMEOUT_SECONDS", "5", "SESSION_IDLE_TIMEOUT_SECONDS must be at least 60"),
        ("PATHOLOGY_CHUNK_MB", "128", "PATHOLOGY_CHUNK_MB must be at most 64, not 128"),
        ("IMAGING_SANDBOX_MEMORY_MB", "64", "IMAGING_SANDBOX_MEMORY_MB must be at least 128"),
        ("IMAGING_DEID_DATES", "drop", "IMAGING_DEID_DATES must be one of shift, keep, not 'drop'"),
        ("TRIALS_RETRIEVAL_MODE", "vectors", "TRIALS_RETRIEVAL_MODE must be one of hybrid, bm25"),
        ("LOG_LEVEL", "loud", "LOG_LEVEL must be one of DEBUG, INFO"),
        ("DATABASE_URL", "mysql://db/oncoboard", "DATABASE_URL must start with one of sqlite"),
        ("REDIS_URL", "http://cache:6379/0", "REDIS_URL must start with one of redis"),
        ("SSO_SERVER_URL", "idp.example.org", "SSO_SERVER_URL must start with one of https"),
        ("ALLOWED_HOSTS", "a.example,,b.example", "ALLOWED_HOSTS is a comma-separated list"),
        ("SECRET_KEY", "short", "SECRET_KEY must be at least 50 characters long"),
    ],
)
def test_a_bad_value_stops_start_up_with_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str, value: str, message: str
) -> None:
    with pytest.raises(ImproperlyConfigured) as refused:
        _load_settings(monkeypatch, tmp_path, **{name: value})
    assert str(refused.value).startswith(message)


def _reads_environment(tree: ast.AST) -> list[int]:
    names = {"environ", "environb", "getenv"}
    attributes = [n for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr in names]
    imports = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.ImportFrom)
        and n.module == "os"
        and any(alias.name in names for alias in n.names)
    ]
    return [node.lineno for node in attributes] + [node.lineno for node in imports]


def test_only_the_settings_helpers_read_the_environment() -> None:
    offenders = []
    for path in sorted((REPO_ROOT / "oncology_ui").rglob("*.py")):
        relative = path.relative_to(REPO_ROOT).as_posix()
        if relative in ENVIRONMENT_READERS:
            continue
        for line in _reads_environment(ast.parse(path.read_text(), filename=relative)):
            offenders.append(f"{relative}:{line}")
    assert offenders == []


def test_only_settings_py_calls_the_env_helpers() -> None:
    helpers = {"env_str", "env_bool", "env_int", "env_list", "env_url", "env_choice", "secret_key"}
    callers = set()
    for path in sorted((REPO_ROOT / "oncology_ui").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in helpers
            ):
                callers.add(path.relative_to(REPO_ROOT).as_posix())
    assert callers <= {"oncology_ui/settings.py", "oncology_ui/core/env.py"}
