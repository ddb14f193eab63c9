"""Parsers for clinical, lab and molecular files: plain Python, no Django.

Every parser reads an untrusted file in bounded memory and either returns plain records or
raises :class:`ImportRejected` carrying every problem it found, each naming its row, line or
resource, so the importer can refuse the whole file (all-or-nothing) with a readable report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

VOCAB_DIR = Path(__file__).resolve().parent.parent / "vocab"

#: Problems kept in a report; the rest are only counted (a million bad rows must not fill memory).
MAX_REPORTED_PROBLEMS = 500


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input: where it is and what to do about it."""

    where: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"where": self.where, "message": self.message}


@dataclass(frozen=True)
class Limits:
    """Bounds a parser enforces on an untrusted file.

    Attributes:
        max_rows: data rows (or resources) accepted in one file.
        max_line_bytes: longest physical line; a longer one is refused, never buffered whole.
    """

    max_rows: int = 200_000
    max_line_bytes: int = 64 * 1024


class ImportRejected(Exception):
    """The file cannot be imported; ``problems`` says where and why."""

    def __init__(self, problems: list[Problem], *, total: int | None = None) -> None:
        self.problems = problems[:MAX_REPORTED_PROBLEMS]
        self.total = total if total is not None else len(problems)
        first = problems[0] if problems else Problem("file", "unreadable")
        super().__init__(f"{first.where}: {first.message}")


@dataclass
class ProblemLog:
    """Collects problems for one file, keeping the first few hundred and counting the rest."""

    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    total: int = 0

    def add(self, where: str, message: str) -> None:
        self.total += 1
        if len(self.problems) < MAX_REPORTED_PROBLEMS:
            self.problems.append(Problem(where, message))

    def warn(self, where: str, message: str) -> None:
        if len(self.warnings) < MAX_REPORTED_PROBLEMS:
            self.warnings.append(Problem(where, message))

    def raise_if_any(self) -> None:
        if self.total:
            raise ImportRejected(self.problems, total=self.total)
