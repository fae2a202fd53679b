"""A static drift report: one self-contained HTML file comparing a window with its reference.

For people who would rather look than read metrics: a summary table (feature, method, score,
drifted or not) and, per feature, a chart of the reference's and the window's share of rows in
each reference bin, with every drift score and the data quality counts beside it. The page is
plain HTML with inline CSS and inline SVG: no script, no font, no URL, so it opens anywhere
(an e-mail attachment, a CI artefact, an air-gapped machine) and renders the same.

Scores are those of ``modeltel.drift.statistics`` on the window's counts, computed as the
live ``ml.drift.score`` metrics are; "drifted" uses the thresholds of docs/drift.md (PSI 0.2,
the shipped alert rule's threshold).
"""

from __future__ import annotations

import html
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from modeltel.drift.feature_window import FeatureWindow
from modeltel.drift.layout import QUALITY_KINDS
from modeltel.drift.methods import CATEGORICAL, METHODS, NAMES, NUMERIC, scores
from modeltel.drift.reference import (
    CategoricalProfile,
    FeatureProfile,
    NumericProfile,
    Reference,
)
from modeltel.drift.snapshot import WindowSnapshot, live_window, read_table
from modeltel.errors import ModeltelTypeError, ModeltelValueError, WindowError

# Where a feature counts as drifted, per method: each method's default threshold (PSI at 0.2,
# "significant", the threshold of the shipped Prometheus alert rule).
THRESHOLDS: dict[str, float] = {name: m.threshold for name, m in METHODS.items()}
QUALITY_NAMES = {
    "missing": "missing",
    "out_of_range": "out of range",
    "unseen_category": "unseen category",
    "type_mismatch": "type mismatch",
}


@dataclass
class FeatureResult:
    """One feature's comparison: its profile, its window, every score and the verdict."""

    profile: FeatureProfile
    window: FeatureWindow
    scores: dict[str, float]
    method: str
    threshold: float

    @property
    def score(self) -> float | None:
        return self.scores.get(self.method)

    @property
    def drifted(self) -> bool | None:
        """None when the method does not apply to the feature or the window has no rows."""
        return None if self.score is None else _crossed(self.method, self.score, self.threshold)

    @property
    def severity(self) -> float:
        """Sort key, larger is worse: the score, or minus the p-value."""
        if self.score is None:
            return -math.inf
        return self.score if METHODS[self.method].higher_is_drift else -self.score


def _crossed(method: str, score: float, threshold: float) -> bool:
    return METHODS[method].crossed(score, threshold)


def feature_scores(profile: FeatureProfile, window: FeatureWindow) -> dict[str, float]:
    """Every drift score that applies to the feature (drift/methods.py), as the live metrics
    compute them. Empty when the window has no values for the feature.

    >>> feature_scores(ref.feature("amount"), window.feature("amount"))["psi"]
    0.031...
    """
    kind = NUMERIC if isinstance(profile, NumericProfile) else CATEGORICAL
    sums = np.asarray(window.sums, dtype=np.float64) if window.sums is not None else None
    return scores(
        profile, kind, np.asarray(profile.proportions, dtype=np.float64),
        np.asarray(window.counts, dtype=np.float64), sums, NAMES,
    )


def compare(
    reference: Reference, window: WindowSnapshot, *, method: str = "psi", threshold: float | None = None
) -> tuple[list[FeatureResult], FeatureResult | None]:
    """Per-feature results sorted by drift (worst first), and the predictions' result (None
    when the reference or the window has no predictions). ``WindowError`` when the window
    was not built against ``reference``."""
    method, threshold = _method(method, threshold)
    window.check_against(reference)
    results = [
        FeatureResult(p, window.feature(p.name), feature_scores(p, window.feature(p.name)), method, threshold)
        for p in reference.features
    ]
    results.sort(key=lambda r: (-r.severity, r.profile.name))
    prediction = None
    if reference.predictions is not None and window.predictions is not None:
        prediction = FeatureResult(
            reference.predictions, window.predictions,
            feature_scores(reference.predictions, window.predictions), method, threshold,
        )
    return results, prediction


def _method(method: str, threshold: float | None) -> tuple[str, float]:
    if method not in METHODS:
        raise ModeltelValueError(f"unknown drift method {method!r}; choose from {', '.join(NAMES)}")
    if threshold is None:
        return method, THRESHOLDS[method]
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not math.isfinite(threshold):
        raise ModeltelValueError(f"threshold must be a finite number, got {threshold!r}")
    return method, float(threshold)


# --- public entry points ------------------------------------------------------------------


def render_report(
    reference: Reference,
    window: WindowSnapshot,
    *,
    method: str = "psi",
    threshold: float | None = None,
    title: str | None = None,
) -> str:
    """The report as an HTML string: summary table sorted by drift, then one chart per
    feature (and one for the predictions when both sides have them). ``method`` picks the
    score of the summary and of the sort; ``threshold`` overrides its default (``THRESHOLDS``).

    >>> html_text = render_report(Reference.load("ref.json"), WindowSnapshot.load("window.json"))
    """
    results, prediction = compare(reference, window, method=method, threshold=threshold)
    return _page(reference, window, results, prediction, title)


def write_report(
    path: str | os.PathLike[str],
    *,
    model: Any = None,
    version: str | None = None,
    reference: Reference | str | os.PathLike[str] | None = None,
    window: Any = None,
    method: str = "psi",
    threshold: float | None = None,
    title: str | None = None,
) -> Path:
    """Write a drift report to ``path`` and return it. Either ``model`` (a registered model
    object or its name: its live window in this process, against the reference it was
    registered with) or ``reference`` (a ``Reference`` or its JSON path) with ``window`` (a
    ``WindowSnapshot``, the path of its JSON, a CSV/Parquet path, or in-memory data profiled
    on the fly).

    >>> modeltel.write_report("drift.html", model="fraud")
    >>> modeltel.write_report("drift.html", reference="fraud.json", window="today.csv")
    """
    if model is not None:
        if reference is not None or window is not None:
            raise ModeltelTypeError("write_report: pass model=, or reference= with window=, not both")
        ref, snapshot = live_window(model, version=version)
    else:
        if reference is None or window is None:
            raise ModeltelTypeError("write_report: pass model=, or reference= with window=")
        ref = reference if isinstance(reference, Reference) else Reference.load(reference)
        snapshot = load_window(window, ref)
    target = Path(path)
    target.write_text(render_report(ref, snapshot, method=method, threshold=threshold, title=title), encoding="utf-8")
    return target


def save_window(model: Any, path: str | os.PathLike[str], *, version: str | None = None) -> WindowSnapshot:
    """Save the live drift window of a model in this process (the registered model object or
    its name) as a window snapshot JSON, for ``modeltel report`` elsewhere; returns it.

    >>> modeltel.save_window("fraud", "fraud-window.json")
    """
    snapshot = WindowSnapshot.from_model(model, version=version)
    snapshot.save(path)
    return snapshot


def load_window(
    window: Any, reference: Reference, *, drop: Sequence[str] = (), predictions: str | None = None
) -> WindowSnapshot:
    """A window from a snapshot, a snapshot JSON path, a CSV/Parquet path (profiled against
    ``reference``; ``drop`` columns left out, ``predictions`` the column of model outputs),
    or in-memory data."""
    if isinstance(window, WindowSnapshot):
        return window
    if isinstance(window, (str, os.PathLike)):
        path = Path(window)
        if path.suffix.lower() == ".json":
            if drop or predictions:
                raise WindowError("--drop and --predictions apply to a data file window, not a window JSON")
            return WindowSnapshot.load(path)
        frame = read_table(path)
        columns = set(map(str, frame.columns))
        missing = sorted(set(drop) - columns)
        if missing:
            raise WindowError(f"--drop names column(s) not in {path}: {', '.join(missing)}")
        values = None
        if predictions:
            if predictions not in columns:
                raise WindowError(f"--predictions column {predictions!r} is not in {path}")
            values = frame[predictions].to_numpy()
        features = frame.drop(columns=[*drop, *([predictions] if predictions else [])])
        return WindowSnapshot.from_data(features, reference, predictions=values, metadata={"data": path.name})
    return WindowSnapshot.from_data(window, reference)


# --- HTML ---------------------------------------------------------------------------------


def _e(value: Any) -> str:
    """Every user-provided string (names, categories, file names) goes through here."""
    return html.escape(str(value), quote=True)


def _fmt(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    if value == 0:
        return "0"
    return f"{value:.3g}" if abs(value) < 1e-3 else f"{value:.4f}".rstrip("0").rstrip(".")


def _count(value: float) -> str:
    """Live counts are weighted (a 10,000-row batch sampled to 256 rows weighs 10,000), so
    they may be fractional; whole numbers print as such."""
    return f"{value:,.0f}" if abs(value - round(value)) < 1e-9 or value >= 100 else f"{value:,.1f}"


def _pct(share: float) -> str:
    return f"{100 * share:.1f}%"


def _page(
    reference: Reference,
    window: WindowSnapshot,
    results: list[FeatureResult],
    prediction: FeatureResult | None,
    title: str | None,
) -> str:
    model = window.metadata.get("model")
    if title is None:
        title = f"Drift report: {model}" if model else "Drift report"
    method = results[0].method if results else "psi"
    threshold = results[0].threshold if results else THRESHOLDS[method]
    drifted = sum(1 for r in results if r.drifted)
    relation = ">" if METHODS[method].higher_is_drift else "<"
    ref_label = reference.metadata.get("source") or "reference"
    if window.source == "live":
        version = window.metadata.get("version")
        window_label = f"live window of {model}" + (f" (version {version})" if version else "")
    else:
        window_label = window.metadata.get("data") or "data"
    cards = [
        ("features drifted", f"{drifted} / {len(results)}", "bad" if drifted else "good"),
        ("window rows", _count(window.rows), ""),
        ("reference rows", _count(reference.rows), ""),
        ("drifted when", f"{METHODS[method].label} {relation} {_fmt(threshold)}", ""),
    ]
    if prediction is not None and prediction.drifted is not None:
        cards.insert(1, ("predictions", "drifted" if prediction.drifted else "stable", "bad" if prediction.drifted else "good"))
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        # An empty inline icon: without it a browser would ask the server for /favicon.ico.
        '<link rel="icon" href="data:,">',
        f"<title>{_e(title)}</title>",
        f"<style>{_CSS}</style></head><body><main>",
        f'<header><h1>{_e(title)}</h1><p class="sub">reference <b>{_e(ref_label)}</b> '
        f"({_count(reference.rows)} rows) compared with <b>{_e(window_label)}</b> "
        f"({_count(window.rows)} rows)" + (f", {_e(window.created)}" if window.created else "") + "</p></header>",
        '<section class="cards">',
        *(f'<div class="card {cls}"><div class="label">{_e(k)}</div><div class="value">{_e(v)}</div></div>' for k, v, cls in cards),
        "</section>",
        _summary_table(results, prediction, window),
    ]
    if window.source == "live":
        parts.append(
            '<p class="note">Counts are the live drift window (weighted as the metrics are); data quality '
            "counts are since the process started, as <code>ml.data_quality.issues</code>.</p>"
        )
    if prediction is not None:
        parts.append('<h2 id="predictions">Prediction drift</h2>')
        parts.append(_feature_section(prediction, window, "predictions-chart", role="prediction"))
    parts.append("<h2>Features</h2>")
    parts.extend(_feature_section(r, window, f"feature-{i}", role="feature") for i, r in enumerate(results))
    parts.append(_footer(window))
    parts.append("</main></body></html>")
    return "\n".join(parts)


def _badge(drifted: bool | None) -> str:
    if drifted is None:
        return '<span class="badge na">n/a</span>'
    return '<span class="badge bad">drifted</span>' if drifted else '<span class="badge good">no</span>'


def _summary_table(results: list[FeatureResult], prediction: FeatureResult | None, window: WindowSnapshot) -> str:
    rows = []
    entries = [(r, f"feature-{i}") for i, r in enumerate(results)]
    if prediction is not None:
        entries.insert(0, (prediction, "predictions-chart"))
    for r, anchor in entries:
        q = r.window.quality
        issues = sum(q.values())
        name = "predictions" if anchor == "predictions-chart" else r.profile.name
        rows.append(
            f'<tr><td><a href="#{anchor}">{_e(name)}</a></td><td>{_e(r.profile.kind)}</td>'
            f"<td>{_e(METHODS[r.method].label)}</td><td class=\"num\">{_fmt(r.score)}</td>"
            f"<td>{_badge(r.drifted)}</td><td class=\"num\">{_count(issues) if issues else '–'}</td></tr>"
        )
    return (
        '<section><h2>Summary</h2><table class="summary"><thead><tr><th>feature</th><th>kind</th>'
        '<th>method</th><th class="num">score</th><th>drifted</th><th class="num">data quality issues</th>'
        "</tr></thead><tbody>" + "".join(rows) + "</tbody></table></section>"
    )


def _feature_section(result: FeatureResult, window: WindowSnapshot, anchor: str, role: str) -> str:
    profile, current = result.profile, result.window
    name = "predictions" if role == "prediction" else profile.name
    labels, ticks, title_labels = _bin_labels(profile)
    reference_shares = _shares(profile.proportions)
    current_shares = _shares(current.counts)
    svg = _chart(name, role, profile, labels, ticks, title_labels, reference_shares, current_shares, current.counts)
    return (
        f'<section class="feature" id="{anchor}"><div class="head"><h3>{_e(name)}</h3>'
        f'<span class="kind">{_e(profile.kind)}</span>{_badge(result.drifted)}</div>'
        f'<div class="body"><div class="chart-wrap">{svg}</div><aside>'
        f"{_scores_table(result)}{_quality_table(current, window)}{_facts_table(profile, current, reference_shares, current_shares, labels)}"
        "</aside></div></section>"
    )


def _scores_table(result: FeatureResult) -> str:
    if not result.scores:
        return '<p class="muted">No values in the window: no scores.</p>'
    rows = []
    for method, default in THRESHOLDS.items():
        if method not in result.scores:
            continue
        score = result.scores[method]
        threshold = result.threshold if method == result.method else default
        crossed = _crossed(method, score, threshold)
        relation = ">" if METHODS[method].higher_is_drift else "<"
        cls = ' class="main"' if method == result.method else ""
        rows.append(
            f"<tr{cls}><td>{_e(METHODS[method].label)}</td><td class=\"num{' bad' if crossed else ''}\">{_fmt(score)}</td>"
            f'<td class="num muted">{relation} {_fmt(threshold)}</td></tr>'
        )
    return '<table class="mini"><caption>drift scores</caption>' + "".join(rows) + "</table>"


def _quality_table(current: FeatureWindow, window: WindowSnapshot) -> str:
    rows = []
    for kind in QUALITY_KINDS:
        value = current.quality.get(kind, 0.0)
        # Rates only when the counts cover the same rows as the window (built from data).
        rate = f" ({_pct(value / window.rows)})" if window.source != "live" and window.rows > 0 and value else ""
        cls = " bad" if value else ""
        rows.append(f'<tr><td>{_e(QUALITY_NAMES[kind])}</td><td class="num{cls}">{_count(value)}{rate}</td></tr>')
    caption = "data quality (since start)" if window.source == "live" else "data quality"
    return f'<table class="mini"><caption>{caption}</caption>' + "".join(rows) + "</table>"


def _facts_table(
    profile: FeatureProfile, current: FeatureWindow, reference_shares: np.ndarray, current_shares: np.ndarray,
    labels: list[str],
) -> str:
    rows = [f'<tr><td>rows in bins</td><td class="num">{_count(current.total)}</td></tr>']
    if isinstance(profile, NumericProfile) and profile.edges:
        current_mean = None
        if current.sums is not None and current.total > 0:
            current_mean = float(np.sum(current.sums) / current.total)
        rows.append(f'<tr><td>mean (reference)</td><td class="num">{_fmt(profile.mean)}</td></tr>')
        rows.append(f'<tr><td>mean (window)</td><td class="num">{_fmt(current_mean)}</td></tr>')
        rows.append(f'<tr><td>std (reference)</td><td class="num">{_fmt(profile.std)}</td></tr>')
        rows.append(f'<tr><td>range (reference)</td><td class="num">{_fmt(profile.min)} … {_fmt(profile.max)}</td></tr>')
    if current.total > 0 and len(labels) > 1:
        k = int(np.argmax(np.abs(current_shares - reference_shares)))
        change = current_shares[k] - reference_shares[k]
        rows.append(
            f'<tr><td>largest change</td><td class="num">{_e(labels[k])}: {"+" if change >= 0 else "−"}'
            f"{abs(100 * change):.1f} pts</td></tr>"
        )
    return '<table class="mini"><caption>summary</caption>' + "".join(rows) + "</table>"


def _footer(window: WindowSnapshot) -> str:
    unexpected = (
        f" Cells in columns the reference does not have: {_count(window.unexpected_columns)}."
        if window.unexpected_columns else ""
    )
    return (
        '<footer><p>Bars are the share of rows in each reference bin: numeric features use the '
        "reference's quantile bins plus an underflow and an overflow bin (shaded; empty in the "
        "reference), so bars are not drawn to the scale of the values; categorical features use the "
        "reference's most frequent categories plus \"other\". Missing values are not in any bin; they "
        "are counted under data quality. Scores and thresholds are described in docs/drift.md "
        f"(PSI &gt; 0.2 is the shipped alert rule).{unexpected}</p>"
        "<p>Generated by modeltel.</p></footer>"
    )


# --- charts -------------------------------------------------------------------------------


def _shares(values: Sequence[float]) -> np.ndarray:
    a = np.asarray(values, dtype=np.float64)
    total = a.sum()
    return a / total if total > 0 else np.zeros_like(a)


def _edge_text(edges: np.ndarray) -> list[str]:
    """Edge labels with the fewest significant digits (3 to 17) that keep distinct edges
    distinct: quantile edges of a narrow feature differ only in late digits."""
    distinct = np.unique(edges).size
    for digits in range(3, 18):
        labels = [f"{e:.{digits}g}" for e in edges]
        if len(set(labels)) >= distinct:
            return labels
    return labels


def _bin_labels(profile: FeatureProfile) -> tuple[list[str], list[str], list[str]]:
    """(short label per bin, tick labels, tooltip text per bin). Numeric ticks are the
    edges, drawn on the boundaries between bins; categorical ticks are the bins' names."""
    if isinstance(profile, CategoricalProfile):
        names = [*profile.categories, "(other)"]
        return names, names, names
    if not profile.edges:
        return ["(no values)"], [], ["the reference had no values"]
    text = _edge_text(np.asarray(profile.edges))
    n = len(text)
    labels = [f"< {text[0]}"]
    tips = [f"below the reference minimum {text[0]}"]
    for k in range(n - 1):
        close = "]" if k == n - 2 else ")"
        labels.append(f"[{text[k]}, {text[k + 1]}{close}")
        tips.append(f"[{text[k]}, {text[k + 1]}{close}")
    labels.append(f"> {text[-1]}")
    tips.append(f"above the reference maximum {text[-1]}")
    return labels, text, tips


def _nice_top(value: float) -> tuple[float, float]:
    """Axis top and tick step: the smallest 'nice' step giving at most 5 ticks."""
    value = max(value, 1e-9)
    for step in (0.01, 0.02, 0.025, 0.05, 0.1, 0.2, 0.25):
        if value / step <= 5:
            return step * math.ceil(value / step - 1e-9), step
    return 1.0, 0.25


def _short(text: str, limit: int = 14) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _chart(
    name: str,
    role: str,
    profile: FeatureProfile,
    labels: list[str],
    ticks: list[str],
    tips: list[str],
    reference: np.ndarray,
    current: np.ndarray,
    counts: Sequence[float],
) -> str:
    """Grouped bars, reference then window, one group per bin, as an inline SVG (no xmlns:
    HTML parsers put <svg> in the SVG namespace themselves, and the page holds no URL)."""
    n = len(labels)
    numeric = isinstance(profile, NumericProfile)
    left, right, top, bottom = 56.0, 14.0, 34.0, 92.0
    # Few bins: wide groups filling the chart column, and the SVG scales with the page.
    # Many categories: at least 24 px a group at full size, scrolled sideways if need be.
    group = max(24.0, 680.0 / n)
    plot_w = group * n
    width, height = left + plot_w + right, 300.0
    size = 'width="100%"' if plot_w <= 680.0 + 1e-6 else f'width="{width:.0f}" height="{height:.0f}"'
    plot_h = height - top - bottom
    y_top, step = _nice_top(float(max(reference.max(initial=0), current.max(initial=0))))
    base = top + plot_h

    def y(share: float) -> float:
        return base - plot_h * share / y_top

    out = [
        (
            f'<svg class="chart" data-role="{role}" {size} viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
            f'aria-label="{_e(f"share of rows per bin of {name}: reference and window")}">'
        )
    ]
    if numeric and profile.edges:
        # Shade underflow and overflow: outside the reference's range, empty in the reference.
        out.extend(
            f'<rect class="outside" x="{left + k * group:.1f}" y="{top}" width="{group:.1f}" height="{plot_h:.1f}"/>'
            for k in (0, n - 1)
        )
    tick = 0.0
    while tick <= y_top + 1e-9:
        out.append(f'<line class="grid" x1="{left}" x2="{left + plot_w:.1f}" y1="{y(tick):.1f}" y2="{y(tick):.1f}"/>')
        out.append(f'<text class="tick" x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">{round(100 * tick, 1):g}%</text>')
        tick += step
    bar = min(group * 0.36, 44.0)  # two bars per group; capped so two categories are not slabs
    total = float(np.sum(counts))
    for k in range(n):
        x0 = left + k * group + (group - 2 * bar) / 2
        tip = (
            f"{tips[k]}: reference {_pct(reference[k])}, window {_pct(current[k])} "
            f"({_count(float(counts[k]))} rows)" if total > 0 else f"{tips[k]}: reference {_pct(reference[k])}"
        )
        out.append(f"<g><title>{_e(tip)}</title>")
        out.append(f'<rect class="ref" x="{x0:.1f}" y="{y(reference[k]):.1f}" width="{bar:.1f}" height="{base - y(reference[k]):.1f}"/>')
        out.append(f'<rect class="cur" x="{x0 + bar:.1f}" y="{y(current[k]):.1f}" width="{bar:.1f}" height="{base - y(current[k]):.1f}"/>')
        out.append("</g>")
    out.append(f'<line class="axis" x1="{left}" x2="{left + plot_w:.1f}" y1="{base:.1f}" y2="{base:.1f}"/>')
    # Tick labels, rotated so long edges and category names do not collide.
    if numeric:
        positions = [left + (k + 1) * group for k in range(len(ticks))]
    else:
        positions = [left + (k + 0.5) * group for k in range(len(ticks))]
    for x, text in zip(positions, ticks):
        out.append(f'<line class="axis" x1="{x:.1f}" x2="{x:.1f}" y1="{base:.1f}" y2="{base + 4:.1f}"/>')
        out.append(
            f'<text class="tick" x="{x:.1f}" y="{base + 14:.1f}" text-anchor="end" '
            f'transform="rotate(-40 {x:.1f} {base + 14:.1f})"><title>{_e(text)}</title>{_e(_short(text))}</text>'
        )
    x_title = "bin edges (reference quantiles)" if numeric else "category"
    out.append(f'<text class="axis-title" x="{left + plot_w / 2:.1f}" y="{height - 6:.0f}" text-anchor="middle">{x_title}</text>')
    out.append(
        f'<text class="axis-title" x="14" y="{top + plot_h / 2:.1f}" text-anchor="middle" '
        f'transform="rotate(-90 14 {top + plot_h / 2:.1f})">share of rows</text>'
    )
    if total <= 0:
        message = "the reference had no values: not tracked" if numeric and not profile.edges else "no values in the window"
        out.append(f'<text class="empty" x="{left + plot_w / 2:.1f}" y="{top + plot_h / 2:.1f}" text-anchor="middle">{message}</text>')
    # Legend top left: on a wide, scrolled chart of many categories it stays in view.
    legend_x = left
    out.append(f'<rect class="ref" x="{legend_x:.1f}" y="10" width="12" height="12" rx="2"/>')
    out.append(f'<text class="legend" x="{legend_x + 17:.1f}" y="20">reference</text>')
    out.append(f'<rect class="cur" x="{legend_x + 90:.1f}" y="10" width="12" height="12" rx="2"/>')
    out.append(f'<text class="legend" x="{legend_x + 107:.1f}" y="20">window</text>')
    out.append("</svg>")
    return "".join(out)


_CSS = """
:root { --ink: #0f172a; --muted: #64748b; --line: #e2e8f0; --ref: #94a3b8; --cur: #2563eb;
        --bad: #b91c1c; --bad-bg: #fee2e2; --good: #15803d; --good-bg: #dcfce7; }
* { box-sizing: border-box; }
body { margin: 0; background: #f8fafc; color: var(--ink);
       font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 28px 24px 40px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 28px 0 10px; }
h3 { font-size: 16px; margin: 0; word-break: break-all; }
.sub, .muted, .note { color: var(--muted); }
.note { font-size: 13px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(180px, 1fr)); gap: 12px; margin-top: 18px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 12px 14px; }
.card .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.card .value { font-size: 20px; font-weight: 600; margin-top: 2px; }
.card.bad .value { color: var(--bad); }
.card.good .value { color: var(--good); }
table { border-collapse: collapse; }
table.summary { width: 100%; background: #fff; border: 1px solid var(--line); border-radius: 10px; overflow: hidden; }
table.summary th, table.summary td { padding: 7px 12px; border-bottom: 1px solid var(--line); text-align: left; }
table.summary th { background: #f1f5f9; font-weight: 600; font-size: 12px; text-transform: uppercase;
                   letter-spacing: .04em; color: #475569; }
table.summary tr:last-child td { border-bottom: 0; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
a { color: var(--cur); text-decoration: none; }
a:hover { text-decoration: underline; }
.badge { display: inline-block; padding: 1px 9px; border-radius: 999px; font-size: 12px; font-weight: 600; }
.badge.bad { background: var(--bad-bg); color: var(--bad); }
.badge.good { background: var(--good-bg); color: var(--good); }
.badge.na { background: #f1f5f9; color: var(--muted); }
.feature { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 14px 16px; margin: 14px 0; }
.feature .head { display: flex; align-items: center; gap: 10px; margin-bottom: 8px; }
.kind { color: var(--muted); font-size: 12px; border: 1px solid var(--line); border-radius: 6px; padding: 0 6px; }
.body { display: flex; gap: 18px; align-items: flex-start; }
.chart-wrap { flex: 1 1 auto; min-width: 0; overflow-x: auto; }
aside { flex: 0 0 290px; }
table.mini { width: 100%; margin-bottom: 10px; font-size: 13px; }
table.mini caption { text-align: left; font-size: 11px; text-transform: uppercase; letter-spacing: .05em;
                     color: var(--muted); padding-bottom: 2px; }
table.mini td { padding: 2px 0; border-bottom: 1px solid #f1f5f9; }
table.mini td:first-child { white-space: nowrap; padding-right: 12px; }
table.mini tr.main td { font-weight: 600; }
.bad { color: var(--bad); }
svg.chart { display: block; }
svg .ref { fill: var(--ref); }
svg .cur { fill: var(--cur); }
svg .outside { fill: #fef2f2; }
svg .grid { stroke: #eef2f7; stroke-width: 1; }
svg .axis { stroke: #94a3b8; stroke-width: 1; }
svg text { font-family: inherit; }
svg .tick { fill: #475569; font-size: 11px; }
svg .axis-title { fill: var(--muted); font-size: 12px; }
svg .legend { fill: #334155; font-size: 12px; }
svg .empty { fill: var(--muted); font-size: 13px; }
svg g:hover rect { opacity: .8; }
footer { color: var(--muted); font-size: 12px; margin-top: 28px; border-top: 1px solid var(--line); padding-top: 12px; }
@media (max-width: 820px) { .body { flex-direction: column; } aside { flex-basis: auto; width: 100%; } }
"""
