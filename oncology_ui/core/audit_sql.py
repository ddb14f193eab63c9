"""PostgreSQL guards that keep the access log append-only at the database itself."""

from __future__ import annotations

import re
from collections.abc import Iterable

FUNCTION = """
CREATE OR REPLACE FUNCTION oncoboard_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'core_accesslog is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""
ROW_TRIGGER = """
CREATE TRIGGER core_accesslog_no_update_delete
    BEFORE UPDATE OR DELETE ON core_accesslog
    FOR EACH ROW EXECUTE FUNCTION oncoboard_audit_append_only();
"""
TRUNCATE_TRIGGER = """
CREATE TRIGGER core_accesslog_no_truncate
    BEFORE TRUNCATE ON core_accesslog
    FOR EACH STATEMENT EXECUTE FUNCTION oncoboard_audit_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS core_accesslog_no_truncate ON core_accesslog;
DROP TRIGGER IF EXISTS core_accesslog_no_update_delete ON core_accesslog;
DROP FUNCTION IF EXISTS oncoboard_audit_append_only();
"""

# The least-privilege deployment (docs/audit.md): an owner role runs migrations and owns every
# table, trigger and function; the app's role may append to and read the access log but never
# change, remove, truncate or unguard it (ALTER TABLE and DROP TRIGGER need the owner).
AUDIT_TABLE = "core_accesslog"
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def app_role_grants(role: str, tables: Iterable[str]) -> list[str]:
    """The GRANT statements the owner runs (after every migrate) for the app's database role.

    Raises:
        ValueError: for a role or table name that is not a plain lower-case identifier (they are
            written into SQL, so nothing else is accepted).
    """
    if not _IDENTIFIER.fullmatch(role):
        raise ValueError(f"role name must be a plain lower-case identifier, not {role!r}")
    statements = [f"GRANT USAGE ON SCHEMA public TO {role};"]
    for table in sorted(tables):
        if not _IDENTIFIER.fullmatch(table):
            raise ValueError(f"table name must be a plain lower-case identifier, not {table!r}")
        if table == AUDIT_TABLE:
            privileges = "SELECT, INSERT"
        elif table == "django_migrations":
            privileges = "SELECT"  # only the owner migrates
        else:
            privileges = "SELECT, INSERT, UPDATE, DELETE"  # no TRUNCATE, REFERENCES or TRIGGER
        statements += [
            f"REVOKE ALL ON {table} FROM {role};",
            f"GRANT {privileges} ON {table} TO {role};",
        ]
    # Identity columns draw from sequences: inserting needs USAGE on them.
    statements.append(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role};")
    return statements
