"""The backup and restore drill, run for real: pg_dump, a fresh database, verify_audit, views."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from oncology_ui.core.audit import audit_record
from oncology_ui.core.models import AccessLog
from oncology_ui.pathology.models import Slide
from tests.oncology_ui.conftest import Cast
from tests.oncology_ui.imaging.conftest import STS, ingest, sts_files
from tests.oncology_ui.pathology.factories import ProcessedFiles, SlideFactory
from tests.subprocesses import last_json_line, run_python

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def processed_files(tmp_path_factory: pytest.TempPathFactory) -> ProcessedFiles:
    from tests.oncology_ui.pathology.factories import processed_slide_files

    return processed_slide_files(tmp_path_factory.mktemp("processed"))


@pytest.fixture
def case_with_images(cast: Cast, processed_files: ProcessedFiles) -> Slide:
    """A case with a ready slide, a CT series, audit rows and an anchor: all committed."""
    if connection.vendor != "postgresql":
        pytest.skip("the drill backs up PostgreSQL with pg_dump")
    slide = SlideFactory.ready(files=processed_files, case=cast.case, created_by=cast.pathologist)
    ct = {p.relative_to(STS).as_posix(): p.read_bytes() for p in sts_files("CT")}
    ingest(cast.case, ct, cast.oncologist)
    for action in (AccessLog.Action.VIEW, AccessLog.Action.EXPORT):
        audit_record(request=None, action=action, category="case", patient_id=cast.patient.pk)
    call_command("audit_anchor", stdout=open(os.devnull, "w"))  # noqa: SIM115
    return slide


def _drill(tmp_path: Path) -> tuple[int, dict[str, Any]]:
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "AUDIT_ANCHOR_PATH": str(settings.AUDIT_ANCHOR_PATH),
        "AUDIT_HMAC_KEY": settings.AUDIT_HMAC_KEY,
        "SECRET_KEY": settings.SECRET_KEY,
        "HTTPS": "false",
    }
    result = run_python(
        "scripts/backup_drill.py", "--backup-dir", str(tmp_path / "backup"), env=env, timeout=600
    )
    return result.returncode, last_json_line(result.stdout)


def test_the_drill_restores_a_verifiable_copy_whose_slide_and_study_open(
    case_with_images: Slide, tmp_path: Path
) -> None:
    status, report = _drill(tmp_path)

    assert status == 0, report["problems"]
    assert report["ok"] is True and report["problems"] == []
    assert "intact" in " ".join(report["verify_audit"]).lower()
    check = report["restore_check"]
    assert isinstance(check, dict)
    assert check["slides"] == 1 and check["series"] >= 1
    assert any("/slide_files/" in url for url in check["opened"])
    assert any("slice.png" in url for url in check["opened"])
    for timing in ("backup_seconds", "restore_seconds", "restore_to_verified_seconds"):
        assert isinstance(report[timing], float) and report[timing] > 0
    # The restored database was dropped again.
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [report["restored"]])
        assert cursor.fetchone() is None


def test_the_drill_fails_when_a_referenced_slide_file_is_not_in_the_backup(
    case_with_images: Slide, tmp_path: Path
) -> None:
    (Path(settings.MEDIA_ROOT) / case_with_images.derivative_path).unlink()

    status, report = _drill(tmp_path)

    problems = report["problems"]
    assert status == 1 and report["ok"] is False
    assert isinstance(problems, list)
    assert any("derivative_path" in str(problem) for problem in problems), problems
