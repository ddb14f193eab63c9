"""What the web benchmarks P6 and P10 share: a PostgreSQL database of their own, the environment
and gunicorn process serving the app with the hello-world route, CPU pinning and percentiles."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://root@127.0.0.1:5432/test"
# The app's settings plus the hello-world route.
SETTINGS_MODULE = "benchmarks._hello_world_settings"


def bench_database_url(base: str, *, database: str, bench_id: str) -> str:
    """``base`` (the environment's ``DATABASE_URL``) pointed at the benchmark's own database."""
    parts = urlsplit(base)
    if parts.scheme not in {"postgres", "postgresql"}:
        raise SystemExit(f"{bench_id} needs PostgreSQL; DATABASE_URL is {parts.scheme}://")
    return urlunsplit(parts._replace(path=f"/{database}"))


def maintenance_url(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/postgres"))


def create_database(url: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(maintenance_url(url), autocommit=True, connect_timeout=5) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def server_env(database_url: str, secret_key: str, **extra: str) -> dict[str, str]:
    """This process's environment for the server, without Redis (jobs run in process)."""
    env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": SETTINGS_MODULE,
            "DATABASE_URL": database_url,
            "HTTPS": "false",  # plain HTTP on loopback, as in the local demo
            "DEBUG": "false",
            "SECRET_KEY": secret_key,
            "LOG_LEVEL": "WARNING",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "PYTHONPATH": str(REPO_ROOT),
            **extra,
        }
    )
    return env


def signed_in_cookie(user: Any) -> str:
    """A session cookie for ``user``, created in the session store (no login form, no password).

    Call after ``django.setup()``.
    """
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from oncology_ui.core.middleware import SESSION_ACTIVE_KEY, SESSION_STARTED_KEY

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session[SESSION_STARTED_KEY] = session[SESSION_ACTIVE_KEY] = time.time()
    session.create()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cores() -> tuple[set[int], set[int], bool]:
    """(server cores, client cores, pinned): the last core serves, the others load."""
    available = sorted(os.sched_getaffinity(0))
    if len(available) < 2:
        return set(available), set(available), False
    return {available[-1]}, set(available[:-1]), True


@contextlib.contextmanager
def gunicorn(
    env: dict[str, str], port: int, server_cores: set[int], options: list[str], *, stop_s: float
) -> Iterator[subprocess.Popen[bytes]]:
    """gunicorn with ``options`` serving the app on ``port``, pinned to ``server_cores``."""
    command = [
        sys.executable, "-m", "gunicorn", *options,
        "--bind", f"127.0.0.1:{port}",
        "--log-level", "warning",
        "--chdir", str(REPO_ROOT),
        "oncology_ui.wsgi:application",
    ]  # fmt: skip
    process = subprocess.Popen(  # noqa: S603 - fixed argument list
        command,
        cwd=REPO_ROOT,
        env=env,
        # Master and workers stay on the server cores: children inherit the affinity.
        preexec_fn=lambda: os.sched_setaffinity(0, server_cores),  # noqa: PLW1509
    )
    try:
        wait_ready(port, process)
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=stop_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def wait_ready(port: int, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with status {process.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/health/")
            if conn.getresponse().status == 200:
                conn.close()
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("gunicorn did not answer /health/ in time")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]
