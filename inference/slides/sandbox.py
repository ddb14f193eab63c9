"""Slides' use of the parser sandbox (:mod:`inference.sandbox`).

Parsers of slide files are C code (libtiff, OpenJPEG, libjpeg) that a hostile file can crash or
make allocate without bound. The child process gets an address-space limit (``RLIMIT_AS``), a CPU
limit (``RLIMIT_CPU``) and a wall-clock timeout, runs in its own session so the whole process group
can be killed, and answers in JSON. Whatever happens to it, the caller gets either the answer or
:class:`~inference.slides.errors.SlideUnreadable` with a message a person understands.

The target is a ``"module:function"`` name from an allowlist of module prefixes (the slide package
and its tests' hooks), never user input.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import Any, cast

from inference.sandbox import SandboxError, TargetNotAllowed, run_in_child
from inference.slides.errors import SlideUnreadable, UnreadableReason
from inference.slides.schema import SlideLimits

ALLOWED_TARGET_PREFIXES = ("inference.slides.", "tests.inference.slides.")
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
    try:
        result = run_in_child(
            target,
            limits,
            allowed=ALLOWED_TARGET_PREFIXES,
            kwargs=args,
            codec="json",
            max_answer_bytes=_MAX_ANSWER_BYTES,
            progress=progress,
        )
    except TargetNotAllowed:
        raise
    except SandboxError as exc:
        raise _unreadable(exc, limits) from None
    if not isinstance(result, dict):
        raise SlideUnreadable("crashed", "the reader gave no result")
    return result


def _unreadable(exc: SandboxError, limits: SlideLimits) -> SlideUnreadable:
    """The sandbox's failure in the words of a slide upload."""
    if exc.exception == "SlideUnreadable":
        return SlideUnreadable(cast(UnreadableReason, exc.kind), exc.detail[:500])
    if exc.exception == "MemoryError" or (exc.kind == "memory" and not exc.exception):
        return SlideUnreadable("out-of-memory", "reading it needed more memory than allowed")
    if exc.exception == "RecursionError":
        return SlideUnreadable("malformed", "its structure is nested too deeply")
    if exc.exception:
        text = f"{exc.exception}: {exc}"[:300]
        return SlideUnreadable("malformed", f"its structure is invalid ({text})")
    if exc.kind == "timeout":
        return SlideUnreadable(
            "timeout", f"reading it took longer than {limits.wall_seconds:g} seconds"
        )
    if exc.signal == signal.SIGXCPU:
        return SlideUnreadable("timeout", "reading it used more processor time than allowed")
    if exc.signal == signal.SIGKILL:
        return SlideUnreadable("out-of-memory", "reading it was stopped by the system")
    if exc.signal is not None:
        name = signal.Signals(exc.signal).name
        return SlideUnreadable("crashed", f"the image decoder crashed on it ({name})")
    if exc.status is not None:
        return SlideUnreadable(
            "crashed", f"the reader stopped unexpectedly (exit status {exc.status})"
        )
    return SlideUnreadable("crashed", f"the reader stopped unexpectedly ({exc})")
