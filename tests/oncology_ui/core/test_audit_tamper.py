"""Scenario 37: the access log resists a database superuser, not only the application.

The chain is keyed (HMAC with a key the database never holds), anchored outside the database by
signed checkpoints, and the application's own database role cannot change, remove or unguard rows.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from django.conf import LazySettings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from oncology_ui.core import audit_sql
from oncology_ui.core.audit import audit_record, audit_verify_chain
from oncology_ui.core.models import AccessLog
from tests.oncology_ui.conftest import Cast
from tests.oncology_ui.core.helpers import environment_without, manage_py

pytestmark = pytest.mark.django_db
A = AccessLog.Action
postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="roles and triggers are PostgreSQL's"
)


@pytest.fixture
def anchors(tmp_path: Path, settings: LazySettings) -> Path:
    settings.AUDIT_ANCHOR_PATH = tmp_path / "audit-anchors.log"
    return settings.AUDIT_ANCHOR_PATH


def _rows(count: int) -> list[AccessLog]:
    return [audit_record(request=None, action=A.VIEW, category="case") for _ in range(count)]


def _plain_sha(row: Mapping[str, Any]) -> str:
    """The unkeyed hash the chain used before it was keyed: anyone with the rows can compute it."""
    at = row["at"]
    payload = {
        "at": at.isoformat(timespec="microseconds"),
        "user": row["user_id_snapshot"],
        "username": row["username"],
        "patient": row["patient_id_snapshot"],
        "action": row["action"],
        "category": row["category"],
        "object": row["object_ref"],
        "route": row["route"],
        "ip": row["source_ip"],
        "outcome": row["outcome"],
        "prev": row["prev_hash"],
    }
    body = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


@pytest.fixture
def superuser_bypass() -> Iterator[None]:
    """What a rogue superuser does first: switch the append-only guard off."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE core_accesslog DISABLE TRIGGER core_accesslog_no_update_delete")
    yield
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE core_accesslog ENABLE TRIGGER core_accesslog_no_update_delete")


def _rewrite_from(first_id: int, **changes: object) -> None:
    """Edit one row, then recompute every later row's plain hash and link, as a superuser can."""
    AccessLog.objects.filter(pk=first_id).update(**changes)
    prev = AccessLog.objects.filter(pk__lt=first_id).order_by("-id").values_list(
        "row_hash", flat=True
    ).first() or ("0" * 64)
    for row in AccessLog.objects.filter(pk__gte=first_id).order_by("id").values():
        row["prev_hash"] = prev
        new_hash = _plain_sha(row)
        AccessLog.objects.filter(pk=row["id"]).update(prev_hash=prev, row_hash=new_hash)
        prev = new_hash


@postgresql_only
def test_a_superuser_who_recomputes_every_later_hash_is_caught_at_the_edited_row(
    cast: Cast, anchors: Path, superuser_bypass: None
) -> None:
    rows = _rows(6)
    _rewrite_from(rows[2].pk, username="someone-else")
    report = audit_verify_chain()
    assert not report.ok
    assert report.first_bad_id == rows[2].pk and "edited" in report.reason
    with pytest.raises(CommandError, match=rf"row {rows[2].pk}\b"):
        call_command("verify_audit")


@postgresql_only
def test_a_row_rewritten_into_the_legacy_unkeyed_chain_is_caught(
    cast: Cast, anchors: Path, superuser_bypass: None
) -> None:
    rows = _rows(4)
    call_command("audit_anchor")
    # Downgrading every row to the plain-SHA chain version would let the forger recompute hashes;
    # the anchor taken while the rows were keyed refuses it.
    AccessLog.objects.update(chain_version=AccessLog.ChainVersion.PLAIN_SHA256)
    _rewrite_from(rows[0].pk, username="someone-else")
    report = audit_verify_chain()
    assert not report.ok and report.first_bad_id == rows[0].pk


def test_rows_written_before_the_key_still_verify_once_anchored(cast: Cast, anchors: Path) -> None:
    legacy = AccessLog(
        action=A.VIEW,
        category="case",
        outcome="success",
        prev_hash="0" * 64,
        chain_version=AccessLog.ChainVersion.PLAIN_SHA256,
    )
    legacy.row_hash = legacy.compute_hash()
    legacy.save()
    assert legacy.row_hash == _plain_sha(AccessLog.objects.filter(pk=legacy.pk).values()[0])
    unanchored = audit_verify_chain()
    assert not unanchored.ok and "audit_anchor" in unanchored.reason
    call_command("audit_anchor")
    keyed = _rows(2)
    assert keyed[0].prev_hash == legacy.row_hash
    assert keyed[0].chain_version == AccessLog.ChainVersion.HMAC_SHA256
    assert audit_verify_chain().ok


def test_the_chain_is_keyed_by_the_key_from_the_environment(
    cast: Cast, anchors: Path, settings: LazySettings
) -> None:
    rows = _rows(3)
    assert audit_verify_chain().ok
    settings.AUDIT_HMAC_KEY = "another-key-" + "k" * 50
    report = audit_verify_chain()
    assert report.first_bad_id == rows[0].pk and "edited" in report.reason


@postgresql_only
def test_deleting_the_newest_rows_after_an_anchor_is_caught(
    cast: Cast, anchors: Path, superuser_bypass: None
) -> None:
    rows = _rows(5)
    call_command("audit_anchor")
    line = json.loads(anchors.read_text().splitlines()[-1])
    assert (line["rows"], line["head_id"], line["head_hash"]) == (
        AccessLog.objects.count(),
        rows[-1].pk,
        rows[-1].row_hash,
    )
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_accesslog WHERE id >= %s", [rows[3].pk])
    report = audit_verify_chain()
    assert not report.ok
    assert f"saw {line['rows']} rows up to id {rows[-1].pk}" in report.reason
    assert f"the database now ends at id {rows[2].pk}" in report.reason
    with pytest.raises(CommandError, match="truncat"):
        call_command("verify_audit")


def test_rows_written_after_the_last_anchor_verify_and_each_anchor_appends_one_line(
    cast: Cast, anchors: Path
) -> None:
    _rows(2)
    call_command("audit_anchor")
    _rows(3)
    call_command("audit_anchor")
    _rows(1)
    assert len(anchors.read_text().splitlines()) == 2
    report = audit_verify_chain()
    assert report.ok and report.anchors_checked == 2, report.reason


def test_a_forged_anchor_line_is_refused(cast: Cast, anchors: Path) -> None:
    _rows(2)
    call_command("audit_anchor")
    line = json.loads(anchors.read_text())
    line["rows"] = 1
    anchors.write_text(json.dumps(line) + "\n")
    report = audit_verify_chain()
    assert not report.ok and "signature" in report.reason


@postgresql_only
def test_anchoring_refuses_a_chain_that_is_already_broken(
    cast: Cast, anchors: Path, superuser_bypass: None
) -> None:
    rows = _rows(3)
    _rewrite_from(rows[1].pk, category="other")
    with pytest.raises(CommandError, match=rf"row {rows[1].pk}\b"):
        call_command("audit_anchor")
    assert not anchors.exists() or anchors.read_text() == ""


@pytest.fixture
def app_role() -> Iterator[str]:
    """A non-superuser role with exactly the documented grants, gone with the test transaction."""
    role = f"oncoboard_app_{uuid.uuid4().hex[:8]}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {role} NOINHERIT NOLOGIN")
        for statement in audit_sql.app_role_grants(role, connection.introspection.table_names()):
            cursor.execute(statement)
    yield role


@postgresql_only
def test_the_app_role_cannot_change_remove_or_unguard_audit_rows(
    cast: Cast, anchors: Path, app_role: str
) -> None:
    row = audit_record(request=None, action=A.VIEW, category="case")
    refused = {
        "UPDATE core_accesslog SET category = 'x' WHERE id = %s": "permission denied",
        "DELETE FROM core_accesslog WHERE id = %s": "permission denied",
        "TRUNCATE core_accesslog": "permission denied",
        "ALTER TABLE core_accesslog DISABLE TRIGGER core_accesslog_no_update_delete": "owner",
        "ALTER TABLE core_accesslog DISABLE TRIGGER ALL": "owner",
        "DROP TRIGGER core_accesslog_no_update_delete ON core_accesslog": "owner",
    }
    for statement, message in refused.items():
        with (
            pytest.raises(DatabaseError, match=message),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(f"SET ROLE {app_role}")
            cursor.execute(statement, [row.pk] if "%s" in statement else None)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET ROLE {app_role}")
        cursor.execute("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone() == (app_role, False)
        # The app still does its work: it appends to the log and edits the clinical tables.
        appended = audit_record(request=None, action=A.VIEW, category="case")
        cursor.execute(
            "UPDATE patients_patient SET family_name = family_name WHERE id = %s",
            [cast.patient.pk],
        )
        assert audit_verify_chain().ok
        cursor.execute("RESET ROLE")
    assert AccessLog.objects.filter(pk=appended.pk).exists()


@postgresql_only
def test_the_printed_grants_are_the_ones_the_role_test_uses(
    capsys: pytest.CaptureFixture[str],
) -> None:
    call_command("audit_app_role_sql", "oncoboard_app")
    printed = capsys.readouterr().out
    assert "GRANT SELECT, INSERT ON core_accesslog TO oncoboard_app;" in printed
    assert "REVOKE ALL ON core_accesslog FROM oncoboard_app;" in printed
    assert "GRANT SELECT, INSERT, UPDATE, DELETE ON patients_patient TO oncoboard_app;" in printed
    with pytest.raises(CommandError, match="role name"):
        call_command("audit_app_role_sql", "app; DROP TABLE x")


def test_flush_is_unavailable_outside_the_test_runner(
    cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.test import utils

    # Django's test runner marks its environment; a real deployment never has this marker.
    monkeypatch.delattr(utils._TestState, "saved_data")
    before = AccessLog.objects.count()
    audit_record(request=None, action=A.VIEW, category="case")
    with pytest.raises(CommandError, match="append-only"):
        call_command("flush", interactive=False, verbosity=0)
    assert AccessLog.objects.count() == before + 1


def test_it_refuses_to_start_in_production_without_an_audit_key(tmp_path: Path) -> None:
    env = environment_without({"HTTPS", "DEBUG", "AUDIT_HMAC_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"})
    env.update(
        {
            "SECRET_KEY": "s" * 60,
            "ONCOBOARD_STATE_DIR": str(tmp_path),
        }
    )
    result = manage_py("check", env=env)
    assert result.returncode != 0
    assert "AUDIT_HMAC_KEY is not set" in result.stderr
    env["AUDIT_HMAC_KEY"] = "s" * 60
    same = manage_py("check", env=env)
    assert same.returncode != 0 and "must differ from SECRET_KEY" in same.stderr


def test_a_removed_anchor_line_or_an_unreadable_file_is_reported(cast: Cast, anchors: Path) -> None:
    for _ in range(3):
        _rows(1)
        call_command("audit_anchor")
    lines = anchors.read_text().splitlines()
    anchors.write_text(lines[0] + "\n" + lines[2] + "\n")
    with pytest.raises(CommandError, match="line 2 does not follow line 1"):
        call_command("verify_audit")
    anchors.write_bytes(b"\xff\xfe not text\n")
    report = audit_verify_chain()
    assert not report.ok and "cannot be read" in report.reason


@postgresql_only
def test_removing_anchored_rows_is_caught_even_once_new_rows_follow(
    cast: Cast, anchors: Path, superuser_bypass: None
) -> None:
    rows = _rows(4)
    call_command("audit_anchor")
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_accesslog WHERE id >= %s", [rows[2].pk])
    # The application goes on appending to what is now the head: the chain itself is whole.
    _rows(3)
    report = audit_verify_chain()
    assert not report.ok and report.first_bad_id == rows[-1].pk
    assert "anchored row removed" in report.reason
