"""Run a parsing function on untrusted files in a resource-limited child process.

Every parser of uploaded files (DICOM in :mod:`inference.imaging`, slides in
:mod:`inference.slides`) goes through :func:`run_in_child`. The child is a fresh interpreter
(``python -m inference.sandbox.child``) in its own session; before it reads its request or imports
a parser it sets RLIMIT_AS, RLIMIT_CPU and no core files (:mod:`inference.sandbox.child`). The
parent enforces a wall-clock timeout and kills the whole process group. A crash (segfault in a C
decoder), an out-of-memory, a hang or an exception in the target becomes a :class:`SandboxError`
in the parent, never a dead worker; each caller words it for its own users.

The answer comes back as JSON or pickled. Rlimits contain resource exhaustion and crashes, not code
execution (the child runs as the same user), so a pickled answer is unpickled with an allowlist of
classes: builtin containers, numpy arrays and the caller's own schema module only.

Nothing here imports more than the standard library: the child imports this package too.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import pickle
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

logger = logging.getLogger(__name__)

Codec = Literal["pickle", "json"]
ANSWER_HEADER = b"ANSWER "

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
_PROJECT_ROOT = str(Path(__file__).resolve().parents[2])


class Limits(Protocol):
    """What a child may cost (``SandboxLimits`` of imaging and ``SlideLimits`` of slides)."""

    @property
    def memory_bytes(self) -> int: ...  # RLIMIT_AS of the child (virtual address space)

    @property
    def cpu_seconds(self) -> int: ...  # RLIMIT_CPU of the child

    @property
    def wall_seconds(self) -> float: ...  # wall clock, then the whole process group is killed


class SandboxError(RuntimeError):
    """The child failed.

    Attributes:
        kind: ``timeout`` (wall clock), ``cpu`` (CPU limit, or killed at it), ``memory``, ``crash``
            (a signal or an exit without an answer), or, when the target raised, the exception's
            own ``kind`` (or ``reason``) attribute, else ``error``.
        signal: the signal that ended the child, if one did.
        status: its exit status when it exited without an answer.
        exception: the class name of the exception the target raised ("" when it did not).
        detail: that exception's ``detail`` attribute, else its message.
    """

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        signal: int | None = None,
        status: int | None = None,
        exception: str = "",
        detail: str = "",
    ) -> None:
        self.kind = kind
        self.signal = signal
        self.status = status
        self.exception = exception
        self.detail = detail or message
        super().__init__(message)


class TargetNotAllowed(SandboxError, ValueError):
    """The target's module is outside the caller's allowlist (a programming error, not a file's)."""


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, data: bytes, modules: Sequence[str]) -> None:
        super().__init__(io.BytesIO(data))
        self.modules = tuple(modules)

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED_GLOBALS or module in self.modules:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"class {module}.{name} is not allowed from the sandbox")


def restricted_loads(data: bytes, modules: Sequence[str] = ()) -> Any:
    """Unpickle ``data`` allowing only builtins, numpy arrays and the classes of ``modules``."""
    return _RestrictedUnpickler(data, modules).load()


def run_in_child(
    target: str,
    limits: Limits,
    *,
    allowed: Sequence[str],
    args: Sequence[Any] = (),
    kwargs: Mapping[str, Any] | None = None,
    codec: Codec = "pickle",
    classes_from: Sequence[str] = (),
    max_answer_bytes: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Any:
    """Call ``target(*args, **kwargs)`` in a limited child process and return its result.

    Args:
        target: ``"package.module:function"``; its module must start with one of ``allowed``.
        limits: memory, CPU and wall-clock limits.
        allowed: module prefixes a target may come from (never user input).
        args: positional arguments (pickled to the child; keep them small: paths, not data).
        kwargs: keyword arguments.
        codec: how the result comes back: ``"json"`` (plain containers) or ``"pickle"``.
        classes_from: modules whose classes a pickled result may contain (schema dataclasses).
        max_answer_bytes: a larger answer is refused as a crash; ``None`` for no bound.
        progress: if given, the target also receives a ``progress(done, total)`` callback whose
            calls are relayed here from the child.

    Returns:
        The target's return value.

    Raises:
        TargetNotAllowed: the target is not allowed (a ``SandboxError`` and a ``ValueError``).
        SandboxError: on timeout, memory exhaustion, CPU limit, crash or an exception in the child.
    """
    if not target.startswith(tuple(allowed)) or ":" not in target:
        scope = " / ".join(prefix.rstrip(".") for prefix in allowed)
        raise TargetNotAllowed("error", f"sandbox target {target!r} is outside {scope}")
    request = pickle.dumps(
        {
            "target": target,
            "allowed": tuple(allowed),
            "args": tuple(args),
            "kwargs": dict(kwargs or {}),
            "codec": codec,
            "progress": progress is not None,
        },
        protocol=pickle.HIGHEST_PROTOCOL,
    )
    cpu = max(1, int(limits.cpu_seconds))
    command = [sys.executable, "-s", "-m", "inference.sandbox.child"]
    with tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as stdin:
        stdin.write(request)
        stdin.seek(0)
        proc = subprocess.Popen(
            [*command, str(int(limits.memory_bytes)), str(cpu)],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=err,
            env=_child_env(),
            start_new_session=True,
            close_fds=True,
        )
        try:
            deadline = time.monotonic() + limits.wall_seconds
            payload = _read_answer(proc, deadline, progress, max_answer_bytes)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            raise SandboxError("timeout", f"parser exceeded {limits.wall_seconds:g} s") from None
        finally:
            _kill_group(proc)
        err.seek(0)
        stderr_tail = err.read()[-2000:].decode("utf-8", "replace")
    return _decode(proc.returncode, payload, stderr_tail, codec, classes_from)


def _child_env() -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        # The repository root first, so the child imports this same package whatever its cwd.
        "PYTHONPATH": os.pathsep.join([_PROJECT_ROOT, *(p for p in sys.path if p)]),
        "PYTHONDONTWRITEBYTECODE": "1",
        # One thread each: BLAS pools and glibc arenas per thread reserve address space that
        # RLIMIT_AS counts.
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "MALLOC_ARENA_MAX": "2",
    }


def _read_answer(
    proc: subprocess.Popen[bytes],
    deadline: float,
    progress: Callable[[int, int], None] | None,
    max_answer_bytes: int | None,
) -> bytes | None:
    """Read the child's stdout until it closes, relaying progress lines; returns the answer.

    The child writes ``{"progress": [done, total]}`` lines, then ``ANSWER <n>`` and ``n`` bytes.

    Raises:
        subprocess.TimeoutExpired: the deadline passed first.
        SandboxError: the answer is larger than allowed.
    """
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    pending = bytearray()
    size: int | None = None
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise subprocess.TimeoutExpired(proc.args, 0)
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            continue
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            break
        pending += chunk
        while size is None and b"\n" in pending:
            line, _, rest = bytes(pending).partition(b"\n")
            pending = bytearray(rest)
            if line.startswith(ANSWER_HEADER):
                size = _answer_size(line, max_answer_bytes)
            else:
                _relay_progress(line, progress)
    proc.wait(timeout=max(0.1, deadline - time.monotonic()))
    return bytes(pending) if size is not None and len(pending) == size else None


def _answer_size(line: bytes, max_answer_bytes: int | None) -> int:
    try:
        size = int(line[len(ANSWER_HEADER) :])
    except ValueError:
        raise SandboxError("crash", "parser answered nonsense") from None
    if max_answer_bytes is not None and size > max_answer_bytes:
        raise SandboxError("crash", f"parser answered {size} bytes, more than {max_answer_bytes}")
    return size


def _relay_progress(line: bytes, progress: Callable[[int, int], None] | None) -> None:
    """Pass a ``{"progress": [done, total]}`` line on."""
    try:
        done, total = json.loads(line)["progress"]
    except (ValueError, KeyError, TypeError):
        return
    if progress is not None:
        progress(int(done), int(total))


def _decode(
    returncode: int | None,
    payload: bytes | None,
    stderr_tail: str,
    codec: Codec,
    classes_from: Sequence[str],
) -> Any:
    if returncode == 0 and payload is not None:
        answer = json.loads(payload) if codec == "json" else restricted_loads(payload, classes_from)
        status, value = answer
        if status == "ok":
            return value
        raise SandboxError(
            str(value["kind"]),
            str(value["message"]),
            exception=str(value["exception"]),
            detail=str(value["detail"]),
        )
    if returncode is not None and returncode < 0:
        sig = -returncode
        logger.warning("sandbox child died with signal %d: %s", sig, stderr_tail[-500:])
        if sig in (signal.SIGXCPU, signal.SIGKILL):
            raise SandboxError("cpu", "parser exceeded its CPU time limit", signal=sig)
        name = signal.Signals(sig).name
        raise SandboxError("crash", f"parser crashed ({name})", signal=sig)
    logger.warning("sandbox child exited %s without answer: %s", returncode, stderr_tail[-500:])
    if "MemoryError" in stderr_tail or "bad_alloc" in stderr_tail:
        raise SandboxError("memory", "parser exceeded its memory limit")
    raise SandboxError("crash", f"parser exited with status {returncode}", status=returncode)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill the child's whole process group (it is its own session leader) and reap it."""
    # Even after the child exits, anything it left behind in its group goes too.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    if proc.returncode is None:
        proc.wait()
