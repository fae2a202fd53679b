"""A static drift report: one self-contained HTML file comparing a window with its reference.

For people who would rather look than read metrics: a summary table (feature, method, score,
drifted or not) and, per feature, a chart of the reference's and the window's share of rows in
each reference bin, with every drift score and the data quality counts beside it. The page is
plain HTML with inline CSS and inline SVG: no script, no font, no URL, so it opens anywhere
(an e-mail attachment, a CI artefact, an air-gapped machine) and renders the same.
The markup and CSS are package-data templates (``templates/``, rendered by ``templating`` with
every value escaped); the chart's SVG is drawn by ``chart``.

Scores are those of ``modeltel.drift.statistics`` on the window's counts, computed as the
live ``ml.drift.score`` metrics are; "drifted" uses the thresholds of docs/drift.md (PSI 0.2,
the shipped alert rule's threshold).
"""

from __future__ import annotations

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
from modeltel.drift.reference import FeatureProfile, NumericProfile, Reference
from modeltel.drift.snapshot import WindowSnapshot, live_window, read_table
from modeltel.errors import ModeltelTypeError, ModeltelValueError, WindowError
from modeltel.report import formatting as fmt
from modeltel.report.chart import _bin_labels, _shares, bar_chart
from modeltel.report.templating import Markup, join, render

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

    >>> round(feature_scores(ref.feature("amount"), window.feature("amount"))["psi"], 3)
    0.383
    """
    kind = NUMERIC if isinstance(profile, NumericProfile) else CATEGORICAL
    sums = np.asarray(window.sums, dtype=np.float64) if window.sums is not None else None
    return scores(
        profile,
        kind,
        np.asarray(profile.proportions, dtype=np.float64),
        np.asarray(window.counts, dtype=np.float64),
        sums,
        NAMES,
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
            reference.predictions,
            window.predictions,
            feature_scores(reference.predictions, window.predictions),
            method,
            threshold,
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

    >>> html_text = render_report(reference, window)
    >>> html_text.startswith("<!DOCTYPE html>")
    True
    """
    results, prediction = compare(reference, window, method=method, threshold=threshold)
    return str(_page(reference, window, results, prediction, title))


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

    >>> fraud = modeltel.register(clf, name="fraud", reference=reference)
    >>> _ = fraud.predict_proba(X[:100])
    >>> modeltel.write_report("drift.html", model="fraud").name
    'drift.html'
    >>> reference.save("fraud.json")
    >>> live_df.to_csv("today.csv", index=False)
    >>> modeltel.write_report("drift.html", reference="fraud.json", window="today.csv").name
    'drift.html'
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

    >>> fraud = modeltel.register(clf, name="fraud", reference=reference)
    >>> _ = fraud.predict_proba(X[:100])
    >>> modeltel.save_window("fraud", "fraud-window.json").rows
    100.0
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

# The main method's row is bold; the whole attribute is markup so the other rows carry no empty class.
_MAIN_ROW = Markup(' class="main"')


def _page(
    reference: Reference,
    window: WindowSnapshot,
    results: list[FeatureResult],
    prediction: FeatureResult | None,
    title: str | None,
) -> Markup:
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
        ("window rows", fmt.count(window.rows), ""),
        ("reference rows", fmt.count(reference.rows), ""),
        ("drifted when", f"{METHODS[method].label} {relation} {fmt.number(threshold)}", ""),
    ]
    if prediction is not None and prediction.drifted is not None:
        cards.insert(
            1, ("predictions", "drifted" if prediction.drifted else "stable", "bad" if prediction.drifted else "good")
        )
    predictions = ""
    if prediction is not None:
        predictions = render(
            "predictions.html", section=_feature_section(prediction, window, "predictions-chart", role="prediction")
        )
    # page.html carries an empty inline icon: without it a browser would ask the server for /favicon.ico.
    return render(
        "page.html",
        title=title,
        css=render("report.css"),
        reference=ref_label,
        reference_rows=fmt.count(reference.rows),
        window=window_label,
        window_rows=fmt.count(window.rows),
        created=f", {window.created}" if window.created else "",
        cards=join((render("card.html", label=k, value=v, state=cls) for k, v, cls in cards), "\n"),
        summary=_summary_table(results, prediction),
        note=render("live_note.html") if window.source == "live" else "",
        predictions=predictions,
        features=join(
            (_feature_section(r, window, f"feature-{i}", role="feature") for i, r in enumerate(results)), "\n"
        ),
        footer=_footer(window),
    )


def _badge(drifted: bool | None) -> Markup:
    if drifted is None:
        return render("badge.html", state="na", text="n/a")
    return (
        render("badge.html", state="bad", text="drifted") if drifted else render("badge.html", state="good", text="no")
    )


def _summary_table(results: list[FeatureResult], prediction: FeatureResult | None) -> Markup:
    rows = []
    entries = [(r, f"feature-{i}") for i, r in enumerate(results)]
    if prediction is not None:
        entries.insert(0, (prediction, "predictions-chart"))
    for r, anchor in entries:
        issues = sum(r.window.quality.values())
        rows.append(
            render(
                "summary_row.html",
                anchor=anchor,
                name="predictions" if anchor == "predictions-chart" else r.profile.name,
                kind=r.profile.kind,
                method=METHODS[r.method].label,
                score=fmt.number(r.score),
                badge=_badge(r.drifted),
                issues=fmt.count(issues) if issues else "–",
            )
        )
    return render("summary.html", rows=join(rows, "\n"))


def _feature_section(result: FeatureResult, window: WindowSnapshot, anchor: str, role: str) -> Markup:
    profile, current = result.profile, result.window
    name = "predictions" if role == "prediction" else profile.name
    labels, _, _ = _bin_labels(profile)
    return render(
        "feature.html",
        anchor=anchor,
        name=name,
        kind=profile.kind,
        badge=_badge(result.drifted),
        chart=bar_chart(name, role, profile, current.counts),
        scores=_scores_table(result),
        quality=_quality_table(current, window),
        facts=_facts_table(profile, current, _shares(profile.proportions), _shares(current.counts), labels),
    )


def _scores_table(result: FeatureResult) -> Markup:
    if not result.scores:
        return render("no_scores.html")
    rows = []
    for method, default in THRESHOLDS.items():
        if method not in result.scores:
            continue
        score = result.scores[method]
        threshold = result.threshold if method == result.method else default
        relation = ">" if METHODS[method].higher_is_drift else "<"
        rows.append(
            render(
                "score_row.html",
                main=_MAIN_ROW if method == result.method else "",
                method=METHODS[method].label,
                state=" bad" if _crossed(method, score, threshold) else "",
                score=fmt.number(score),
                threshold=f"{relation} {fmt.number(threshold)}",
            )
        )
    return render("mini_table.html", caption="drift scores", rows=join(rows))


def _quality_table(current: FeatureWindow, window: WindowSnapshot) -> Markup:
    rows = []
    for kind in QUALITY_KINDS:
        value = current.quality.get(kind, 0.0)
        # Rates only when the counts cover the same rows as the window (built from data).
        rate = f" ({fmt.percent(value / window.rows)})" if window.source != "live" and window.rows > 0 and value else ""
        rows.append(
            render(
                "mini_row.html",
                label=QUALITY_NAMES[kind],
                state=" bad" if value else "",
                value=f"{fmt.count(value)}{rate}",
            )
        )
    caption = "data quality (since start)" if window.source == "live" else "data quality"
    return render("mini_table.html", caption=caption, rows=join(rows))


def _facts_table(
    profile: FeatureProfile,
    current: FeatureWindow,
    reference_shares: np.ndarray,
    current_shares: np.ndarray,
    labels: list[str],
) -> Markup:
    facts = [("rows in bins", fmt.count(current.total))]
    if isinstance(profile, NumericProfile) and profile.edges:
        current_mean = None
        if current.sums is not None and current.total > 0:
            current_mean = float(np.sum(current.sums) / current.total)
        facts += [
            ("mean (reference)", fmt.number(profile.mean)),
            ("mean (window)", fmt.number(current_mean)),
            ("std (reference)", fmt.number(profile.std)),
            ("range (reference)", f"{fmt.number(profile.min)} … {fmt.number(profile.max)}"),
        ]
    if current.total > 0 and len(labels) > 1:
        k = int(np.argmax(np.abs(current_shares - reference_shares)))
        change = current_shares[k] - reference_shares[k]
        facts.append(("largest change", f"{labels[k]}: {'+' if change >= 0 else '−'}{abs(100 * change):.1f} pts"))
    rows = join(render("mini_row.html", label=label, state="", value=value) for label, value in facts)
    return render("mini_table.html", caption="summary", rows=rows)


def _footer(window: WindowSnapshot) -> Markup:
    unexpected = (
        f" Cells in columns the reference does not have: {fmt.count(window.unexpected_columns)}."
        if window.unexpected_columns
        else ""
    )
    return render("footer.html", unexpected=unexpected)
