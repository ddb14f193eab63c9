"""Entry point of the sandbox child process (see :mod:`inference.slides.sandbox`).

Sets its own resource limits first, before it imports a decoder or opens the file, then calls the
target and prints one JSON line: ``{"result": {...}}`` or ``{"error": {"reason", "detail"}}``.
"""

from __future__ import annotations

import importlib
import json
import resource
import sys
from typing import Any


def _limit(which: int, soft: int, hard: int | None = None) -> None:
    _, current_hard = resource.getrlimit(which)
    hard = soft if hard is None else hard
    if current_hard != resource.RLIM_INFINITY:
        soft, hard = min(soft, current_hard), min(hard, current_hard)
    resource.setrlimit(which, (soft, hard))


def main(argv: list[str]) -> int:
    request: dict[str, Any] = json.loads(argv[1])
    limits = request["limits"]
    _limit(resource.RLIMIT_AS, int(limits["memory_bytes"]))
    # SIGXCPU at the soft limit tells "too slow" apart from SIGKILL at the hard one.
    _limit(resource.RLIMIT_CPU, int(limits["cpu_seconds"]), int(limits["cpu_seconds"]) + 2)
    _limit(resource.RLIMIT_CORE, 0)

    from inference.slides.errors import SlideUnreadable
    from inference.slides.sandbox import ALLOWED_TARGET_PREFIXES

    target: str = request["target"]
    if not target.startswith(ALLOWED_TARGET_PREFIXES):
        print(json.dumps({"error": {"reason": "crashed", "detail": "target not allowed"}}))
        return 2
    module_name, func_name = target.split(":", 1)
    func = getattr(importlib.import_module(module_name), func_name)
    kwargs = dict(request["args"])
    if request.get("progress"):

        def relay(done: int, total: int) -> None:
            sys.stdout.write(json.dumps({"progress": [int(done), int(total)]}) + "\n")
            sys.stdout.flush()

        kwargs["progress"] = relay
    try:
        result = func(**kwargs)
    except SlideUnreadable as exc:
        answer: dict[str, Any] = {"error": {"reason": exc.reason, "detail": exc.detail}}
    except MemoryError:
        answer = {
            "error": {
                "reason": "out-of-memory",
                "detail": "reading it needed more memory than allowed",
            }
        }
    except RecursionError:
        answer = {"error": {"reason": "malformed", "detail": "its structure is nested too deeply"}}
    except Exception as exc:  # noqa: BLE001 - any parser failure means "malformed file"
        text = f"{type(exc).__name__}: {exc}"[:300]
        answer = {"error": {"reason": "malformed", "detail": f"its structure is invalid ({text})"}}
    else:
        answer = {"result": result}
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
