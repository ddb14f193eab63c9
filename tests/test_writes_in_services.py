"""Writes only in services (issue #14 §3): views, forms, template tags and selectors never write.

They read, validate and render; a row is created, changed or deleted by a function of the app's
``services.py`` (``<entity>_<action>``, keyword-only arguments), where the transaction, the audit
and the rules live. The calls are read with ``ast``:

- ``.save()``, ``.delete()``, ``.create()``, ``.bulk_create()``, ``.bulk_update()``,
  ``.get_or_create()`` and ``.update_or_create()`` are model writes on whatever they are called
  on; a ModelForm's ``form.save()`` writes too. ``form.save(commit=False)`` writes nothing.
- ``.update()`` is a write only with keyword arguments: ``QuerySet.update`` takes no positional
  argument, while ``dict.update(mapping)`` (the views' context) writes no row.
- The session and the cache (``request.session.save()``, ``cache.delete()``) are not model rows.

Not seen by this test: many-to-many ``.add()``/``.remove()``/``.set()``/``.clear()`` (too many
sets share the names) and raw SQL; none of these modules uses them today.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.paths import REPO_ROOT

PACKAGE = REPO_ROOT / "oncology_ui"

WRITES = frozenset(
    {
        "save",
        "delete",
        "create",
        "bulk_create",
        "bulk_update",
        "get_or_create",
        "update_or_create",
    }
)
# Receivers whose writes are not model rows.
NOT_ROWS = frozenset({"session", "cache"})


def _modules() -> list[Path]:
    """The views, forms, selectors and template tag modules of every app."""
    files = [
        path
        for path in PACKAGE.rglob("*.py")
        if path.name in {"views.py", "forms.py", "selectors.py"}
        or path.parent.name == "templatetags"
    ]
    return sorted(path for path in files if "migrations" not in path.parts)


def _receiver_name(node: ast.expr) -> str:
    """The last name of what a method is called on: ``request.session`` -> ``session``."""
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return ""


def _is_write(call: ast.Call) -> bool:
    if not isinstance(call.func, ast.Attribute):
        return False
    method = call.func.attr
    if _receiver_name(call.func.value) in NOT_ROWS:
        return False
    if method == "update":
        return not call.args and bool(call.keywords)
    if method == "save":
        for keyword in call.keywords:
            if keyword.arg == "commit" and isinstance(keyword.value, ast.Constant):
                return bool(keyword.value.value)
    return method in WRITES


def writes_in(source: str) -> list[tuple[int, str]]:
    """(line, call) of every model write in ``source``."""
    return [
        (node.lineno, ast.unparse(node))
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call) and _is_write(node)
    ]


@pytest.mark.parametrize(
    ("source", "is_write"),
    [
        ("Case.objects.create(mrn='1')", True),
        ("event.save(update_fields=['title'])", True),
        ("form.save()", True),
        ("form.save(commit=False)", False),
        ("Job.objects.filter(pk=1).update(status='failed')", True),
        ("rows.update(**fields)", True),
        ("Trial.objects.update_or_create(nct_id='x', defaults={})", True),
        ("Lab.objects.get_or_create(code='x')", True),
        ("saved.delete()", True),
        ("Lab.objects.bulk_create(rows)", True),
        ("context.update({'case': case})", False),
        ("context.update(load(request, case))", False),
        ("request.session.save()", False),
        ("request.session.delete('key')", False),
        ("cache.delete('key')", False),
    ],
)
def test_the_detector_tells_a_model_write_from_a_dict_or_session_one(
    source: str, is_write: bool
) -> None:
    assert bool(writes_in(source)) is is_write


def test_the_modules_it_reads_are_there() -> None:
    names = {path.relative_to(PACKAGE).as_posix() for path in _modules()}
    assert {"trials/views.py", "boards/forms.py", "patients/selectors.py"} <= names
    assert any("/templatetags/" in name for name in names)


def test_views_forms_template_tags_and_selectors_write_nothing() -> None:
    found = [
        f"{path.relative_to(REPO_ROOT)}:{line}: {call}"
        for path in _modules()
        for line, call in writes_in(path.read_text(encoding="utf-8"))
    ]
    assert not found, "move these writes into the app's services.py:\n" + "\n".join(found)
