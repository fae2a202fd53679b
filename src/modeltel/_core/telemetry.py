"""The tracer and instruments, acquired once, and the internal-error counter.

Instruments come from the global API providers unless an instrumentor is handed explicit
ones. The API's proxy tracer and meter forward to whatever SDK provider is installed later,
so acquiring them at import time is safe even before ``instrument()`` configures providers.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.metrics import CallbackOptions, Observation

from modeltel import _forksafe as forksafe
from modeltel import semconv
from modeltel._sdk.bound_histogram import BoundHistogram
from modeltel._version import __version__

_logger = logging.getLogger("modeltel")


class Telemetry:
    """A tracer plus the instruments every prediction records into."""

    def __init__(
        self,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
    ) -> None:
        self.tracer = trace.get_tracer(
            semconv.TRACER_NAME, __version__, tracer_provider=tracer_provider
        )
        meter = metrics.get_meter(semconv.METER_NAME, __version__, meter_provider=meter_provider)
        self.duration = meter.create_histogram(
            semconv.ML_PREDICTION_DURATION,
            unit="s",
            description="Wall-clock duration of a prediction call.",
            explicit_bucket_boundaries_advisory=list(semconv.DURATION_BUCKETS_S),
        )
        self._durations: dict[tuple[Any, ...], BoundHistogram] = {}
        # Rows are tallied in process and reported when metrics are collected: a plain
        # integer add per call instead of an SDK measurement (~7 us) on the hot path.
        self._tallies: dict[tuple[Any, ...], Tally] = {}
        self._tallies_lock = threading.Lock()
        forksafe.register(self, "_tallies_lock")
        self.rows = meter.create_observable_counter(
            semconv.ML_PREDICTION_ROWS,
            callbacks=[self._observe_rows],
            unit="{row}",
            description="Rows (samples) passed to prediction calls.",
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


        self._collected_instruments(meter)
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

    def _collected_instruments(self, meter: metrics.Meter) -> None:
        # Computed at collection time from the drift and label windows.
        for gauge, name, callback, unit, description in _COLLECTED:
            create = meter.create_observable_gauge if gauge else meter.create_observable_counter
            create(name, callbacks=[callback], unit=unit, description=description)

    def tally(self, key: tuple[Any, ...], attributes: dict[str, Any]) -> Tally:
        """The row tally for one metric attribute set (``key`` identifies it)."""
        found = self._tallies.get(key)
        if found is None:
            with self._tallies_lock:
                found = self._tallies.setdefault(key, Tally(attributes))
        return found

    def record_duration(self, key: tuple[Any, ...], attributes: dict[str, Any], seconds: float) -> None:
        """Record a prediction's duration for one metric attribute set (``key`` identifies it)."""
        bound = self._durations.get(key)
        if bound is None:
            with self._tallies_lock:
                bound = self._durations.setdefault(key, BoundHistogram(self.duration, attributes))
        bound.record(seconds)

    def _observe_rows(self, options: CallbackOptions) -> Iterable[Observation]:
        for tally in list(self._tallies.values()):
            yield Observation(tally.value, tally.attributes)


def _performance(options: CallbackOptions) -> Iterable[Observation]:
    from modeltel.labels.join import performance_observations

    for value, attrs in _safe(performance_observations, "performance"):
        yield Observation(value, attrs)


# Models with more features export ml.data_quality.issues only for counts above zero.
QUALITY_ZERO_SERIES_MAX_FEATURES = 100

# ml.feature.name of data quality issues in columns the reference does not have.
UNEXPECTED_FEATURE = "_unexpected"


def _drift_scores(options: CallbackOptions) -> Iterable[Observation]:
    from modeltel.drift.monitor import monitors

    for monitor in monitors():
        base = monitor.attributes
        for feature, method, score in _safe(monitor.feature_scores, "drift_scores"):
            yield Observation(score, {**base, semconv.ML_FEATURE_NAME: feature, semconv.ML_DRIFT_METHOD: method})


def _prediction_drift_scores(options: CallbackOptions) -> Iterable[Observation]:
    from modeltel.drift.monitor import monitors

    for monitor in monitors():
        for method, score in _safe(monitor.prediction_scores, "prediction_drift"):
            yield Observation(score, {**monitor.attributes, semconv.ML_DRIFT_METHOD: method})


def _multivariate_scores(options: CallbackOptions) -> Iterable[Observation]:
    from modeltel.drift.monitor import monitors

    for monitor in monitors():
        score = next(iter(_safe(lambda m=monitor: [m.multivariate_score()], "multivariate")), None)
        if score is not None:
            yield Observation(score, monitor.attributes)


def _window_rows(options: CallbackOptions) -> Iterable[Observation]:
    from modeltel.drift.monitor import monitors

    for monitor in monitors():
        yield Observation(monitor.window_rows(), monitor.attributes)


def _quality_issues(options: CallbackOptions) -> Iterable[Observation]:
    from modeltel.drift.monitor import monitors
    from modeltel.drift.window import QUALITY_KINDS

    for monitor in monitors():
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
                yield Observation(
                    float(quality[position, k]),
                    {**monitor.attributes, semconv.ML_FEATURE_NAME: feature, semconv.ML_DATA_QUALITY_KIND: kind},
                )


def _per_bin(table: Callable[[Any], Any]) -> Iterable[Observation]:
    """One observation per (model, feature, bin) of the opt-in distribution export;
    ``table(monitor)`` gives the values, indexed [feature][bin], read once per monitor."""
    from modeltel.drift.monitor import monitors

    for monitor in monitors():
        if not monitor.settings.export_distribution:
            continue
        layout = monitor.inputs.layout
        deny = monitor.settings.features_deny
        values = table(monitor)
        for position in range(min(len(layout.names), monitor.settings.distribution_max_features)):
            if layout.names[position] in deny:
                continue  # per-bin counts describe the values themselves
            for b in range(len(layout.profiles[position].proportions)):
                yield Observation(
                    float(values[position][b]),
                    {**monitor.attributes, semconv.ML_FEATURE_NAME: layout.names[position], semconv.ML_BIN: str(b)},
                )


def _distribution(options: CallbackOptions) -> Iterable[Observation]:
    # One read (a copy): each read of the property bins the window's buffered rows under its lock.
    return _per_bin(lambda monitor: monitor.inputs.distribution)


def _reference_distribution(options: CallbackOptions) -> Iterable[Observation]:
    return _per_bin(lambda monitor: [profile.proportions for profile in monitor.inputs.layout.profiles])


def _safe(produce: Any, site: str) -> list[Any]:
    """Run a collection-time computation; a failure is reported, not raised into the SDK."""
    try:
        return list(produce())
    except Exception as exc:  # noqa: BLE001
        report_internal_error(site, exc)
        return []


# (gauge? else counter, name, callback, unit, description) of the collection-time instruments.
_COLLECTED = (
    (True, semconv.ML_DRIFT_SCORE, _drift_scores, "1",
     "Drift of one input feature against the reference, per method."),
    (True, semconv.ML_PREDICTION_DRIFT_SCORE, _prediction_drift_scores, "1",
     "Drift of the model's predictions against the reference, per method."),
    (True, semconv.ML_DRIFT_MULTIVARIATE_SCORE, _multivariate_scores, "1",
     "Mean PCA reconstruction error in the window over the reference's (1 = as in reference)."),
    (True, semconv.ML_DRIFT_WINDOW_ROWS, _window_rows, "{row}", "Rows in the current drift window."),
    (False, semconv.ML_DATA_QUALITY_ISSUES, _quality_issues, "{value}",
     "Input values with a data quality issue, per feature and kind."),
    (False, semconv.ML_INPUT_DISTRIBUTION, _distribution, "{row}",
     "Opt-in: rows per feature and reference bin, for fleet-wide drift."),
    (True, semconv.ML_REFERENCE_DISTRIBUTION, _reference_distribution, "1",
     "Opt-in: the reference's share of rows per feature and bin (pairs with ml.input.distribution)."),
    (True, semconv.ML_PERFORMANCE, _performance, "1",
     "Model quality over the last labelled predictions (or estimated)."),
)


class Tally:
    """A monotonically increasing count, safe to add to from many threads."""

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


def default_telemetry() -> Telemetry:
    """The process-wide Telemetry bound to the global providers (created on first use)."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Telemetry()
    return _default


def telemetry_for(instrument_kwargs: dict[str, Any]) -> Telemetry:
    """Telemetry for an instrumentor: its explicit ``tracer_provider``/``meter_provider``
    arguments (the BaseInstrumentor convention) if given, else the global providers."""
    tracer_provider = instrument_kwargs.get("tracer_provider")
    meter_provider = instrument_kwargs.get("meter_provider")
    if tracer_provider is None and meter_provider is None:
        return default_telemetry()
    return Telemetry(tracer_provider, meter_provider)


_logged_once: set[tuple[str, str]] = set()


def report_internal_error(site: str, exc: BaseException, telemetry: Telemetry | None = None) -> None:
    """Count a failure inside modeltel and log it once per (site, exception type).

    Never raises: it sits on the prediction path, where modeltel must stay invisible.
    """
    try:
        error_type = type(exc).__qualname__
        (telemetry or default_telemetry()).internal_errors.add(
            1, {semconv.MODELTEL_SITE: site, semconv.ERROR_TYPE: error_type}
        )
        key = (site, error_type)
        if key not in _logged_once:
            _logged_once.add(key)
            _logger.warning(
                "modeltel: internal error in %s (counted in %s; further ones are not logged)",
                site,
                semconv.MODELTEL_INTERNAL_ERRORS,
                exc_info=exc,
            )
    except Exception:  # noqa: BLE001, S110 - the error reporter itself must not fail a prediction
        pass


def report_usage_warning(site: str, subject: str, message: str, telemetry: Telemetry | None = None) -> None:
    """Count a call whose input disagrees with what the caller told modeltel (two prediction
    ids for three rows, four feature names for thirty features) and log ``message`` once per
    (site, subject). Never raises.
    """
    try:
        (telemetry or default_telemetry()).usage_warnings.add(1, {semconv.MODELTEL_SITE: site})
        key = (site, subject)
        if key not in _warned_once and len(_warned_once) < _WARNED_ONCE_MAX:
            _warned_once.add(key)
            _logger.warning("modeltel: %s (counted in %s; further ones are not logged)", message, semconv.MODELTEL_USAGE_WARNINGS)
    except Exception:  # noqa: BLE001, S110 - the reporter itself must not fail a prediction
        pass


# (site, subject) pairs already logged; bounded, since subjects are model names.
_warned_once: set[tuple[str, str]] = set()
_WARNED_ONCE_MAX = 1024


def _reset_for_tests() -> Any:
    _logged_once.clear()
    _warned_once.clear()
