"""On PostgreSQL, refuse UPDATE, DELETE and TRUNCATE of audit rows at the database itself."""

from __future__ import annotations

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

from oncology_ui.core import audit_sql


def forwards(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        # params=None: the SQL contains a literal % that must not be read as a placeholder.
        for statement in (audit_sql.FUNCTION, audit_sql.ROW_TRIGGER, audit_sql.TRUNCATE_TRIGGER):
            schema_editor.execute(statement, params=None)


def backwards(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(audit_sql.DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
