"""What the core tests share: a database that is down, and ``manage.py`` in a fresh process."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from django.db import connections

from tests.subprocesses import run_python


@contextmanager
def database_down() -> Iterator[None]:
    """Point the default connection at a closed port for the duration of the block."""
    connection = connections["default"]
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict["PORT"] = "1"  # nothing listens there
    connection.settings_dict["OPTIONS"] = {**saved.get("OPTIONS", {}), "connect_timeout": 2}
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)


def environment_without(names: Iterable[str]) -> dict[str, str]:
    """This process's environment less ``names``: a deployment sets none of them by default."""
    dropped = set(names)
    return {key: value for key, value in os.environ.items() if key not in dropped}


def manage_py(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``manage.py`` with ``args`` in a fresh process, as a deployment would start it."""
    return run_python("manage.py", *args, env=env)
