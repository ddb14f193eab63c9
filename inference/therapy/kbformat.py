"""The knowledge-base file formats: YAML with line numbers, TSV (optionally gzipped), and the
:class:`KbFileError` that names the file and line of the first problem."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import yaml

_LINE = "__line__"

OncoTreeLineage = Callable[[str], "tuple[str, ...] | None"]


class KbFileError(ValueError):
    """A knowledge-base file that cannot be loaded: which file, which line, what is wrong."""

    def __init__(self, file: str, line: int, message: str) -> None:
        self.file, self.line, self.message = file, line, message
        super().__init__(f"{file}, line {line}: {message}")


class _LineLoader(yaml.SafeLoader):
    """A safe loader that remembers the line of every mapping (for error messages)."""


def _mapping_with_line(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    mapping[_LINE] = node.start_mark.line + 1
    return cast(dict[str, Any], mapping)


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_with_line)


@dataclass(frozen=True)
class YamlDoc:
    name: str
    data: dict[str, Any]


def yaml_read(folder: Path, name: str) -> YamlDoc:
    try:
        text = (folder / name).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise KbFileError(name, 0, "the file is missing") from exc
    except UnicodeDecodeError as exc:
        raise KbFileError(name, 0, "the file is not UTF-8 text") from exc
    try:
        data = yaml.load(text, Loader=_LineLoader)  # noqa: S506  (a SafeLoader subclass)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        raise KbFileError(name, line, f"not valid YAML ({exc.problem})") from exc
    except yaml.YAMLError as exc:
        raise KbFileError(name, 0, f"not valid YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise KbFileError(name, 1, "the file must be a mapping with a version and its entries")
    if not str(data.get("version", "")).strip():
        raise KbFileError(name, 1, "the file has no version")
    return YamlDoc(name, data)


def entry_line(entry: Any) -> int:
    return int(entry.get(_LINE, 0)) if isinstance(entry, dict) else 0


def without_lines(value: Any) -> Any:
    """Drop the line markers before a value is stored."""
    if isinstance(value, dict):
        return {k: without_lines(v) for k, v in value.items() if k != _LINE}
    if isinstance(value, list):
        return [without_lines(v) for v in value]
    return value


def list_field(file: str, entry: dict[str, Any], key: str, *, required: bool = False) -> list[Any]:
    value = entry.get(key, [])
    if value is None or (required and not value):
        raise KbFileError(file, entry_line(entry), f"“{key}” must list at least one value")
    if not isinstance(value, list):
        raise KbFileError(file, entry_line(entry), f"“{key}” must be a list")
    return value


def text_field(file: str, entry: dict[str, Any], key: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str | int | float) or not str(value).strip():
        raise KbFileError(file, entry_line(entry), f"“{key}” is missing or empty")
    return str(value).strip()


def refuse_unknown_keys(file: str, entry: dict[str, Any], allowed: set[str]) -> None:
    extra = set(entry) - allowed - {_LINE}
    if extra:
        raise KbFileError(file, entry_line(entry), f"unknown field(s): {', '.join(sorted(extra))}")


def tsv_rows(name: str, text: str, columns: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    """Rows with their file line; ``#`` lines are comments. Wrong column counts are refused."""
    rows: list[tuple[int, dict[str, str]]] = []
    header: list[str] | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        cells = line.split("\t")
        if header is None:
            header = cells
            missing = [c for c in columns if c not in header]
            if missing:
                raise KbFileError(name, number, f"header lacks column(s) {', '.join(missing)}")
            continue
        if len(cells) != len(header):
            raise KbFileError(
                name, number, f"{len(cells)} fields where the header has {len(header)}"
            )
        rows.append((number, dict(zip(header, cells, strict=True))))
    if header is None:
        raise KbFileError(name, 1, "the file is empty")
    return rows


def text_read(folder: Path, name: str) -> str:
    path = folder / name
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise KbFileError(name, 0, "the file is missing") from exc
    try:
        if name.endswith(".gz"):
            raw = gzip.decompress(raw)
        return raw.decode("utf-8")
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise KbFileError(name, 0, f"cannot be read ({type(exc).__name__})") from exc


def tsv_version(text: str) -> str:
    """The ``# version: ...`` comment of a TSV extract, or "" when it has none."""
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        if line.removeprefix("#").strip().lower().startswith("version:"):
            return line.split(":", 1)[1].strip()
    return ""


def unique_id(file: str, entry: dict[str, Any], ids: set[str]) -> str:
    """The entry's ``id``, refused when another entry of the file already uses it."""
    rule_id = text_field(file, entry, "id")
    if rule_id in ids:
        raise KbFileError(file, entry_line(entry), f"rule id “{rule_id}” is used twice")
    ids.add(rule_id)
    return rule_id
