"""A tiny template renderer for the report: ``${name}`` placeholders in the package's
``templates/`` files, filled by ``string.Template`` with every value HTML-escaped unless it is
``Markup`` (autoescaping without a template engine dependency).
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from functools import cache
from importlib.resources import files
from string import Template
from typing import Any

__all__ = ["Markup", "escape", "join", "render"]


class Markup(str):
    """Text that is HTML already: ``escape``, ``join`` and ``render`` insert it as it is.

    >>> escape(Markup("<b>bold</b>"))
    '<b>bold</b>'
    """

    __slots__ = ()


def escape(value: Any) -> Markup:
    """``value`` as HTML text: ``str(value)`` with ``& < > " '`` escaped, or ``value`` itself
    when it is ``Markup`` already (so nothing is escaped twice).

    >>> escape('<script>"x" & y</script>')
    '&lt;script&gt;&quot;x&quot; &amp; y&lt;/script&gt;'
    """
    if isinstance(value, Markup):
        return value
    return Markup(html.escape(str(value), quote=True))


def join(fragments: Iterable[Any], sep: str = "") -> Markup:
    """The fragments, each escaped unless ``Markup``, joined by ``sep``.

    >>> join([Markup("<br>"), "a < b"], "\\n")
    '<br>\\na &lt; b'
    """
    return Markup(escape(sep).join(escape(fragment) for fragment in fragments))


@cache
def _template(name: str) -> Template:
    # Dropping the file's final newline lets a fragment sit inside a tag (a badge in a cell) as it is written.
    text = (files("modeltel.report") / "templates" / name).read_text(encoding="utf-8")
    return Template(text.removesuffix("\n"))


def render(name: str, /, **values: Any) -> Markup:
    """Template ``templates/<name>`` with each ``${key}`` replaced by ``values[key]``, escaped
    unless ``Markup``; ``KeyError`` when a placeholder has no value.

    >>> render("badge.html", state="bad", text="drifted")
    '<span class="badge bad">drifted</span>'
    """
    return Markup(_template(name).substitute({key: escape(value) for key, value in values.items()}))
