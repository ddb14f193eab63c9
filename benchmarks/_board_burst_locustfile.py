"""Benchmark P10's Locust users: a tumor board opening one case, and colleagues browsing beside it.

Run by ``benchmarks/p10_board_burst.py`` in its own process (Locust patches the standard library
with gevent, which the benchmark's own process must not be). Everything comes from the environment
that ``p10_board_burst.py`` sets: the signed-in session cookies, the case, its deferred sections,
the slide tiles and the imaging slices to ask for, and the file the latencies are written to when
Locust stops.

Each request is named ``<class>:<what>``; the class (``page``, ``partial``, ``tile``, ``slice``,
``hello``) is what the goals are about.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import threading
from collections import defaultdict
from pathlib import Path
from typing import Any

from locust import between, events, task
from locust.contrib.fasthttp import FastHttpUser

CONFIG: dict[str, Any] = json.loads(os.environ.get("P10_CONFIG", "{}"))
OUT = Path(os.environ.get("P10_OUT", "p10-latencies.json"))
_cookies = itertools.cycle(CONFIG.get("cookies", [""]))
_cookie_lock = threading.Lock()

latencies: dict[str, list[float]] = defaultdict(list)
errors: dict[str, int] = defaultdict(int)
error_samples: list[str] = []


@events.request.add_listener
def _record(
    request_type: str, name: str, response_time: float, exception: BaseException | None, **_: Any
) -> None:
    kind = name.split(":", 1)[0]
    latencies[kind].append(response_time)
    if exception is not None:
        errors[kind] += 1
        if len(error_samples) < 20:
            error_samples.append(f"{name}: {exception}")


@events.quitting.add_listener
def _write(**_: Any) -> None:
    OUT.write_text(
        json.dumps({"latencies_ms": latencies, "errors": errors, "error_samples": error_samples}),
        encoding="utf-8",
    )


class _SignedIn(FastHttpUser):
    abstract = True

    def on_start(self) -> None:
        with _cookie_lock:
            self.cookie = next(_cookies)

    def _get(self, kind: str, what: str, path: str, expect: bytes, **headers: str) -> None:
        with self.client.get(
            path,
            name=f"{kind}:{what}",
            headers={"Cookie": self.cookie, **headers},
            allow_redirects=False,
            catch_response=True,
        ) as response:
            body = response.content or b""
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")
            elif expect not in body[:4096] and expect not in body:
                response.failure("unexpected body (signed out?)")


class BoardMember(_SignedIn):
    """Opens the case under discussion as the browser does, pans the slide, scrolls the CT."""

    fixed_count = int(CONFIG.get("board_users", 30))
    wait_time = between(1.0, 3.0)

    @task
    def review_the_case(self) -> None:
        case = CONFIG["case_path"]
        self._get("page", "case", case, b'id="section-summary"')
        for name, path in CONFIG["sections"]:
            self._get(
                "partial", name, path, f'id="section-{name}"'.encode(), **{"HX-Request": "true"}
            )
        for path in random.sample(CONFIG["tiles"], min(20, len(CONFIG["tiles"]))):
            self._get("tile", "slide", path, b"\xff\xd8")  # JPEG start of image
        for path in random.sample(CONFIG["slices"], min(5, len(CONFIG["slices"]))):
            self._get("slice", "ct", path, b"\x89PNG")
        self._get("hello", "hello", CONFIG["hello_path"], b"Hello, world")


class Colleague(_SignedIn):
    """Browses the work list and other cases while the board meets."""

    fixed_count = int(CONFIG.get("background_users", 20))
    wait_time = between(2.0, 6.0)

    @task
    def browse(self) -> None:
        self._get("page", "patients", CONFIG["list_path"], b"<html")
        if CONFIG.get("other_cases"):
            self._get("page", "other-case", random.choice(CONFIG["other_cases"]), b"<html")
