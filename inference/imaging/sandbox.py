"""Run a parsing function on untrusted files in a resource-limited child process.

The child is a fresh interpreter (``python -m inference.imaging._sandbox_child``) in its own
process group with RLIMIT_AS and RLIMIT_CPU set before it runs anything; the parent enforces a
wall-clock timeout and kills the whole group. A crash (segfault in a C decoder), an out-of-memory
or a hang becomes a :class:`SandboxError` in the parent, never a dead worker.

The result comes back pickled. Rlimits contain resource exhaustion and crashes, not code execution
(the child runs as the same user), so the parent still unpickles with an allowlist of classes: only
our schema dataclasses, numpy arrays and builtin containers can be rebuilt.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import pickle
import resource
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from inference.imaging.schema import SandboxLimits

logger = logging.getLogger(__name__)

_ALLOWED_GLOBALS = {
    ("builtins", "tuple"),
    ("builtins", "list"),
    ("builtins", "dict"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("builtins", "str"),
    ("builtins", "bytes"),
    ("builtins", "int"),
    ("builtins", "float"),
    ("builtins", "bool"),
    ("builtins", "complex"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("copyreg", "_reconstructor"),
    ("builtins", "object"),
}
_ALLOWED_MODULE_PREFIX = "inference.imaging.schema"
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


class SandboxError(RuntimeError):
    """The child failed; ``kind`` is one of timeout, memory, cpu, crash, error."""

    def __init__(self, kind: str, message: str) -> None:
        self.kind = kind
        super().__init__(message)


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED_GLOBALS or module == _ALLOWED_MODULE_PREFIX:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"class {module}.{name} is not allowed from the sandbox")


def restricted_loads(data: bytes) -> Any:
    """Unpickle ``data`` allowing only schema dataclasses, numpy arrays and builtins."""
    return _RestrictedUnpickler(io.BytesIO(data)).load()


def _limit_child(limits: SandboxLimits) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
        cpu = max(1, int(limits.cpu_seconds))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        # No core files full of patient data.
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


def run_sandboxed(target: str, args: tuple[Any, ...], limits: SandboxLimits) -> Any:
    """Call ``target(*args)`` in a limited child process and return its result.

    Args:
        target: ``"package.module:function"``; it must return schema dataclasses, numpy arrays or
            builtin values.
        args: positional arguments (pickled to the child; keep them small: paths, not data).
        limits: memory, CPU and wall-clock limits.

    Returns:
        The function's return value.

    Raises:
        SandboxError: on timeout, memory exhaustion, CPU limit, crash or an exception in the child.
    """
    payload = pickle.dumps((target, args), protocol=pickle.HIGHEST_PROTOCOL)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        # The repository root first, so the child imports this same package whatever its cwd.
        "PYTHONPATH": os.pathsep.join([_PACKAGE_ROOT, *(p for p in sys.path if p)]),
        # One thread: BLAS thread pools reserve address space that RLIMIT_AS would count.
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "inference.imaging._sandbox_child"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=_limit_child(limits),
        start_new_session=True,
        env=env,
        close_fds=True,
    )
    try:
        out, err = proc.communicate(payload, timeout=limits.wall_seconds)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise SandboxError("timeout", f"parser exceeded {limits.wall_seconds:g} s") from None
    finally:
        _kill_group(proc)
    return _decode(proc.returncode, out, err)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired, ValueError, OSError):
        proc.communicate(timeout=5)


def _decode(returncode: int | None, out: bytes, err: bytes) -> Any:
    if returncode == 0 and out:
        status, value = restricted_loads(out)
        if status == "ok":
            return value
        kind, message = value
        raise SandboxError(kind, message)
    tail = err.decode("utf-8", "replace")[-300:].strip()
    if returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        raise SandboxError("cpu", "parser exceeded its CPU time limit")
    if returncode is not None and returncode < 0:
        name = signal.Signals(-returncode).name
        raise SandboxError("crash", f"parser crashed ({name})")
    if "MemoryError" in tail:
        raise SandboxError("memory", "parser exceeded its memory limit")
    logger.warning("sandbox child exited %s: %s", returncode, tail)
    raise SandboxError("crash", f"parser exited with status {returncode}")
