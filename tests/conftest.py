"""Suite-wide fixtures. Tests run against the real PostgreSQL and Redis named by
DATABASE_URL / REDIS_URL (the Makefile points them at the local servers)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import LazySettings
from django.db import connection


@pytest.fixture(autouse=True)
def _media_root(tmp_path: Path, settings: LazySettings) -> Iterator[Path]:
    """Every test writes files into its own folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    yield settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def _audit_anchor_path(tmp_path: Path, settings: LazySettings) -> None:
    """Audit anchors go to the test's own folder, never the local demo's anchor file."""
    settings.AUDIT_ANCHOR_PATH = tmp_path / "audit-anchors.log"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: LazySettings) -> None:
    """Argon2 costs ~100 MB and a few hundred ms per hash by design; the cast hashes many.

    Production keeps Argon2 first (``test_passwords_are_stored_with_argon2`` checks the real
    settings); tests that exercise hashing itself put it back with the ``settings`` fixture.
    """
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: pytest.FixtureRequest) -> None:
    """Allow the test runner's own flush between transactional tests.

    The audit log refuses TRUNCATE on PostgreSQL, and Django empties tables with TRUNCATE after
    every transactional test. Only that statement-level guard is dropped, and only in the
    throwaway test database; ``test_audit`` recreates it inside a rolled-back transaction to
    prove it works. The row-level UPDATE/DELETE guard stays on for every test.
    """
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "DROP TRIGGER IF EXISTS core_accesslog_no_truncate ON core_accesslog"
                )
