"""The report's templates: user text escaped everywhere, missing values refused, every template
file used, and the files found as package data."""

from __future__ import annotations

import html
import importlib.resources
import re
import tomllib
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import modeltel
from modeltel.report.html import render_report
from modeltel.report.templating import Markup, escape, render
from tests.helpers import ROOT_DIR

ROOT = ROOT_DIR
REPORT = Path(modeltel.report.html.__file__).parent
HOSTILE = '<script>alert(1)</script> "quotes" & ampersands'


class Parsed(HTMLParser):
    """Tags, attribute values and text of a page, as a browser would read them."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[str] = []
        self.text: dict[str, list[str]] = {}
        self.open: list[str] = []
        self.feed(page)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes.extend(value or "" for _, value in attrs)
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.open:
            del self.open[len(self.open) - 1 - self.open[::-1].index(tag) :]

    def handle_data(self, data: str) -> None:
        if self.open:
            self.text.setdefault(self.open[-1], []).append(data)


def hostile_page() -> str:
    rng = np.random.default_rng(3)
    train = pd.DataFrame(
        {
            HOSTILE: rng.normal(size=600),
            "country": rng.choice(["NO", HOSTILE], 600),
        }
    )
    reference = modeltel.Reference.from_data(train)
    live = train.assign(country=rng.choice(["NO", HOSTILE, "SE"], 600))
    window = modeltel.WindowSnapshot.from_data(live, reference)
    return render_report(reference, window)


def test_hostile_feature_and_category_names_are_escaped_everywhere():
    page = hostile_page()
    assert "<script" not in page.lower()
    assert '"quotes" & ampersands' not in page
    escaped = html.escape(HOSTILE, quote=True)
    assert escaped == "&lt;script&gt;alert(1)&lt;/script&gt; &quot;quotes&quot; &amp; ampersands"
    # The feature name in the summary link, its section heading and its chart's aria-label.
    assert page.count(f">{escaped}</a>") == 1
    assert page.count(f"<h3>{escaped}</h3>") == 1
    assert f'aria-label="share of rows per bin of {escaped}: reference and window"' in page
    # The category in its tick label's tooltip and in its bar group's tooltip.
    assert f"<title>{escaped}</title>" in page
    assert f"<title>{escaped}: reference " in page
    # Parsed as a browser would: no script element, and the names read back exactly (not escaped twice).
    parsed = Parsed(page)
    assert "script" not in parsed.tags
    assert HOSTILE in parsed.text["h3"] and HOSTILE in parsed.text["a"] and HOSTILE in parsed.text["title"]
    assert f"share of rows per bin of {HOSTILE}: reference and window" in parsed.attributes


def test_render_escapes_values_unless_markup_and_refuses_missing_ones():
    assert render("badge.html", state="bad", text="<b>&") == '<span class="badge bad">&lt;b&gt;&amp;</span>'
    assert render("badge.html", state="bad", text=Markup("<b>x</b>")) == '<span class="badge bad"><b>x</b></span>'
    assert isinstance(render("badge.html", state="na", text="n/a"), Markup)
    assert escape(escape("<")) == "&lt;"  # Markup is not escaped twice
    with pytest.raises(KeyError, match="text"):
        render("badge.html", state="bad")


def test_every_template_file_is_used_and_every_rendered_template_exists():
    names = sorted(p.name for p in (importlib.resources.files("modeltel.report") / "templates").iterdir())
    assert "page.html" in names and "report.css" in names
    sources = "\n".join(p.read_text(encoding="utf-8") for p in REPORT.glob("*.py"))
    unused = [name for name in names if f'"{name}"' not in sources]
    assert unused == [], f"template files no code renders: {unused}"
    rendered = set(re.findall(r'render\(\s*"([^"]+)"', sources))
    assert rendered and rendered <= set(names), rendered - set(names)


def test_templates_are_package_data():
    css = importlib.resources.files("modeltel.report").joinpath("templates/report.css").read_text(encoding="utf-8")
    assert "svg.chart" in css
    assert css.strip() in hostile_page()  # inlined as it is, not escaped
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "templates/*" in setuptools["package-data"]["modeltel.report"]
