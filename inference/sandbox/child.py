"""The sandboxed child: ``python -m inference.sandbox.child MEMORY_BYTES CPU_SECONDS``.

It sets its own resource limits first, before it reads its request or imports a parser, then
reads ``{target, allowed, args, kwargs, codec, progress}`` pickled on stdin (from the parent, which
is trusted), calls the target and writes the answer on stdout: ``{"progress": [done, total]}``
lines while the target reports progress, then ``ANSWER <n>`` and ``n`` bytes of
``("ok", result)`` or ``("error", {kind, message, exception, detail})`` in the requested codec.
Anything the target itself prints goes to stderr, so it cannot corrupt the answer.
"""

from __future__ import annotations

import errno
import importlib
import json
import os
import pickle
import resource
import sys
from typing import IO, Any


def _limit(which: int, soft: int, hard: int | None = None) -> None:
    _, current_hard = resource.getrlimit(which)
    hard = soft if hard is None else hard
    if current_hard != resource.RLIM_INFINITY:
        soft, hard = min(soft, current_hard), min(hard, current_hard)
    resource.setrlimit(which, (soft, hard))


def _near_memory_limit(share: float = 0.8) -> bool:
    """Whether this process's address space is within ``share`` of its RLIMIT_AS."""
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return False
    try:
        with open("/proc/self/statm") as handle:
            pages = int(handle.read().split()[0])
    except (OSError, ValueError, IndexError):
        return False
    return pages * os.sysconf("SC_PAGE_SIZE") >= share * soft


def _out_of_memory(exc: BaseException) -> bool:
    """Whether a failure is the address-space limit, whatever form it took on the way up.

    Allocation failures do not always arrive as MemoryError: the kernel's ENOMEM surfaces as an
    OSError (an import that cannot map its files), and an extension that fails to allocate can
    raise "error return without exception set" (SystemError) or break an import.
    """
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, MemoryError):
            return True
        if isinstance(seen, OSError) and seen.errno == errno.ENOMEM:
            return True
        seen = seen.__cause__ or seen.__context__
    return isinstance(exc, SystemError | ImportError) and _near_memory_limit()


def _error(kind: str, message: str, exception: str = "", detail: str = "") -> tuple[str, Any]:
    return "error", {"kind": kind, "message": message, "exception": exception, "detail": detail}


def _call(request: dict[str, Any], out: IO[bytes]) -> tuple[str, Any]:
    target: str = request["target"]
    module_name, _, func_name = target.partition(":")
    if not target.startswith(tuple(request["allowed"])) or not func_name:
        return _error("error", f"sandbox target {target!r} is not allowed")
    kwargs = dict(request["kwargs"])
    if request["progress"]:

        def relay(done: int, total: int) -> None:
            out.write(json.dumps({"progress": [int(done), int(total)]}).encode() + b"\n")
            out.flush()

        kwargs["progress"] = relay
    try:
        func = getattr(importlib.import_module(module_name), func_name)
        return "ok", func(*request["args"], **kwargs)
    except MemoryError:
        return _error("memory", "parser exceeded its memory limit", "MemoryError")
    except Exception as exc:  # noqa: BLE001 - the boundary: any failure becomes a message
        if _out_of_memory(exc):
            return _error("memory", "parser exceeded its memory limit", type(exc).__name__)
        kind = getattr(exc, "kind", None) or getattr(exc, "reason", None) or "error"
        message = str(exc)[:500]
        detail = str(getattr(exc, "detail", message))[:500]
        return _error(str(kind), message, type(exc).__name__, detail)


def main(argv: list[str]) -> int:
    """Run one call; the parent owns the wall clock and interprets the exit status."""
    memory_bytes, cpu_seconds = int(argv[1]), int(argv[2])
    _limit(resource.RLIMIT_AS, memory_bytes)
    # SIGXCPU at the soft limit tells "too slow" apart from SIGKILL at the hard one.
    _limit(resource.RLIMIT_CPU, cpu_seconds, cpu_seconds + 2)
    # No core files full of patient data.
    _limit(resource.RLIMIT_CORE, 0)
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    request = pickle.loads(sys.stdin.buffer.read())
    answer = _call(request, out)
    if request["codec"] == "json":
        payload = json.dumps(answer).encode()
    else:
        payload = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(b"ANSWER %d\n" % len(payload))
    out.write(payload)
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
