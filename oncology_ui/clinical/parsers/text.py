"""Reading untrusted text files line by line in bounded memory.

UTF-8 only (a leading BOM is dropped); a line that is not UTF-8 is refused with its number and
the likely cause, since silently guessing Latin-1 would corrupt names and units such as ``µmol/L``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import BinaryIO

from oncology_ui.clinical.parsers import ImportRejected, Limits, Problem

BOM = b"\xef\xbb\xbf"


def _decode(raw: bytes, number: int) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        byte = raw[exc.start]
        hint = (
            " — it looks like Latin-1/Windows-1252; save the file as UTF-8"
            if 0x80 <= byte <= 0xFF
            else ""
        )
        raise ImportRejected(
            [
                Problem(
                    f"line {number}",
                    f"is not valid UTF-8 (byte 0x{byte:02X} at position {exc.start + 1}){hint}.",
                )
            ]
        ) from None


def text_lines(handle: BinaryIO, limits: Limits) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, text)`` with the line ending kept, refusing over-long lines.

    Reads at most ``max_line_bytes + 1`` bytes at a time, so a 200 KB field or a file without
    line breaks is refused without being held in memory.
    """
    number = 0
    while True:
        raw = handle.readline(limits.max_line_bytes + 1)
        if not raw:
            return
        number += 1
        if number == 1 and raw.startswith(BOM):
            raw = raw[len(BOM) :]
        if len(raw) > limits.max_line_bytes and not raw.endswith(b"\n"):
            raise ImportRejected(
                [
                    Problem(
                        f"line {number}",
                        f"is longer than {limits.max_line_bytes // 1024} KB; a field this large "
                        "is not a lab or variant value.",
                    )
                ]
            )
        if b"\x00" in raw:
            raise ImportRejected(
                [Problem(f"line {number}", "contains NUL bytes: not a text file.")]
            )
        yield number, _decode(raw, number)


def csv_rows(
    handle: BinaryIO, limits: Limits, *, delimiter: str = ",", skip_comments: bool = False
) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(line_number, cells)`` of a delimited file; quoted fields may not span lines."""
    for number, line in text_lines(handle, limits):
        if not line.strip():
            continue
        if skip_comments and line.startswith("#"):
            continue
        try:
            cells = next(csv.reader([line], delimiter=delimiter, strict=True))
        except csv.Error as exc:
            raise ImportRejected(
                [Problem(f"line {number}", f"is not valid CSV ({exc}).")]
            ) from None
        yield number, cells


def header_index(
    cells: list[str], aliases: dict[str, tuple[str, ...]], *, line: int
) -> dict[str, int]:
    """Map canonical column names to positions; refuse duplicate or unknown-only headers.

    Args:
        cells: the header row.
        aliases: canonical name -> accepted spellings (compared case-insensitively).
        line: the header's line number, for messages.
    """
    seen: dict[str, int] = {}
    problems: list[Problem] = []
    for position, cell in enumerate(cells):
        name = cell.strip().lower().replace(" ", "_")
        if not name:
            continue
        if name in seen:
            problems.append(
                Problem(
                    f"line {line}",
                    f"column “{cell.strip()}” appears twice (columns {seen[name] + 1} and "
                    f"{position + 1}); each column may appear once.",
                )
            )
            continue
        seen[name] = position
    index: dict[str, int] = {}
    for canonical, spellings in aliases.items():
        found = [seen[s] for s in (canonical, *spellings) if s in seen]
        if len(found) > 1:
            problems.append(
                Problem(
                    f"line {line}",
                    f"columns {', '.join(str(f + 1) for f in found)} all mean “{canonical}”; "
                    "keep one.",
                )
            )
        elif found:
            index[canonical] = found[0]
    if problems:
        raise ImportRejected(problems)
    return index


def cell(cells: list[str], index: dict[str, int], name: str) -> str:
    position = index.get(name)
    if position is None or position >= len(cells):
        return ""
    return cells[position].strip()


class Table:
    """A delimited file with a header row: the header's column index, then the data rows.

    Raises :class:`ImportRejected` when the file is empty or the header is unusable
    (see :func:`header_index`).
    """

    def __init__(
        self,
        handle: BinaryIO,
        limits: Limits,
        aliases: dict[str, tuple[str, ...]],
        *,
        delimiter: str = ",",
        skip_comments: bool = False,
    ) -> None:
        self._rows = csv_rows(handle, limits, delimiter=delimiter, skip_comments=skip_comments)
        first = next(self._rows, None)
        if first is None:
            raise ImportRejected([Problem("file", "is empty.")])
        self.header_line, self.header = first
        self.index = header_index(self.header, aliases, line=self.header_line)
        self.max_rows = limits.max_rows
        self.count = 0

    def refuse_header(self, message: str) -> ImportRejected:
        """The error for a header that lacks what the format needs."""
        return ImportRejected([Problem(f"line {self.header_line}", message)])

    def rows(self, *, too_many: str) -> Iterator[tuple[int, list[str]]]:
        """Yield ``(line_number, cells)``; past ``max_rows`` rows the whole file is refused.

        ``too_many`` is the message, with ``{limit}`` standing for the number of rows allowed.
        """
        for number, cells in self._rows:
            self.count += 1
            if self.count > self.max_rows:
                message = too_many.format(limit=f"{self.max_rows:,}")
                raise ImportRejected([Problem(f"line {number}", message)])
            yield number, cells

    def cell(self, cells: list[str], name: str) -> str:
        return cell(cells, self.index, name)
