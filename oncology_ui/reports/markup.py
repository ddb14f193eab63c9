"""The one place where text becomes reportlab markup, and where reportlab is told to fetch nothing.

reportlab parses ``Paragraph`` text (and table-of-contents entries, which it wraps in its own
Paragraphs) as XML: ``<a href>`` becomes a live link, ``<img src>`` reads a server file or a URL,
``<font>`` changes fonts, and a broken tag raises and loses the whole document. So every string
that reaches reportlab's parser passes through this module: :func:`para` escapes the text and adds
only markup written here (``<b>``, ``<br/>``); :class:`Heading` and :func:`contents_entry` do the
same for headings and the contents. ``tests/oncology_ui/reports/test_markup_injection.py`` fails
if any other module imports ``Paragraph``, ``TableOfContents``, ``ImageReader`` or ``Image``, or
sends a ``TOCEntry`` notification. Plain strings in ``Table`` cells, bookmarks and ``String``
shapes are drawn as text, never parsed, so they need no escaping.

Images come only from bytes we made or stored (a chart, a slide thumbnail), read in memory by
:func:`png_image`; no path and no URL ever reaches reportlab.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

import reportlab
from reportlab import rl_config
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Image, Paragraph
from reportlab.platypus.tableofcontents import TableOfContents

if TYPE_CHECKING:
    from reportlab.platypus.doctemplate import BaseDocTemplate

#: CVE-2023-33733 (code execution through a colour attribute) is fixed from 3.6.13 on.
REPORTLAB_MINIMUM = (3, 6, 13)

#: A host that matches nothing: ``.invalid`` is reserved and never resolves (RFC 2606).
_NO_HOST = "no-host.invalid"


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".")[:3] if part.isdigit())


if _version(reportlab.Version) < REPORTLAB_MINIMUM:
    raise ImportError(
        f"reportlab {reportlab.Version} is older than "
        f"{'.'.join(map(str, REPORTLAB_MINIMUM))} (CVE-2023-33733); upgrade it"
    )


def reportlab_fetch_nothing() -> None:
    """Trust no URL scheme and no host, so reportlab refuses every URL before connecting.

    reportlab's defaults trust file, http, https, ftp and data URLs; with no trusted host its
    opener happens to fail on an unbound variable, a bug that must not be our only guard. An
    empty host list would hit that bug, so the list names a host that cannot exist, and no
    scheme at all is trusted.
    """
    rl_config.trustedSchemes = []
    rl_config.trustedHosts = [_NO_HOST]


reportlab_fetch_nothing()  # on import: every PDF this project makes imports this module


def escape_markup(text: object) -> str:
    """``text`` as literal Paragraph content: markup characters escaped, newlines kept."""
    return escape("" if text is None else str(text)).replace("\n", "<br/>")


def para(text: object, style: ParagraphStyle, *, bold: bool = False) -> Paragraph:
    """A paragraph that prints ``text`` literally (in bold when asked)."""
    markup = escape_markup(text)
    return Paragraph(f"<b>{markup}</b>" if bold else markup, style)


class Heading(Paragraph):
    """A heading printed literally that becomes a bookmark and, at level 0, a contents entry.

    ``plain`` is the unescaped text: bookmarks are PDF text strings, not markup.
    """

    def __init__(self, text: str, style: ParagraphStyle, *, level: int, key: str) -> None:
        super().__init__(escape_markup(text), style)
        self.plain, self.level, self.key = text, level, key


def contents_table(level_styles: list[ParagraphStyle]) -> TableOfContents:
    """The table of contents; it is filled only through :func:`contents_entry`."""
    table = TableOfContents()
    table.levelStyles = level_styles
    return table


def contents_entry(doc: BaseDocTemplate, heading: Heading, *, level: int = 0) -> None:
    """Send ``heading`` to the contents: it wraps the text in a Paragraph, so it is escaped."""
    doc.notify("TOCEntry", (level, escape_markup(heading.plain), doc.page, heading.key))


def png_image(data: bytes) -> Image:
    """A flowable image from bytes in memory (never a path or URL); raises if unreadable."""
    return Image(io.BytesIO(data))
