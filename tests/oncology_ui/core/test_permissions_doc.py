"""docs/permissions.md carries the role matrix of ``core/roles.py``, generated, never retyped."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.conf import LazySettings
from django.core.management import CommandError, call_command

from oncology_ui.core.management.commands.permissions_doc import doc_path, permissions_doc
from oncology_ui.core.roles import CAPABILITIES, ROLE_PERMISSIONS, ROLES


def test_the_committed_doc_is_the_generated_one() -> None:
    current = doc_path().read_text(encoding="utf-8")
    assert permissions_doc(current) == current, "run: python manage.py permissions_doc"


def test_the_check_refuses_a_doc_whose_table_was_edited_by_hand(
    tmp_path: Path, settings: LazySettings
) -> None:
    (tmp_path / "docs").mkdir()
    edited = doc_path().read_text(encoding="utf-8").replace("| ✓ |", "| — |", 1)
    (tmp_path / "docs" / "permissions.md").write_text(edited, encoding="utf-8")
    settings.BASE_DIR = tmp_path
    with pytest.raises(CommandError, match="out of date"):
        call_command("permissions_doc", "--check", stdout=StringIO())
    call_command("permissions_doc", stdout=StringIO())
    call_command("permissions_doc", "--check", stdout=StringIO())


def test_every_capability_names_known_roles_and_every_role_gets_its_rows() -> None:
    for row in CAPABILITIES:
        assert row.permissions and set(row.roles) <= set(ROLES), row.text
    for role in ROLES:
        expected = {code for row in CAPABILITIES if role in row.roles for code in row.permissions}
        assert set(ROLE_PERMISSIONS[role]) == expected
