"""Backup and restore drill (SECURITY.md scenario 46): back up, restore afresh, check the copy.

    DATABASE_URL=postgres://... MEDIA_ROOT=/srv/oncoboard/media AUDIT_HMAC_KEY=... \\
        python scripts/backup_drill.py [--backup-dir DIR] [--keep]

Uses the app's own environment (the same ``AUDIT_HMAC_KEY`` and ``AUDIT_ANCHOR_PATH``: the restored
chain must verify against the anchors written before the backup). Steps, each timed:

1. Backup: ``pg_dump --format=custom`` of ``DATABASE_URL`` and a tar of ``MEDIA_ROOT``.
2. Restore: ``createdb`` a fresh database ``<name>_drill_<utc time>`` on the same server,
   ``pg_restore --no-owner`` into it, and unpack the media into a fresh folder.
3. Check the copy: row counts of every table equal the source's (run it while nothing writes, or
   read the counts as "at least"), ``manage.py verify_audit`` passes on the restored chain and
   ``manage.py restore_check`` finds every referenced media file and opens a slide and a study.
4. Drop the restored database and folder unless ``--keep``.

Prints one JSON object last: the timings (backup seconds, restore-to-verified seconds = the RTO
of this drill), the dump's size and its newest audit row's time (what a restore would bring
back), and every problem found. Exits 1 if any check failed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent


def _database_parts(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"}:
        raise SystemExit(f"the drill needs PostgreSQL; DATABASE_URL is {parts.scheme}://")
    name = parts.path.lstrip("/")
    if not name:
        raise SystemExit("DATABASE_URL names no database")
    return name, urlunsplit(parts._replace(path="/postgres"))


def _with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def _run(command: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - fixed argument lists, no shell
        command, capture_output=True, text=True, env=env, check=False, timeout=3600
    )


def _table_counts(url: str) -> dict[str, int]:
    import psycopg
    from psycopg import sql

    with psycopg.connect(url, connect_timeout=5) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
            )
        ]
        counts = {}
        for table in tables:
            row = conn.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
            ).fetchone()
            counts[table] = int(row[0]) if row else 0
    return counts


def _newest_audit_row(url: str) -> str | None:
    import psycopg

    with psycopg.connect(url, connect_timeout=5) as conn:
        row = conn.execute("SELECT max(at) FROM core_accesslog").fetchone()
    return row[0].isoformat() if row and row[0] else None


def _manage(command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return _run([sys.executable, str(ROOT / "manage.py"), command], env=env)


def drill(
    *, database_url: str, media_root: Path, backup_dir: Path, keep: bool = False
) -> dict[str, Any]:
    """Run the drill once; return the report (``ok`` False when any check failed)."""
    source, maintenance = _database_parts(database_url)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S")
    restored = f"{source}_drill_{stamp}"[:63]  # PostgreSQL's name limit
    restored_url = _with_database(database_url, restored)
    dump = backup_dir / f"{source}-{stamp}.dump"
    media_tar = backup_dir / f"media-{stamp}.tar.gz"
    restored_media = Path(tempfile.mkdtemp(prefix="oncoboard-drill-media-"))
    problems: list[str] = []
    report: dict[str, Any] = {"source": source, "restored": restored, "backup_dir": str(backup_dir)}

    # 1. Backup.
    started = time.monotonic()
    result = _run(["pg_dump", "--format=custom", f"--file={dump}", database_url])
    if result.returncode != 0:
        raise SystemExit(f"pg_dump failed: {result.stderr.strip()}")
    with tarfile.open(media_tar, "w:gz") as tar:
        tar.add(media_root, arcname=".")
    report["backup_seconds"] = round(time.monotonic() - started, 2)
    report["dump_bytes"] = dump.stat().st_size
    report["media_tar_bytes"] = media_tar.stat().st_size
    report["newest_audit_row_in_backup"] = _newest_audit_row(database_url)
    source_counts = _table_counts(database_url)

    # 2. Restore into a fresh database and folder.
    started = time.monotonic()
    try:
        result = _run(["createdb", f"--maintenance-db={maintenance}", restored])
        if result.returncode != 0:
            raise SystemExit(f"createdb failed: {result.stderr.strip()}")
        result = _run(["pg_restore", "--no-owner", f"--dbname={restored_url}", str(dump)])
        if result.returncode != 0:
            problems.append(f"pg_restore: {result.stderr.strip()[:500]}")
        with tarfile.open(media_tar, "r:gz") as tar:
            tar.extractall(restored_media, filter="data")  # refuses links and paths outside
        report["restore_seconds"] = round(time.monotonic() - started, 2)

        # 3. Check the copy.
        restored_counts = _table_counts(restored_url)
        differing = {
            table: {"source": count, "restored": restored_counts.get(table)}
            for table, count in source_counts.items()
            if restored_counts.get(table) != count
        }
        if differing:
            problems.append(f"row counts differ: {json.dumps(differing)}")
        report["tables"] = len(restored_counts)
        report["rows"] = sum(restored_counts.values())
        env = {
            **os.environ,
            "DATABASE_URL": restored_url,
            "MEDIA_ROOT": str(restored_media),
            "DJANGO_SETTINGS_MODULE": os.environ.get(
                "DJANGO_SETTINGS_MODULE", "oncology_ui.settings"
            ),
        }
        env.pop("REDIS_URL", None)  # the copy must not enqueue jobs on the live queue
        audit = _manage("verify_audit", env)
        report["verify_audit"] = (audit.stdout.strip() or audit.stderr.strip()).splitlines()[-1:]
        if audit.returncode != 0:
            problems.append(f"verify_audit: {(audit.stderr or audit.stdout).strip()[-500:]}")
        check = _manage("restore_check", env)
        lines = check.stdout.strip().splitlines()
        report["restore_check"] = json.loads(lines[-1]) if lines else None
        if check.returncode != 0:
            problems.append(f"restore_check: {(check.stderr or check.stdout).strip()[-500:]}")
        report["restore_to_verified_seconds"] = round(time.monotonic() - started, 2)
    finally:
        if not keep:
            _run(["dropdb", f"--maintenance-db={maintenance}", "--if-exists", restored])
            shutil.rmtree(restored_media, ignore_errors=True)
        else:
            report["restored_media"] = str(restored_media)
    report["problems"] = problems
    report["ok"] = not problems
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backup-dir", type=Path, help="where the dump and media tar go")
    parser.add_argument(
        "--keep", action="store_true", help="keep the restored database and media folder"
    )
    args = parser.parse_args(argv)
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url:
        raise SystemExit("set DATABASE_URL to the database to back up")
    media_root = Path(os.environ.get("MEDIA_ROOT", str(ROOT / "media")))
    if not media_root.is_dir():
        raise SystemExit(f"MEDIA_ROOT {media_root} is not a folder")
    backup_dir = args.backup_dir or Path(tempfile.mkdtemp(prefix="oncoboard-backup-"))
    backup_dir.mkdir(parents=True, exist_ok=True)
    report = drill(
        database_url=database_url, media_root=media_root, backup_dir=backup_dir, keep=args.keep
    )
    print(json.dumps(report))  # noqa: T201 - the drill's report is its output
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
