"""PostgreSQL guards that keep the access log append-only at the database itself."""

from __future__ import annotations

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
