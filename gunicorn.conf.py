"""Gunicorn settings for OncoBoard: ``gunicorn oncology_ui.wsgi`` reads this file from the root.

Worker model: threads (``gthread``), not gevent and not plain sync.

- Plain ``sync`` workers serve one request each: during a tumor-board burst a slide viewer's
  dozens of tile requests queue behind one case page, which is how 30 users on 2 sync workers
  saw a 4.7 s page p95 (docs/scaling.md).
- ``gevent`` only helps code that yields to its loop. Our slow parts do not: tile decoding
  (OpenSlide, Pillow), slice rendering (NumPy) and the models (torch) run in C without
  yielding, and psycopg 3 would need its own green wait callback. They do release the GIL, which
  is what threads need, and the database round trips release it too.
- So each worker runs a few threads; the per-process caches of open slides and rendered tiles
  (``oncology_ui/pathology/tiles.py``) are shared by those threads instead of being repeated per
  process. More cores get more workers, not more threads.

Every value can be overridden from the environment (or on the command line) without editing
this file.
"""

from __future__ import annotations

import multiprocessing
import os


def _env_int(name: str, default: int, minimum: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, not {raw!r}") from None
    if value < minimum:
        raise SystemExit(f"{name} must be at least {minimum}, not {value}")
    return value


bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
worker_class = "gthread"
# One worker per core: a worker is one Python interpreter, so one GIL per core.
workers = _env_int("WEB_CONCURRENCY", multiprocessing.cpu_count(), minimum=1)
# Threads per worker: enough to overlap database and disk waits of one page and its tiles.
threads = _env_int("GUNICORN_THREADS", 4, minimum=1)
# Browsers keep the connection between the page, its htmx sections and its tiles.
keepalive = _env_int("GUNICORN_KEEPALIVE", 5, minimum=1)
# A request that runs this long is stuck (jobs run in RQ workers, not in requests).
timeout = _env_int("GUNICORN_TIMEOUT", 60, minimum=10)
graceful_timeout = 30
# Recycle workers now and then so that slow growth (caches of native libraries) cannot build up
# over weeks; the jitter keeps workers from restarting together. 0 turns it off (benchmark P10
# turns it off to measure growth per worker).
max_requests = _env_int("GUNICORN_MAX_REQUESTS", 5000, minimum=0)
max_requests_jitter = _env_int("GUNICORN_MAX_REQUESTS_JITTER", 500, minimum=0)
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
