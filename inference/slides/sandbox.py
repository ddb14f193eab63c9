"""Run a file-parsing function in a resource-limited child process.

Parsers of slide files are C code (libtiff, OpenJPEG, libjpeg) that a hostile file can crash or
make allocate without bound. The child process gets an address-space limit (``RLIMIT_AS``), a CPU
limit (``RLIMIT_CPU``) and a wall-clock timeout, runs in its own session so the whole process group
can be killed, and answers with one JSON line. Whatever happens to it, the caller gets either the
answer or :class:`~inference.slides.errors.SlideUnreadable` with a message a person understands.

The child runs ``python -m inference.slides._child``; the target is a ``"module:function"`` name
from an allowlist of module prefixes (the slide package and its tests' hooks), never user input.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from inference.slides.errors import SlideUnreadable
from inference.slides.schema import SlideLimits

logger = logging.getLogger(__name__)

ALLOWED_TARGET_PREFIXES = ("inference.slides.", "tests.inference.slides.")
_PROJECT_ROOT = Path(__file__).resolve().parents[2]
_MAX_ANSWER_BYTES = 1024 * 1024


def run_sandboxed(
    target: str,
    args: dict[str, Any],
    limits: SlideLimits,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Call ``target(**args)`` in a limited child process and return its JSON answer.

    Args:
        target: ``"package.module:function"`` whose module starts with an allowed prefix; the
            function returns a JSON-serialisable dict.
        args: keyword arguments (JSON-serialisable).
        limits: memory, CPU and wall-clock limits.
        progress: if given, the target also receives a ``progress(done, total)`` callback whose
            calls are relayed here from the child.

    Returns:
        The function's dict.

    Raises:
        SlideUnreadable: the child reported an unreadable file, crashed, ran out of memory or
            time, or answered nonsense.
        ValueError: the target is not allowed.
    """
    if not target.startswith(ALLOWED_TARGET_PREFIXES) or ":" not in target:
        raise ValueError(f"sandbox target {target!r} is not allowed")
    request = json.dumps(
        {"target": target, "args": args, "limits": asdict(limits), "progress": bool(progress)}
    )
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(_PROJECT_ROOT),
        "PYTHONDONTWRITEBYTECODE": "1",
        # One thread each: the limits are per process and glibc arenas per thread eat RLIMIT_AS.
        "OMP_NUM_THREADS": "1",
        "MALLOC_ARENA_MAX": "2",
    }
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            [sys.executable, "-s", "-m", "inference.slides._child", request],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=err,
            cwd=str(_PROJECT_ROOT),
            env=env,
            start_new_session=True,
            close_fds=True,
        )
        try:
            out = _read_answer(proc, time.monotonic() + limits.wall_seconds, progress)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            raise SlideUnreadable(
                "timeout", f"reading it took longer than {limits.wall_seconds:g} seconds"
            ) from None
        finally:
            _kill_group(proc)
        err.seek(0)
        stderr_tail = err.read()[-2000:].decode("utf-8", "replace")
    rc = proc.returncode
    if rc < 0:
        sig = -rc
        logger.warning("slide sandbox child died with signal %d: %s", sig, stderr_tail[-500:])
        if sig == signal.SIGXCPU:
            raise SlideUnreadable("timeout", "reading it used more processor time than allowed")
        if sig == signal.SIGKILL:
            raise SlideUnreadable("out-of-memory", "reading it was stopped by the system")
        raise SlideUnreadable(
            "crashed", f"the image decoder crashed on it ({signal.Signals(sig).name})"
        )
    answer = _parse_answer(out)
    if answer is None:
        logger.warning("slide sandbox child rc=%d without answer: %s", rc, stderr_tail[-500:])
        if "MemoryError" in stderr_tail or "bad_alloc" in stderr_tail:
            raise SlideUnreadable("out-of-memory", "reading it needed more memory than allowed")
        raise SlideUnreadable("crashed", f"the reader stopped unexpectedly (exit status {rc})")
    if "error" in answer:
        error = answer["error"]
        raise SlideUnreadable(error.get("reason", "malformed"), str(error.get("detail", ""))[:500])
    result = answer.get("result")
    if not isinstance(result, dict):
        raise SlideUnreadable("crashed", "the reader gave no result")
    return result


def _read_answer(
    proc: subprocess.Popen[bytes],
    deadline: float,
    progress: Callable[[int, int], None] | None,
) -> bytes:
    """Read the child's stdout until it closes, relaying progress lines; returns the last line.

    Raises:
        subprocess.TimeoutExpired: the deadline passed first.
    """
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    pending = b""
    last = b""
    total = 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise subprocess.TimeoutExpired(proc.args, 0)
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        total += len(chunk)
        if total > 16 * _MAX_ANSWER_BYTES:
            return b""  # a child that floods its output is not answering
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            if not _relay_progress(line, progress) and line.strip():
                last = line
    if pending.strip():
        last = pending
    proc.wait(timeout=max(0.1, deadline - time.monotonic()))
    return last


def _relay_progress(line: bytes, progress: Callable[[int, int], None] | None) -> bool:
    """Pass a ``{"progress": [done, total]}`` line on; True if the line was one."""
    if not line.startswith(b'{"progress"'):
        return False
    try:
        done, total = json.loads(line)["progress"]
    except (ValueError, KeyError, TypeError):
        return False
    if progress is not None:
        progress(int(done), int(total))
    return True


def _parse_answer(out: bytes) -> dict[str, Any] | None:
    if not out or len(out) > _MAX_ANSWER_BYTES:
        return None
    lines = out.strip().splitlines()
    if not lines:
        return None
    try:
        answer = json.loads(lines[-1])
    except json.JSONDecodeError:
        return None
    return answer if isinstance(answer, dict) else None


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill the child's whole process group (it is its own session leader) and reap it."""
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    else:
        # The child exited; anything it left behind in its group goes too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
