"""Reading rendered HTML as a tree (Django's own parser), so tests assert on structure."""

from __future__ import annotations

from collections.abc import Iterator

from django.test.html import Element, parse_html


def tree(content: str) -> Element:
    return parse_html(content)


def attr(element: Element, name: str) -> str:
    return next((str(v) for k, v in element.attributes if k == name), "")


def classes(element: Element) -> set[str]:
    return set(attr(element, "class").split())


def walk(element: Element) -> Iterator[Element]:
    for child in element.children:
        if isinstance(child, Element):
            yield child
            yield from walk(child)


def find_all(root: Element, tag: str, css: str = "") -> list[Element]:
    """Descendants with this tag (and CSS class, when given), in document order."""
    return [e for e in walk(root) if e.name == tag and (not css or css in classes(e))]


def find(root: Element, tag: str, css: str = "") -> Element:
    found = find_all(root, tag, css)
    assert found, f"no <{tag} class={css!r}>"
    return found[0]


def text(element: Element | str) -> str:
    if isinstance(element, str):
        return element
    return " ".join(" ".join(text(c) for c in element.children).split())
