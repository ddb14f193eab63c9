"""gunicorn.conf.py: the worker model for the tumor-board load, overridable and strict about it."""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

import pytest

CONF = Path(__file__).resolve().parent.parent / "gunicorn.conf.py"


def _load(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, Any]:
    for name in ("WEB_CONCURRENCY", "GUNICORN_THREADS", "GUNICORN_MAX_REQUESTS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(CONF))


def test_it_serves_with_threads_so_tiles_do_not_queue_behind_a_page(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    conf = _load(monkeypatch)
    assert conf["worker_class"] == "gthread" and conf["threads"] >= 2
    assert conf["workers"] >= 1 and conf["max_requests"] > 0 and conf["max_requests_jitter"] > 0


def test_the_environment_sizes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    conf = _load(monkeypatch, WEB_CONCURRENCY="3", GUNICORN_THREADS="8", GUNICORN_MAX_REQUESTS="0")
    assert (conf["workers"], conf["threads"], conf["max_requests"]) == (3, 8, 0)


@pytest.mark.parametrize(("name", "value"), [("WEB_CONCURRENCY", "two"), ("GUNICORN_THREADS", "0")])
def test_it_refuses_a_bad_value_by_name(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    with pytest.raises(SystemExit, match=name):
        _load(monkeypatch, **{name: value})
