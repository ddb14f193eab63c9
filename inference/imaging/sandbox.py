"""Imaging's use of the parser sandbox (:mod:`inference.sandbox`).

Targets live in :mod:`inference.imaging`; their results come back pickled and may hold only the
dataclasses of :mod:`inference.imaging.schema`, numpy arrays and builtins.
"""

from __future__ import annotations

from typing import Any

from inference.imaging.schema import SandboxLimits
from inference.sandbox import run_in_child

ALLOWED_TARGET_PREFIXES = ("inference.imaging.",)
RESULT_CLASSES_FROM = ("inference.imaging.schema",)


def run_sandboxed(target: str, args: tuple[Any, ...], limits: SandboxLimits) -> Any:
    """Call ``target(*args)`` in a limited child process and return its result.

    Args:
        target: ``"inference.imaging.module:function"``; it must return schema dataclasses, numpy
            arrays or builtin values.
        args: positional arguments (pickled to the child; keep them small: paths, not data).
        limits: memory, CPU and wall-clock limits.

    Returns:
        The function's return value.

    Raises:
        inference.sandbox.SandboxError: on timeout, memory exhaustion, CPU limit, crash, an
            exception in the child, or a target outside inference.imaging.
    """
    return run_in_child(
        target,
        limits,
        allowed=ALLOWED_TARGET_PREFIXES,
        args=args,
        classes_from=RESULT_CLASSES_FROM,
    )
