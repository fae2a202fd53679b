"""The report's per-feature bar chart: the reference's and the window's share of rows in each
reference bin, drawn as inline SVG from geometry computed here, with every name, category and
tooltip escaped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from modeltel.drift.reference import CategoricalProfile, FeatureProfile, NumericProfile
from modeltel.report.formatting import count, percent
from modeltel.report.templating import Markup, escape

__all__ = ["bar_chart"]


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


def bar_chart(name: str, role: str, profile: FeatureProfile, counts: Sequence[float]) -> Markup:
    """Grouped bars, reference then window, one group per bin of ``profile``, as an inline SVG
    (no xmlns: HTML parsers put <svg> in the SVG namespace themselves, and the page holds no
    URL). ``role`` is "feature" or "prediction"; ``counts`` are the window's rows per bin.

    >>> svg = bar_chart("amount", "feature", ref.feature("amount"), window.feature("amount").counts)
    """
    labels, ticks, tips = _bin_labels(profile)
    reference, current = _shares(profile.proportions), _shares(counts)
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
            f'<svg class="chart" data-role="{escape(role)}" {size} viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
            f'aria-label="{escape(f"share of rows per bin of {name}: reference and window")}">'
        )
    ]
    if isinstance(profile, NumericProfile) and profile.edges:
        # Shade underflow and overflow: outside the reference's range, empty in the reference.
        out.extend(
            f'<rect class="outside" x="{left + k * group:.1f}" y="{top}" width="{group:.1f}" height="{plot_h:.1f}"/>'
            for k in (0, n - 1)
        )
    tick = 0.0
    while tick <= y_top + 1e-9:
        out.append(f'<line class="grid" x1="{left}" x2="{left + plot_w:.1f}" y1="{y(tick):.1f}" y2="{y(tick):.1f}"/>')
        out.append(
            f'<text class="tick" x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">{round(100 * tick, 1):g}%</text>'
        )
        tick += step
    bar = min(group * 0.36, 44.0)  # two bars per group; capped so two categories are not slabs
    total = float(np.sum(counts))
    for k in range(n):
        x0 = left + k * group + (group - 2 * bar) / 2
        tip = (
            f"{tips[k]}: reference {percent(reference[k])}, window {percent(current[k])} "
            f"({count(float(counts[k]))} rows)"
            if total > 0
            else f"{tips[k]}: reference {percent(reference[k])}"
        )
        out.append(f"<g><title>{escape(tip)}</title>")
        out.append(
            f'<rect class="ref" x="{x0:.1f}" y="{y(reference[k]):.1f}" width="{bar:.1f}" height="{base - y(reference[k]):.1f}"/>'
        )
        out.append(
            f'<rect class="cur" x="{x0 + bar:.1f}" y="{y(current[k]):.1f}" width="{bar:.1f}" height="{base - y(current[k]):.1f}"/>'
        )
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
            f'transform="rotate(-40 {x:.1f} {base + 14:.1f})"><title>{escape(text)}</title>{escape(_short(text))}</text>'
        )
    x_title = "bin edges (reference quantiles)" if numeric else "category"
    out.append(
        f'<text class="axis-title" x="{left + plot_w / 2:.1f}" y="{height - 6:.0f}" text-anchor="middle">{x_title}</text>'
    )
    out.append(
        f'<text class="axis-title" x="14" y="{top + plot_h / 2:.1f}" text-anchor="middle" '
        f'transform="rotate(-90 14 {top + plot_h / 2:.1f})">share of rows</text>'
    )
    if total <= 0:
        message = (
            "the reference had no values: not tracked"
            if isinstance(profile, NumericProfile) and not profile.edges
            else "no values in the window"
        )
        out.append(
            f'<text class="empty" x="{left + plot_w / 2:.1f}" y="{top + plot_h / 2:.1f}" text-anchor="middle">{message}</text>'
        )
    # Legend top left: on a wide, scrolled chart of many categories it stays in view.
    legend_x = left
    out.append(f'<rect class="ref" x="{legend_x:.1f}" y="10" width="12" height="12" rx="2"/>')
    out.append(f'<text class="legend" x="{legend_x + 17:.1f}" y="20">reference</text>')
    out.append(f'<rect class="cur" x="{legend_x + 90:.1f}" y="10" width="12" height="12" rx="2"/>')
    out.append(f'<text class="legend" x="{legend_x + 107:.1f}" y="20">window</text>')
    out.append("</svg>")
    return Markup("".join(out))
