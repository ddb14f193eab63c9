"""Suite-wide fixtures. Tests run against the real PostgreSQL and Redis named by
DATABASE_URL / REDIS_URL (the Makefile points them at the local servers)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import LazySettings
from django.db import connection
from django.test import Client


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist (``make test`` and ``make test-fast`` run two workers) each worker gets
    its own Redis database, as pytest-django gives it its own PostgreSQL database
    (``test_test_gw0``, ...): a test that empties the queue must not empty the other worker's.
    gw0 keeps the configured database, gw1 the one below it, and so on; subprocesses
    (``jobs_worker``) inherit it."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw"):
        return
    from django.conf import settings

    url = getattr(settings, "REDIS_URL", None)
    match = re.fullmatch(r"(rediss?://[^/]+)/(\d+)", url or "")
    if match is None:
        return
    worker_url = f"{match.group(1)}/{max(0, int(match.group(2)) - int(worker[2:]))}"
    settings.REDIS_URL = worker_url
    for queue in settings.RQ_QUEUES.values():  # django-rq holds this same dict
        queue["URL"] = worker_url
    os.environ["REDIS_URL"] = worker_url


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


@pytest.fixture(autouse=True)
def _force_login_passes_the_second_factor(monkeypatch: pytest.MonkeyPatch) -> None:
    """``force_login`` skips the password; for users who need a second factor it skips that too.

    Tests about signing in itself go through the real forms (``tests/oncology_ui/core/test_mfa``);
    every other test that needs an administrator gets a session verified with a real, confirmed
    TOTP device, the state a real sign-in would leave.
    """
    original = Client.force_login

    def force_login(self: Client, user: Any, backend: str | None = None) -> None:
        original(self, user, backend)
        from django_otp import DEVICE_ID_SESSION_KEY
        from django_otp.plugins.otp_totp.models import TOTPDevice

        from oncology_ui.core.mfa import mfa_enrolled, mfa_required

        if not (mfa_required(user) or mfa_enrolled(user)):
            return
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name="test device", confirmed=True)
        session = self.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()

    monkeypatch.setattr(Client, "force_login", force_login)


@pytest.fixture
def bm25_only_trials(settings: LazySettings) -> Iterator[None]:
    """Trial retrieval by BM25 alone, on a fresh process-wide index: no sentence-embedding model
    is loaded (the trial tests, board mode and the browser tests use it)."""
    from oncology_ui.trials.index import trial_index_reset

    settings.TRIALS_RETRIEVAL_MODE = "bm25"
    settings.TRIALS_EMBEDDINGS = False
    trial_index_reset()
    yield
    trial_index_reset()


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
