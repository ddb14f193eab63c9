"""Entry point of the sandboxed child: read (target, args) on stdin, write the result on stdout."""

from __future__ import annotations

import importlib
import pickle
import sys
from typing import Any


def _call(target: str, args: tuple[Any, ...]) -> Any:
    module_name, _, func_name = target.partition(":")
    if not module_name.startswith("inference.imaging."):
        raise ValueError(f"target {target!r} is outside inference.imaging")
    func = getattr(importlib.import_module(module_name), func_name)
    return func(*args)


def main() -> int:
    """Run one call; the parent owns all limits and interprets the exit status."""
    target, args = pickle.loads(sys.stdin.buffer.read())
    try:
        result: tuple[str, Any] = ("ok", _call(target, args))
    except MemoryError:
        result = ("error", ("memory", "parser exceeded its memory limit"))
    except Exception as exc:  # noqa: BLE001 - the boundary: any failure becomes a message
        kind = getattr(exc, "kind", "error")
        result = ("error", (str(kind), str(exc)[:500]))
    sys.stdout.buffer.write(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
