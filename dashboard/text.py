"""Text from the data, shown as plain text whatever it holds.

The loader refuses control characters, bidirectional overrides and over-long text
(data-contract.md, "Text limits"), but a page must stay safe whatever reaches it (a database
written by an older version): every name, title, comment and note passes through here.
- `plain`: bidi controls and control characters removed ("Phòng \\u202eexe.gnaht" would read
  "Phòng thang.exe"), cut to a length with an ellipsis (a 10,000-character name hung Chromium).
- `for_plotly`: plotly renders a tag subset (<a href>, <span style>) from labels and decodes
  HTML entities, so `<`, `>` and `&` become entities and show literally.
- `for_markdown` / `markdown_link`: DataTable markdown cells; every metacharacter escaped, and
  the link target built only from ids the app controls.
"""
from __future__ import annotations

import html
import re
from urllib.parse import quote

LABEL = 80      # a unit or official name in pickers, tables, tiles and charts
LINE = 200      # a heading, a title, a position (the contract's limit for names and titles)
FREE = 2000     # a comment or note
TOOLTIP = 1000  # the full text behind a cut label, in a title attribute

# C0/C1 controls, the bidi embeddings, overrides and isolates, and the LRM/RLM marks.
_HIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_BREAKS = re.compile(r"[\t\n\r]+")
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~&])")


def plain(value, limit: int = LABEL, lines: bool = False) -> str:
    """`value` as display text: no hidden controls, one line unless `lines`, at most `limit`
    characters (the last one an ellipsis when cut). None gives ''."""
    if value is None:
        return ""
    text = _HIDDEN.sub("", str(value))
    if not lines:
        text = _BREAKS.sub(" ", text)
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def label(value) -> str:
    return plain(value, LABEL)


def tooltip(value) -> str:
    """The fuller text for a title attribute when `label` cut it ('' when nothing was cut)."""
    full = plain(value, TOOLTIP)
    return full if full != plain(value, LABEL) else ""


def for_plotly(value, limit: int = LABEL) -> str:
    """A label, hover text or tick as plotly shows it literally: `<a href=…>` stays text."""
    return html.escape(plain(value, limit), quote=False)


def for_markdown(value, limit: int = LABEL) -> str:
    """Text for a DataTable markdown cell: no link, emphasis or HTML can come out of it."""
    return _MARKDOWN.sub(r"\\\1", plain(value, limit))


def markdown_link(value, href: str, limit: int = LABEL) -> str:
    """A markdown link whose target is the app's own path (percent-encoded, so an id can
    never close the parenthesis or add a title) and whose text is escaped."""
    return f"[{for_markdown(value, limit)}]({quote(href, safe='/?=&-._~')})"
