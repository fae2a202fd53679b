"""The tracer and instruments, acquired once.

Instruments come from the global API providers unless an instrumentor is handed explicit
ones. The API's proxy tracer and meter forward to whatever SDK provider is installed later,
so acquiring them at import time is safe even before ``instrument()`` configures providers.
What the collection-time instruments report is asked of a ``collect`` function handed in
(``_core/collection.py``): this module knows no feature.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.metrics import CallbackOptions, Observation

from modeltel import _forksafe as forksafe
from modeltel import semconv
from modeltel._version import __version__

# (instrument name, telemetry) -> (value, attributes) points, at collection time.
Collect = Callable[[str, "Telemetry"], Iterable[tuple[float, dict[str, Any]]]]

# (gauge? else counter, name, unit, description) of the instruments computed at collection time.
COLLECTED: tuple[tuple[bool, str, str, str], ...] = (
    (False, semconv.ML_PREDICTION_ROWS, "{row}", "Rows (samples) passed to prediction calls."),
    (True, semconv.ML_DRIFT_SCORE, "1", "Drift of one input feature against the reference, per method."),
    (
        True,
        semconv.ML_PREDICTION_DRIFT_SCORE,
        "1",
        "Drift of the model's predictions against the reference, per method.",
    ),
    (
        True,
        semconv.ML_DRIFT_MULTIVARIATE_SCORE,
        "1",
        "Mean PCA reconstruction error in the window over the reference's (1 = as in reference).",
    ),
    (True, semconv.ML_DRIFT_WINDOW_ROWS, "{row}", "Rows in the current drift window."),
    (False, semconv.ML_DATA_QUALITY_ISSUES, "{value}", "Input values with a data quality issue, per feature and kind."),
    (
        False,
        semconv.ML_INPUT_DISTRIBUTION,
        "{row}",
        "Opt-in: rows per feature and reference bin, for fleet-wide drift.",
    ),
    (
        True,
        semconv.ML_REFERENCE_DISTRIBUTION,
        "1",
        "Opt-in: the reference's share of rows per feature and bin (pairs with ml.input.distribution).",
    ),
    (True, semconv.ML_PERFORMANCE, "1", "Model quality over the last labelled predictions (or estimated)."),
)


def _nothing(name: str, telemetry: Telemetry) -> Iterable[tuple[float, dict[str, Any]]]:
    return ()


class Telemetry:
    """A tracer plus the instruments every prediction records into."""

    def __init__(
        self,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
        collect: Collect = _nothing,
    ) -> None:
        self.tracer = trace.get_tracer(semconv.TRACER_NAME, __version__, tracer_provider=tracer_provider)
        meter = metrics.get_meter(semconv.METER_NAME, __version__, meter_provider=meter_provider)
        self.collect = collect
        self.duration = meter.create_histogram(
            semconv.ML_PREDICTION_DURATION,
            unit="s",
            description="Wall-clock duration of a prediction call.",
            explicit_bucket_boundaries_advisory=list(semconv.DURATION_BUCKETS_S),
        )
        self.internal_errors = meter.create_counter(
            semconv.MODELTEL_INTERNAL_ERRORS,
            unit="{error}",
            description="Failures inside modeltel; they never reach the caller.",
        )
        self.usage_warnings = meter.create_counter(
            semconv.MODELTEL_USAGE_WARNINGS,
            unit="{call}",
            description="Calls whose input disagreed with what the caller told modeltel.",
        )
        for gauge, name, unit, description in COLLECTED:
            create = meter.create_observable_gauge if gauge else meter.create_observable_counter
            create(name, callbacks=[self._callback(name)], unit=unit, description=description)
        self.labels = meter.create_counter(
            semconv.ML_LABELS, unit="{label}", description="Labels given to record_labels, by outcome."
        )
        self.label_delay = meter.create_histogram(
            semconv.ML_LABEL_DELAY,
            unit="s",
            description="Time from a prediction to its label.",
            explicit_bucket_boundaries_advisory=list(semconv.LABEL_DELAY_BUCKETS_S),
        )
        self.alerts = meter.create_counter(
            semconv.ML_ALERTS, unit="{alert}", description="In-process threshold crossings and recoveries."
        )

    def _callback(self, name: str) -> Callable[[CallbackOptions], Iterable[Observation]]:
        def observe(options: CallbackOptions) -> Iterable[Observation]:
            for value, attributes in self.collect(name, self):
                yield Observation(value, attributes)

        return observe


class Tally:
    """A monotonically increasing count, safe to add to from many threads. Rows are tallied in
    process and reported when metrics are collected: a plain integer add per call instead of
    an SDK measurement on the hot path."""

    __slots__ = ("__weakref__", "_lock", "attributes", "value")

    def __init__(self, attributes: dict[str, Any]) -> None:
        self.attributes = dict(attributes)
        self.value = 0
        self._lock = threading.Lock()
        forksafe.register(self)

    def add(self, amount: int) -> None:
        with self._lock:
            self.value += amount


_default: Telemetry | None = None
_default_lock = threading.Lock()
forksafe.register(sys.modules[__name__], "_default_lock")
_collect: Collect = _nothing


def use_collect(collect: Collect) -> None:
    """Hand in what the collection-time instruments of every Telemetry made from now report."""
    global _collect
    _collect = collect


def _deferred_collect(name: str, telemetry: Telemetry) -> Iterable[tuple[float, dict[str, Any]]]:
    return _collect(name, telemetry)


def default_telemetry() -> Telemetry:
    """The process-wide Telemetry bound to the global providers (created on first use)."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Telemetry(collect=_deferred_collect)
    return _default


def telemetry_for(instrument_kwargs: dict[str, Any]) -> Telemetry:
    """Telemetry for an instrumentor: its explicit ``tracer_provider``/``meter_provider``
    arguments (the BaseInstrumentor convention) if given, else the global providers."""
    tracer_provider = instrument_kwargs.get("tracer_provider")
    meter_provider = instrument_kwargs.get("meter_provider")
    if tracer_provider is None and meter_provider is None:
        return default_telemetry()
    return Telemetry(tracer_provider, meter_provider, collect=_deferred_collect)
