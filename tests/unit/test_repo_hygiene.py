"""The repository stands on its own: its docs link only to files it contains, and its scripts
take package sources from the machine's configuration instead of naming a mirror host."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.helpers import ROOT_DIR

ROOT = ROOT_DIR
DOC_DIRS = ("collector-config", "docs")

# [text](target "title"), [id]: target, and bare relative paths such as (../x/y.md) in prose.
_INLINE = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.MULTILINE)
_BARE_PATH = re.compile(r"(?<![\w/.\]])(\.\.?/[\w./-]+)")
_URL = re.compile(r"https?://[^\s\"'`)<>{}]+")
_LOOPBACK = {"localhost", "127.0.0.1", "::1", "[::1]"}


def _markdown_files() -> list[Path]:
    return sorted(p for d in DOC_DIRS for p in (ROOT / d).rglob("*.md"))


def _targets(text: str) -> set[str]:
    links = set(_INLINE.findall(text)) | set(_REFERENCE.findall(text)) | set(_BARE_PATH.findall(text))
    # Web addresses and in-page anchors are not files of the repository.
    return {t for t in links if not urlsplit(t).scheme and not t.startswith("#")}


def _outside_or_missing(doc: Path, target: str) -> str | None:
    path = target.split("#", 1)[0].rstrip(".,;:")
    if not path:
        return None
    resolved = (ROOT / path.lstrip("/") if path.startswith("/") else doc.parent / path).resolve()
    if not resolved.is_relative_to(ROOT):
        return f"{target} leaves the repository"
    if not resolved.exists():
        return f"{target} does not exist"
    return None


def test_the_markdown_checks_see_the_docs():
    files = {p.relative_to(ROOT).as_posix() for p in _markdown_files()}
    assert {"collector-config/README.md", "docs/configuration.md", "docs/labels.md"} <= files
    # The patterns find what they are meant to, so an empty result below means something.
    sample = "[a](../x.md) [b](#top) [c](https://example.org) (../shared/INFRA.md)\n[d]: ./y.md\n"
    assert _targets(sample) == {"../x.md", "../shared/INFRA.md", "./y.md"}


@pytest.mark.parametrize("doc", _markdown_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_markdown_links_resolve_to_files_inside_the_repository(doc):
    problems = [p for t in sorted(_targets(doc.read_text())) if (p := _outside_or_missing(doc, t))]
    assert not problems, problems


def test_scripts_name_no_package_mirror_host():
    scripts = sorted((ROOT / "scripts").glob("*.sh"))
    assert scripts
    hosts = {
        (script.name, url)
        for script in scripts
        for url in _URL.findall(script.read_text())
        if urlsplit(url).hostname not in _LOOPBACK
    }
    assert not hosts, f"hard-coded hosts (take them from the machine's configuration): {sorted(hosts)}"
