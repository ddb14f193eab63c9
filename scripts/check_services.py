"""Say whether the PostgreSQL and Redis the tests need are reachable, and how to start them."""

from __future__ import annotations

import os
import sys
from urllib.parse import urlparse

HOW_TO_START = {
    "PostgreSQL": "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    "Redis": (
        'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" '
        "--appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log"
    ),
}


def _check_postgres(url: str) -> str | None:
    import psycopg

    parsed = urlparse(url)
    try:
        with psycopg.connect(
            host=parsed.hostname,
            port=parsed.port or 5432,
            user=parsed.username,
            password=parsed.password,
            dbname=(parsed.path or "/postgres").lstrip("/"),
            connect_timeout=3,
        ) as connection:
            connection.execute("SELECT 1")
    except Exception as exc:
        return str(exc).strip().splitlines()[0]
    return None


def _check_redis(url: str) -> str | None:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except Exception as exc:
        return str(exc)
    return None


def main() -> int:
    database_url = os.environ.get("DATABASE_URL", "")
    redis_url = os.environ.get("REDIS_URL", "")
    failures = []
    for name, url, check in (
        ("PostgreSQL", database_url, _check_postgres),
        ("Redis", redis_url, _check_redis),
    ):
        error = check(url)
        if error:
            failures.append(name)
            sys.stderr.write(
                f"{name} is not reachable at {url}: {error}\n"
                f"  Start it with:  {HOW_TO_START[name]}\n"
                f"  or point {'TEST_DATABASE_URL' if name == 'PostgreSQL' else 'TEST_REDIS_URL'} "
                "at a running server.\n"
            )
    if failures:
        return 1
    sys.stdout.write(f"PostgreSQL and Redis reachable ({database_url}, {redis_url}).\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
