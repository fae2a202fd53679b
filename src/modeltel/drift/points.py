"""What one model's drift monitor exports when metrics are collected: (value, attributes) pairs
per instrument. Statistics are computed here, from the windows' counts, never per call."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from modeltel import semconv
from modeltel.drift.layout import QUALITY_KINDS
from modeltel.drift.monitor import DriftMonitor

Point = tuple[float, dict[str, Any]]

# Models with more features export ml.data_quality.issues only for counts above zero.
QUALITY_ZERO_SERIES_MAX_FEATURES = 100

# ml.feature.name of data quality issues in columns the reference does not have.
UNEXPECTED_FEATURE = "_unexpected"


def drift_scores(monitor: DriftMonitor) -> Iterator[Point]:
    base = monitor.attributes
    for feature, method, score in monitor.feature_scores():
        yield score, {**base, semconv.ML_FEATURE_NAME: feature, semconv.ML_DRIFT_METHOD: method}


def prediction_drift_scores(monitor: DriftMonitor) -> Iterator[Point]:
    for method, score in monitor.prediction_scores():
        yield score, {**monitor.attributes, semconv.ML_DRIFT_METHOD: method}


def multivariate_score(monitor: DriftMonitor) -> Iterator[Point]:
    score = monitor.multivariate_score()
    if score is not None:
        yield score, monitor.attributes


def window_rows(monitor: DriftMonitor) -> Iterator[Point]:
    yield monitor.window_rows(), monitor.attributes


def quality_issues(monitor: DriftMonitor) -> Iterator[Point]:
    quality = monitor.inputs.quality  # a copy, read once
    names = monitor.inputs.layout.names
    # Zero series for every (feature, kind) give `increase()` a starting point, but a
    # 500-feature model alone would be 2,004 series, past the SDK's default cardinality
    # limit (2,000, then everything overflows): wider models export only counts > 0.
    zeros = len(names) <= QUALITY_ZERO_SERIES_MAX_FEATURES
    for position, feature in enumerate([*names, UNEXPECTED_FEATURE]):
        for k, kind in enumerate(QUALITY_KINDS):
            if not zeros and quality[position, k] == 0:
                continue
            yield (
                float(quality[position, k]),
                {**monitor.attributes, semconv.ML_FEATURE_NAME: feature, semconv.ML_DATA_QUALITY_KIND: kind},
            )


def _per_bin(monitor: DriftMonitor, table: Callable[[DriftMonitor], Any]) -> Iterator[Point]:
    """One point per (feature, bin) of the opt-in distribution export; ``table(monitor)``
    gives the values, indexed [feature][bin], read once."""
    if not monitor.settings.export_distribution:
        return
    layout = monitor.inputs.layout
    deny = monitor.settings.features_deny
    values = table(monitor)
    for position in range(min(len(layout.names), monitor.settings.distribution_max_features)):
        if layout.names[position] in deny:
            continue  # per-bin counts describe the values themselves
        for b in range(len(layout.profiles[position].proportions)):
            yield (
                float(values[position][b]),
                {**monitor.attributes, semconv.ML_FEATURE_NAME: layout.names[position], semconv.ML_BIN: str(b)},
            )


def distribution(monitor: DriftMonitor) -> Iterator[Point]:
    # One read (a copy): each read of the property bins the window's buffered rows under its lock.
    return _per_bin(monitor, lambda m: m.inputs.distribution)


def reference_distribution(monitor: DriftMonitor) -> Iterator[Point]:
    return _per_bin(monitor, lambda m: [profile.proportions for profile in m.inputs.layout.profiles])


# Instrument name -> (site its failures are counted under, points of one monitor).
POINTS: dict[str, tuple[str, Callable[[DriftMonitor], Iterator[Point]]]] = {
    semconv.ML_DRIFT_SCORE: ("drift_scores", drift_scores),
    semconv.ML_PREDICTION_DRIFT_SCORE: ("prediction_drift", prediction_drift_scores),
    semconv.ML_DRIFT_MULTIVARIATE_SCORE: ("multivariate", multivariate_score),
    semconv.ML_DRIFT_WINDOW_ROWS: ("drift_window", window_rows),
    semconv.ML_DATA_QUALITY_ISSUES: ("data_quality", quality_issues),
    semconv.ML_INPUT_DISTRIBUTION: ("distribution", distribution),
    semconv.ML_REFERENCE_DISTRIBUTION: ("distribution", reference_distribution),
}
