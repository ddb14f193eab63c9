"""Untrusted JSON read defensively: no duplicate keys, bounded numbers and nesting, XML refused.

The standard library's parser accepts what a FHIR server never sends (``NaN``, a 5,000-digit
number, a key given twice, an object nested ten thousand deep); each is refused here with a
sentence a person can act on, before any FHIR model sees the document.
"""

from __future__ import annotations

import json
from typing import Any

from oncology_ui.clinical.parsers import ImportRejected, Problem

MAX_DEPTH = 48


class _JsonProblem(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            owner = dict(pairs)
            where = (
                f" in {owner.get('resourceType')}/{owner.get('id')}"
                if isinstance(owner.get("resourceType"), str)
                else ""
            )
            raise _JsonProblem(f"the key “{key[:40]}” appears twice in one object{where}")
        result[key] = value
    return result


def _int(text: str) -> int:
    if len(text.lstrip("-")) > 18:
        raise _JsonProblem(f"a number has {len(text)} digits; FHIR integers and decimals are small")
    return int(text)


def _float(text: str) -> float:
    if len(text) > 40:
        raise _JsonProblem(f"a number has {len(text)} characters; FHIR decimals are small")
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _JsonProblem(f"the number {text[:20]} is too large")
    return value


def _constant(name: str) -> float:
    raise _JsonProblem(f"{name} is not allowed in JSON")


def _depth(document: Any) -> int:
    deepest, stack = 0, [(document, 1)]
    while stack:
        value, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_DEPTH:
            return depth
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
    return deepest


def load_json(data: bytes) -> Any:
    """Parse untrusted JSON bytes or raise :class:`ImportRejected` saying why."""
    body = data.removeprefix(b"\xef\xbb\xbf").lstrip()
    if body.startswith(b"<"):
        raise ImportRejected(
            [Problem("file", "is XML; OncoBoard imports FHIR bundles as JSON only.")]
        )
    if not body.startswith(b"{"):
        raise ImportRejected([Problem("file", "is not a JSON object (it must start with “{”).")])
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ImportRejected(
            [Problem("file", f"is not valid UTF-8 (byte {exc.start + 1}); FHIR JSON is UTF-8.")]
        ) from None
    try:
        document = json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_int=_int,
            parse_float=_float,
            parse_constant=_constant,
        )
    except RecursionError:
        raise ImportRejected(
            [Problem("file", "is nested too deeply to be a FHIR bundle.")]
        ) from None
    except _JsonProblem as exc:
        raise ImportRejected([Problem("file", f"{exc}.")]) from None
    except json.JSONDecodeError as exc:
        raise ImportRejected(
            [
                Problem(
                    "file", f"is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})."
                )
            ]
        ) from None
    except ValueError as exc:
        raise ImportRejected([Problem("file", f"has an unreadable value ({exc}).")]) from None
    if _depth(document) > MAX_DEPTH:
        raise ImportRejected(
            [Problem("file", f"is nested more than {MAX_DEPTH} levels deep; not a FHIR bundle.")]
        )
    return document
