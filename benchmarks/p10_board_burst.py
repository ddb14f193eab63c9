"""P10: a tumor-board burst on PostgreSQL, driven by Locust on loopback, and a soak after it.

SECURITY.md scenarios 47 (burst) and 48 (soak), sized for this machine:

1. Create the database ``<DATABASE_URL's name>_p10`` next to ``DATABASE_URL``'s, migrate it and run
   ``seed_demo`` (idempotent; the first run loads the trial corpus and takes minutes). Media and
   local keys live in ``.local/p10/``.
2. Find the composed imaging demo case (a slide and a CT) and list what a browser asks for when
   it opens it: the page, each deferred section as an htmx partial, slide tiles of the top three
   Deep Zoom levels and CT slices. Sign in one session per simulated user directly in the
   session store (the login form is not what this measures).
3. Start gunicorn with the repository's ``gunicorn.conf.py`` (2 workers, gthread;
   ``P10_WORKER_CLASS`` overrides the class, e.g. ``sync`` for the old setting), no recycling,
   on loopback, pinned to one core; Locust runs headless in its own process on the other core.
4. Burst: 30 board members open the case within 10 s (page, partials, 20 tiles, 5 slices and the
   hello-world reference each round) while 20 colleagues browse the work list and other cases.
5. Soak (skipped with ``--quick``): the same 50 users for ``--soak-seconds`` (default 600); the
   resident memory of each gunicorn worker is read at the start and the end of the soak.

Reported: p50/p95 per class (page, partial, tile, slice, hello), errors, database connections
and memory growth per worker. The goals: pages and partials p95 < 1 s / < 300 ms, tiles and
slices p95 < 300 ms, no errors.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from benchmarks import _web_server as web
from benchmarks.common import BenchmarkResult, result_line

ID = "P10"
TITLE = "tumor-board burst (Locust, 30 + 20 users) on PostgreSQL, plus a soak with memory growth"

RESULTS_DIR = web.REPO_ROOT / "benchmarks" / "results"
STATE_DIR = web.REPO_ROOT / ".local" / "p10"
LOCUSTFILE = Path(__file__).resolve().parent / "_board_burst_locustfile.py"
HELLO_PATH = "/bench-hello/"
USERNAME = "demo.oncologist"
IMAGES_MRN = "DEMO-IMG1"
BOARD_USERS = 30
BACKGROUND_USERS = 20
SPAWN_SECONDS = 10.0  # everyone has opened the case within 10 s (scenario 47)
WORKERS = 2
GOALS_MS = {"page": 1000.0, "partial": 300.0, "tile": 300.0, "slice": 300.0}
CLASSES = ("page", "partial", "tile", "slice", "hello")


def _bench_database_url(base: str) -> tuple[str, str]:
    name = f"{urlsplit(base).path.lstrip('/') or 'oncoboard'}_p10"
    return web.bench_database_url(base, database=name, bench_id=ID), name


def _connections(url: str, name: str) -> int:
    import psycopg

    with psycopg.connect(web.maintenance_url(url), autocommit=True, connect_timeout=5) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [name]
        ).fetchone()
    return int(row[0]) if row else 0


def _server_env(database_url: str, secret_key: str) -> dict[str, str]:
    return web.server_env(
        database_url,
        secret_key,
        ONCOBOARD_STATE_DIR=str(STATE_DIR),
        MEDIA_ROOT=str(STATE_DIR / "media"),
        WEB_CONCURRENCY=str(WORKERS),
        GUNICORN_MAX_REQUESTS="0",  # recycling would hide growth per worker
    )


def _prepare(env: dict[str, str], users: int) -> dict[str, Any]:
    """Migrate and seed; list the case's URLs; sign in one session per simulated user."""
    for key in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "HTTPS", "SECRET_KEY", "DEBUG"):
        os.environ[key] = env[key]
    for key in ("LOG_LEVEL", "ONCOBOARD_STATE_DIR", "MEDIA_ROOT"):
        os.environ[key] = env[key]
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connections
    from django.urls import reverse

    from inference.slides.viewer import open_deepzoom
    from oncology_ui.casepage import composition as sections
    from oncology_ui.imaging import selectors as imaging
    from oncology_ui.imaging.models import ImagingSeries
    from oncology_ui.pathology import services as pathology
    from oncology_ui.pathology.models import Slide
    from oncology_ui.patients.models import Case

    call_command("migrate", interactive=False, verbosity=0)
    call_command("seed_demo", stdout=io.StringIO())  # it prints passwords: not for a log
    user = User.objects.get(username=USERNAME)
    case = Case.objects.visible_to(user).filter(patient__mrn=IMAGES_MRN).first()
    if case is None:
        raise SystemExit("seed_demo left no imaging demo case visible to the demo oncologist")
    slide = Slide.objects.filter(case=case).order_by("pk").first()
    series = (
        ImagingSeries.objects.filter(study__case=case, has_volume=True, modality="CT")
        .order_by("pk")
        .first()
    )
    if slide is None or not slide.is_ready or series is None:
        raise SystemExit("the imaging demo case has no ready slide or CT volume")

    # Sections the page leaves for the browser to fetch (none before they were deferred).
    eager = getattr(sections, "EAGER_SECTIONS", sections.CASE_SECTIONS)
    deferred = [name for name in sections.CASE_SECTIONS if name not in eager]
    section_paths = [
        (name, reverse("patients-case-section", args=[case.pk, name])) for name in deferred
    ]
    tile_paths: list[str] = []
    with open_deepzoom(pathology.media_path(slide.derivative_path)) as dz:
        for level in range(max(0, dz.level_count - 3), dz.level_count):
            cols, rows = dz.tile_count(level)
            tile_paths += [
                reverse("pathology-tile", args=[slide.pk, level, col, row])
                for col in range(cols)
                for row in range(rows)
            ]
    length = imaging.axis_length(series, "axial")
    step = max(1, length // 40)
    slice_url = reverse("imaging-slice", args=[series.pk])
    slice_paths = [f"{slice_url}?axis=axial&index={i}" for i in range(0, length, step)]
    others = [
        reverse("patients-case", args=[pk])
        for pk in Case.objects.visible_to(user)
        .exclude(pk=case.pk)
        .values_list("pk", flat=True)[:20]
    ]

    cookies = [web.signed_in_cookie(user) for _ in range(users)]
    connections.close_all()  # the load must not share this process's connections
    return {
        "cookies": cookies,
        "case": f"{case.pk}: {case}",
        "case_path": reverse("patients-case", args=[case.pk]),
        "sections": section_paths,
        "tiles": tile_paths,
        "slices": slice_paths,
        "hello_path": HELLO_PATH,
        "list_path": reverse("patients-list"),
        "other_cases": others,
        "board_users": BOARD_USERS,
        "background_users": BACKGROUND_USERS,
    }


def _gunicorn_options() -> list[str]:
    options = []
    config = web.REPO_ROOT / "gunicorn.conf.py"
    if config.exists():
        options += ["--config", str(config)]
    worker_class = os.environ.get("P10_WORKER_CLASS")
    if worker_class:
        options += ["--worker-class", worker_class]
        if worker_class == "sync":  # gunicorn turns sync with threads > 1 into gthread
            options += ["--threads", "1"]
    return [*options, "--workers", str(WORKERS), "--max-requests", "0"]


def _workers(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children")
    try:
        return sorted(int(pid) for pid in children.read_text().split())
    except OSError:
        return []


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _locust(
    port: int, config: dict[str, Any], seconds: float, cores: set[int], log: Path
) -> dict[str, Any]:
    """Run the Locust users headless for ``seconds``; return their latencies and errors."""
    users = int(config["board_users"]) + int(config["background_users"])
    with tempfile.TemporaryDirectory(prefix="p10-") as tmp:
        out = Path(tmp) / "latencies.json"
        env = {**os.environ, "P10_CONFIG": json.dumps(config), "P10_OUT": str(out)}
        env.pop("DJANGO_SETTINGS_MODULE", None)
        command = [
            sys.executable, "-m", "locust",
            "-f", str(LOCUSTFILE),
            "--headless",
            "--users", str(users),
            "--spawn-rate", f"{users / SPAWN_SECONDS:.2f}",
            "--run-time", f"{max(1, round(seconds))}s",
            "--stop-timeout", "10",
            "--host", f"http://127.0.0.1:{port}",
            "--only-summary",
            "--loglevel", "WARNING",
        ]  # fmt: skip
        with log.open("ab") as log_file:
            subprocess.run(  # noqa: S603 - fixed argument list
                command,
                cwd=web.REPO_ROOT,
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                timeout=seconds + 120,  # bounded even if Locust hangs
                check=False,  # Locust exits 1 when any request failed; the counts say so
                preexec_fn=lambda: os.sched_setaffinity(0, cores),  # noqa: PLW1509
            )
        if not out.exists():
            raise SystemExit(f"Locust wrote no results; see {log}")
        return dict(json.loads(out.read_text(encoding="utf-8")))


def _summary(raw: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Requests, p50, p95 and errors per class; percentiles are None for a class never reached."""
    table: dict[str, dict[str, Any]] = {}
    for kind in CLASSES:
        values = [float(v) for v in raw["latencies_ms"].get(kind, [])]
        table[kind] = {
            "requests": len(values),
            "p50_ms": round(web.percentile(values, 50), 1) if values else None,
            "p95_ms": round(web.percentile(values, 95), 1) if values else None,
            "errors": int(raw["errors"].get(kind, 0)),
        }
    return table


def _met(table: dict[str, dict[str, Any]], *, partials: bool) -> bool:
    """Every goal within bounds and no errors. A class the users never reached in the time (the
    server too slow to get there) is not met; partials count only where the page defers any."""
    within = all(
        table[kind]["p95_ms"] is not None and table[kind]["p95_ms"] < goal
        for kind, goal in GOALS_MS.items()
        if kind != "partial" or partials
    )
    return (
        within and table["page"]["requests"] > 0 and sum(r["errors"] for r in table.values()) == 0
    )


def run(args: argparse.Namespace) -> BenchmarkResult:
    quick = bool(getattr(args, "quick", False))
    burst_seconds = 25.0 if quick else 60.0
    soak_arg = getattr(args, "soak_seconds", None)
    soak_seconds = 0.0 if quick else float(600 if soak_arg is None else soak_arg)
    database_url, database = _bench_database_url(
        os.environ.get("DATABASE_URL", web.DEFAULT_DATABASE_URL)
    )
    web.create_database(database_url, database)
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    env = _server_env(database_url, secrets.token_urlsafe(64))
    config = _prepare(env, BOARD_USERS + BACKGROUND_USERS)
    server_cores, client_cores, pinned = web.cores()
    port = web.free_port()
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    log = RESULTS_DIR / "p10-locust.log"
    log.write_bytes(b"")
    memory: dict[str, dict[str, float]] = {}
    soak: dict[str, dict[str, Any]] | None = None
    with web.gunicorn(env, port, server_cores, _gunicorn_options(), stop_s=20) as server:
        burst = _summary(_locust(port, config, burst_seconds, client_cores, log))
        connections_after_burst = _connections(database_url, database)
        if soak_seconds > 0:
            workers = _workers(server.pid)
            start = {pid: _rss_mb(pid) for pid in workers}
            soak = _summary(_locust(port, config, soak_seconds, client_cores, log))
            end = {pid: _rss_mb(pid) for pid in _workers(server.pid)}
            for pid, before in start.items():
                after = end.get(pid, float("nan"))  # a worker that died shows as nan
                memory[str(pid)] = {
                    "rss_start_mb": round(before, 1),
                    "rss_end_mb": round(after, 1),
                    "growth_pct": round(100 * (after - before) / before, 1),
                }
        connections_at_end = _connections(database_url, database)

    partials = bool(config["sections"])
    met = _met(burst, partials=partials) and (soak is None or _met(soak, partials=partials))
    hello = burst["hello"]["p95_ms"]
    page = burst["page"]["p95_ms"]
    _table("burst", burst)
    if soak is not None:
        _table(f"soak {soak_seconds:.0f} s", soak)
        for worker, row in memory.items():
            sys.stdout.write(
                f"worker {worker}: RSS {row['rss_start_mb']:.1f} -> {row['rss_end_mb']:.1f} MB "
                f"({row['growth_pct']:+.1f} %)\n"
            )
    result = result_line(
        id=ID,
        metric="page_p95_ms",
        ours=page,
        baseline=hello,
        ratio=round(page / hello, 2) if page is not None and hello else None,
        goal="p95 pages < 1000 ms, partials < 300 ms, tiles and slices < 300 ms, 0 errors",
        met=met,
        burst=burst,
        soak=soak,
        memory_per_worker=memory,
        db_connections={"after_burst": connections_after_burst, "at_end": connections_at_end},
        users={"board": BOARD_USERS, "background": BACKGROUND_USERS},
        burst_seconds=burst_seconds,
        soak_seconds=soak_seconds,
        case=config["case"],
        requests_per_review={
            "partials": len(config["sections"]),
            "tiles": min(20, len(config["tiles"])),
            "slices": min(5, len(config["slices"])),
        },
        server=f"gunicorn {WORKERS} workers "
        f"{os.environ.get('P10_WORKER_CLASS') or 'gunicorn.conf.py'}, cores {sorted(server_cores)}",
        client=f"Locust, cores {sorted(client_cores)}",
        pinned=pinned,
        database=f"PostgreSQL {database}",
        quick=quick,
    )
    (RESULTS_DIR / "p10.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return result


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _table(title: str, table: dict[str, dict[str, Any]]) -> None:
    lines = [f"{title}: {'class':8} {'requests':>9} {'p50 ms':>8} {'p95 ms':>8} {'errors':>7}"]
    for kind, row in table.items():
        lines.append(
            f"{'':{len(title) + 2}}{kind:8} {int(row['requests']):9d} {_ms(row['p50_ms']):>8} "
            f"{_ms(row['p95_ms']):>8} {int(row['errors']):7d}"
        )
    sys.stdout.write("\n".join(lines) + "\n")
