"""P6: the case page and an htmx partial on PostgreSQL under load, against Django's hello world.

One run serves both from the same gunicorn process (1 worker, gthread, pinned to one core) with
the app's settings, and drives them from a keep-alive HTTP client pinned to the other core.
Endpoints are measured in interleaved rounds so noise from the shared machine hits all of them;
the ratio uses the median round.

Steps:

1. Create the database ``oncoboard_bench`` next to ``DATABASE_URL``'s (the test database is left
   alone), migrate it and run ``seed_demo`` (idempotent).
2. Create a signed-in session for the demo oncologist directly in the session store (no login
   form, no password).
3. Start gunicorn with ``benchmarks._hello_world_settings`` (the app's settings plus a
   hello-world route).
4. For each round, load each endpoint for a fixed time with N keep-alive connections; record
   requests/s and every latency. Then stop the server.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import secrets
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field

from benchmarks import _web_server as web
from benchmarks.common import BenchmarkResult, result_line

ID = "P6"
TITLE = "web: case page + htmx partial on PostgreSQL under load vs Django hello world"

RESULTS_DIR = web.REPO_ROOT / "benchmarks" / "results"
BENCH_DATABASE = "oncoboard_bench"
USERNAME = "demo.oncologist"
CONNECTIONS = 4  # client keep-alive connections = gunicorn threads
GUNICORN_OPTIONS = [
    "--workers", "1",
    "--worker-class", "gthread",
    "--threads", str(CONNECTIONS),
    "--keep-alive", "30",
]  # fmt: skip
GOAL_RATIO = 0.4
GOAL_PAGE_P95_MS = 300.0
GOAL_PARTIAL_P95_MS = 100.0


@dataclass(frozen=True)
class Endpoint:
    name: str
    path: str
    headers: dict[str, str]
    expect: bytes  # a fragment every good response contains (catches login redirects)


@dataclass
class Sample:
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def _prepare(env: dict[str, str]) -> tuple[str, int, str]:
    """Migrate and seed the benchmark database; sign the demo oncologist in.

    Runs in this process (one Django start-up instead of one per command) with the server's
    environment. Returns the session cookie, the id of the case with most events, and its label.
    """
    os.environ.update({k: env[k] for k in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "HTTPS")})
    os.environ.update({"SECRET_KEY": env["SECRET_KEY"], "DEBUG": "false", "LOG_LEVEL": "WARNING"})
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    # seed_demo prints the demo passwords; a benchmark log is no place for them.
    call_command("seed_demo", stdout=io.StringIO())
    from django.contrib.auth.models import User
    from django.db import connections
    from django.db.models import Count

    from oncology_ui.patients.models import Case

    user = User.objects.get(username=USERNAME)
    case = (
        Case.objects.visible_to(user)
        .annotate(n_events=Count("events"))
        .order_by("-n_events", "pk")
        .first()
    )
    if case is None:
        raise SystemExit("seed_demo left no case visible to the demo oncologist")
    cookie = web.signed_in_cookie(user)
    connections.close_all()  # the load must not share this process's connections
    return cookie, case.pk, str(case)


def _load(port: int, endpoint: Endpoint, seconds: float, connections: int) -> Sample:
    """Keep ``connections`` keep-alive clients busy on one endpoint for ``seconds``."""
    sample = Sample()
    lock = threading.Lock()
    start = time.perf_counter()
    deadline = start + seconds

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        latencies: list[float] = []
        errors = 0
        try:
            while True:
                began = time.perf_counter()
                if began >= deadline:
                    break
                conn.request("GET", endpoint.path, headers=endpoint.headers)
                response = conn.getresponse()
                body = response.read()
                latencies.append((time.perf_counter() - began) * 1000)
                if response.status != 200 or endpoint.expect not in body:
                    errors += 1
                if response.will_close:
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        finally:
            conn.close()
            with lock:
                sample.latencies_ms.extend(latencies)
                sample.requests += len(latencies)
                sample.errors += errors

    threads = [threading.Thread(target=client) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sample.seconds = time.perf_counter() - start
    return sample


def run(args: argparse.Namespace) -> BenchmarkResult:
    quick = bool(getattr(args, "quick", False))
    rounds, seconds, warmup = (2, 1.5, 0.3) if quick else (3, 8.0, 2.0)
    base_url = os.environ.get("DATABASE_URL", web.DEFAULT_DATABASE_URL)
    database_url = web.bench_database_url(base_url, database=BENCH_DATABASE, bench_id=ID)
    web.create_database(database_url, BENCH_DATABASE)
    env = web.server_env(database_url, secrets.token_urlsafe(64))
    cookie, case_id, case_label = _prepare(env)
    auth = {"Cookie": cookie}
    endpoints = [
        Endpoint("hello", "/bench-hello/", {}, b"Hello, world"),
        Endpoint("hello_signed_in", "/bench-hello/", auth, b"Hello, world"),
        Endpoint("case_page", f"/patients/cases/{case_id}/", auth, b'id="section-board"'),
        Endpoint(
            "timeline_partial",
            f"/patients/cases/{case_id}/section/timeline/",
            {**auth, "HX-Request": "true"},
            b'id="section-timeline"',
        ),
    ]
    server_cores, client_cores, pinned = web.cores()
    own_affinity = os.sched_getaffinity(0)
    port = web.free_port()
    samples: dict[str, list[Sample]] = {e.name: [] for e in endpoints}
    try:
        os.sched_setaffinity(0, client_cores)
        with web.gunicorn(env, port, server_cores, GUNICORN_OPTIONS, stop_s=15):
            for endpoint in endpoints:
                _load(port, endpoint, warmup, CONNECTIONS)
            for _ in range(rounds):
                for endpoint in endpoints:
                    samples[endpoint.name].append(_load(port, endpoint, seconds, CONNECTIONS))
            # Unloaded latency: one client, one request at a time.
            single = {e.name: _load(port, e, seconds / 2, 1) for e in endpoints[2:]}
    finally:
        os.sched_setaffinity(0, own_affinity)

    summary: dict[str, dict[str, float]] = {}
    for name, runs in samples.items():
        latencies = [ms for sample in runs for ms in sample.latencies_ms]
        summary[name] = {
            "rps_median": round(statistics.median(s.rps for s in runs), 1),
            "p50_ms": round(web.percentile(latencies, 50), 1),
            "p95_ms": round(web.percentile(latencies, 95), 1),
            "requests": sum(s.requests for s in runs),
            "errors": sum(s.errors for s in runs),
        }
    for name, sample in single.items():
        summary[name]["p95_ms_one_client"] = round(web.percentile(sample.latencies_ms, 95), 1)
    hello = summary["hello"]["rps_median"]
    page = summary["case_page"]
    partial = summary["timeline_partial"]
    ratio = page["rps_median"] / hello if hello else 0.0
    errors = sum(int(s["errors"]) for s in summary.values())
    met = (
        ratio >= GOAL_RATIO
        and page["p95_ms"] <= GOAL_PAGE_P95_MS
        and partial["p95_ms"] <= GOAL_PARTIAL_P95_MS
        and errors == 0
    )
    _table(summary)
    result = result_line(
        id=ID,
        metric="requests_per_s",
        ours=page["rps_median"],
        baseline=hello,
        ratio=round(ratio, 3),
        goal=f">= {GOAL_RATIO} x hello world; p95 page <= {GOAL_PAGE_P95_MS:.0f} ms, "
        f"partial <= {GOAL_PARTIAL_P95_MS:.0f} ms (under load, {CONNECTIONS} connections)",
        met=met,
        page_p95_ms=page["p95_ms"],
        partial_p95_ms=partial["p95_ms"],
        ratio_vs_signed_in_hello=round(
            page["rps_median"] / summary["hello_signed_in"]["rps_median"], 3
        )
        if summary["hello_signed_in"]["rps_median"]
        else 0.0,
        endpoints=summary,
        case=f"{case_id}: {case_label}",
        server=f"gunicorn 1 worker gthread x{CONNECTIONS}, cores {sorted(server_cores)}",
        client=f"{CONNECTIONS} keep-alive connections, cores {sorted(client_cores)}",
        pinned=pinned,
        rounds=rounds,
        seconds_per_round=seconds,
        database=f"PostgreSQL {BENCH_DATABASE}",
        quick=quick,
    )
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "p6.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return result


def _table(summary: dict[str, dict[str, float]]) -> None:
    lines = [
        f"{'endpoint':18} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'p95 1 client':>13} {'errors':>7}"
    ]
    for name, row in summary.items():
        one = row.get("p95_ms_one_client")
        lines.append(
            f"{name:18} {row['rps_median']:8.1f} {row['p50_ms']:8.1f} {row['p95_ms']:8.1f} "
            f"{'' if one is None else f'{one:.1f}':>13} {int(row['errors']):7d}"
        )
    sys.stdout.write("\n".join(lines) + "\n")
