"""SQLite (the demo's database) runs in WAL mode with a busy timeout; PostgreSQL is left alone.

The SQLite checks run Django in a subprocess, because the suite's own connection is PostgreSQL:
the subprocess reads the real settings with ``DATABASE_URL=sqlite:///...`` and opens real
connections to a temporary file.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings

from tests.subprocesses import last_json_line, run_python

# Two connections to the same file: the first holds the write lock for 1.5 s while the second
# tries to write. Without a busy timeout the second fails at once with "database is locked".
PROBE = """
import json, threading, time
import django
django.setup()
from django.db import connection, connections
from django.db.utils import ConnectionHandler

with connection.cursor() as cursor:
    journal = cursor.execute("PRAGMA journal_mode").fetchone()[0]
    busy_ms = cursor.execute("PRAGMA busy_timeout").fetchone()[0]
    cursor.execute("CREATE TABLE probe (n integer)")

second = ConnectionHandler(settings={"default": dict(connections["default"].settings_dict)})
holding = threading.Event()

def hold_the_lock():
    with connection.cursor() as cursor:
        cursor.execute("BEGIN IMMEDIATE")
        cursor.execute("INSERT INTO probe VALUES (1)")
        holding.set()
        time.sleep(1.5)
        cursor.execute("COMMIT")

thread = threading.Thread(target=hold_the_lock)
thread.start()
holding.wait()
error = None
try:
    with second["default"].cursor() as cursor:
        cursor.execute("INSERT INTO probe VALUES (2)")
except Exception as exc:
    error = f"{type(exc).__name__}: {exc}"
thread.join()
print(json.dumps({"journal": journal, "busy_ms": busy_ms, "second_writer_error": error}))
"""


def _probe(tmp_path: Path) -> dict[str, object]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "oncology_ui.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "HTTPS": "false",
    }
    env.pop("REDIS_URL", None)
    result = run_python("-c", PROBE, env=env)
    assert result.returncode == 0, result.stderr
    return last_json_line(result.stdout)


@pytest.mark.slow
def test_sqlite_runs_in_wal_mode_and_a_second_writer_waits_for_the_lock(tmp_path: Path) -> None:
    probe = _probe(tmp_path)
    assert probe["journal"] == "wal"
    assert isinstance(probe["busy_ms"], int) and probe["busy_ms"] >= 5000
    assert probe["second_writer_error"] is None


def test_postgresql_gets_no_sqlite_pragmas() -> None:
    options = settings.DATABASES["default"].get("OPTIONS", {})
    assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    assert "init_command" not in options and "transaction_mode" not in options
