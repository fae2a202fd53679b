"""One ``ModelState`` per (model name, version): everything live for that model, created,
replaced and retired as a unit.

A state holds the model's settings, drift monitor, quality and estimate windows, alert state
and call watch, its row tallies and duration histograms, and the tuple of observers its calls
run. Registering a model again, or changing the settings, builds a new state that replaces
the old one. States are bounded like the metric series they feed: at most ``MAX_VERSIONS``
versions per model name and ``MAX_MODELS`` models in all (half the SDK's default of 2,000
series per instrument, leaving a series per model for errors), the least recently used
retired first. A retired model's series stop being exported; if it predicts again it starts
with a fresh state.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from modeltel import _forksafe as forksafe
from modeltel import semconv
from modeltel._core import label_store, runtime
from modeltel._core.internal_errors import report_internal_error
from modeltel._core.telemetry import Tally, Telemetry, use_collect
from modeltel._sdk.bound_histogram import BoundHistogram
from modeltel.alerts.thresholds import AlertState
from modeltel.alerts.watch import call_watch
from modeltel.config import Settings
from modeltel.drift.monitor import DriftMonitor
from modeltel.drift.observer import DriftObserver
from modeltel.drift.points import POINTS
from modeltel.drift.reference import Reference
from modeltel.errors import ModeltelValueError
from modeltel.labels.estimates import EstimateWindow
from modeltel.labels.join import estimate_points, quality_points
from modeltel.labels.observer import LabelObserver
from modeltel.labels.window import PerformanceWindow
from modeltel.prediction_logs.observer import PredictionLogObserver
from modeltel.summaries.observers import InputSummaryObserver, OutputSummaryObserver

MAX_MODELS = 1000
MAX_VERSIONS = 3

Point = tuple[float, dict[str, Any]]
Key = tuple[str, "str | None"]
# What a state is built from: settings, reference, thresholds, on_alert.
Config = tuple[Settings, "Reference | None", "dict[str, float] | None", Any]


class Meter:
    """The row tally and duration histogram of one metric attribute set (model, version,
    framework, operation[, error type]) for one Telemetry."""

    __slots__ = ("duration", "tally", "telemetry")

    def __init__(self, telemetry: Telemetry, attributes: dict[str, Any]) -> None:
        self.telemetry = telemetry
        self.tally = Tally(attributes)
        self.duration = BoundHistogram(telemetry.duration, attributes)


# The concerns, in the order a call runs them, each building its observer for a state (None
# when the model does not need it). Benchmarks and tests leave one out with ``omitting``.
def _input_summary(state: ModelState) -> Any:
    return InputSummaryObserver() if state.settings.summaries else None


def _drift(state: ModelState) -> Any:
    return DriftObserver(state.drift) if state.drift is not None else None


def _alerts(state: ModelState) -> Any:
    return state.watch


def _prediction_log(state: ModelState) -> Any:
    return PredictionLogObserver() if state.settings.prediction_log_rate > 0 else None


def _labels(state: ModelState) -> Any:
    calibration = state.reference.calibration if state.drift is not None and state.reference is not None else None
    return LabelObserver(label_store.store, state.estimates, calibration, bool(state.settings.label_store_max_entries))


def _output_summary(state: ModelState) -> Any:
    return OutputSummaryObserver() if state.settings.summaries else None


CONCERNS: tuple[tuple[str, Callable[[ModelState], Any]], ...] = (
    ("input_summary", _input_summary),
    ("drift", _drift),
    ("alerts", _alerts),
    ("prediction_log", _prediction_log),
    ("labels", _labels),
    ("output_summary", _output_summary),
)
_omitted: frozenset[str] = frozenset()


class ModelState:
    """Everything live for one model (name, version)."""

    def __init__(
        self,
        key: Key,
        stamp: tuple[int, int],
        settings: Settings,
        reference: Reference | None,
        thresholds: dict[str, float] | None,
        on_alert: Any,
    ) -> None:
        self.key = key
        self.name, self.version = key
        self.stamp = stamp
        self.settings = settings
        self.reference = reference
        self.thresholds = thresholds
        self.on_alert = on_alert
        self.retired = False
        self.last_used = time.perf_counter()
        self.drift = _drift_monitor(key, reference, settings)
        self.quality = PerformanceWindow(settings.performance_window)
        self.estimates = EstimateWindow(settings.performance_window)
        self.alerts = AlertState()
        self.watch = call_watch(key, thresholds, on_alert, self.alerts, self.drift)
        self.omitted = _omitted
        built = [(name, build(self)) for name, build in CONCERNS if name not in _omitted]
        observers = [o for _, o in built if o is not None]
        # The concerns this model's calls run, by name, and the hooks they have, in order.
        self.concerns = tuple(name for name, o in built if o is not None)
        self.before = tuple(o for o in observers if hasattr(o, "before"))
        self.after = tuple(o for o in observers if hasattr(o, "after"))
        self.failed = tuple(o for o in observers if hasattr(o, "failed"))
        self._meters: dict[tuple[Any, ...], Meter] = {}
        self._lock = threading.Lock()
        forksafe.register(self)
        # Instrument name -> (site, points) of this model, each guarded on its own.
        self._sources: dict[str, list[tuple[str, Callable[[Telemetry], Iterable[Point]]]]] = {
            semconv.ML_PREDICTION_ROWS: [("metrics", self._rows)],
            semconv.ML_PERFORMANCE: [
                ("performance", lambda t: quality_points(self.key, self.quality, self.settings.task)),
                ("performance", lambda t: estimate_points(self.key, self.estimates)),
            ],
        }
        if self.drift is not None:
            monitor = self.drift
            for name, (site, points) in POINTS.items():
                self._sources.setdefault(name, []).append((site, _points_of(points, monitor)))

    def same_config(self, config: Config) -> bool:
        settings, reference, thresholds, on_alert = config
        return (
            settings == self.settings
            and reference is self.reference
            and thresholds == self.thresholds
            and on_alert == self.on_alert
            and self.omitted == _omitted
        )

    def take_meters(self, previous: ModelState) -> None:
        """Keep counting rows and durations where the state this one replaces left off."""
        with previous._lock:
            self._meters.update(previous._meters)

    def meter(self, telemetry: Telemetry, attributes: dict[str, Any]) -> Meter:
        """The row tally and duration histogram of ``attributes`` for ``telemetry``."""
        key = (id(telemetry), *sorted(attributes.items()))
        found = self._meters.get(key)
        if found is None:
            with self._lock:
                found = self._meters.get(key)
                if found is None:
                    found = self._meters[key] = Meter(telemetry, attributes)
        return found

    def _rows(self, telemetry: Telemetry) -> Iterator[Point]:
        for meter in list(self._meters.values()):
            if meter.telemetry is telemetry:
                yield meter.tally.value, meter.tally.attributes

    def points(self, name: str, telemetry: Telemetry) -> Iterator[Point]:
        """What this model reports for instrument ``name``; a failing source is counted under
        its site and leaves the other sources, and every other model, alone."""
        for site, produce in self._sources.get(name, ()):
            try:
                found = list(produce(telemetry))
            except Exception as exc:  # noqa: BLE001 - one model's failure must not hide the others
                report_internal_error(site, exc)
                continue
            yield from found


def _points_of(
    points: Callable[[DriftMonitor], Iterable[Point]], monitor: DriftMonitor
) -> Callable[[Telemetry], Iterable[Point]]:
    """One drift instrument's source for a model: its monitor's points, whatever the Telemetry."""
    return lambda telemetry: points(monitor)


def _drift_monitor(key: Key, reference: Reference | None, settings: Settings) -> DriftMonitor | None:
    """The model's drift monitor; None without a reference or when building it fails, which
    is counted (site ``drift_setup``) and stays off for this state, so the prediction goes
    through and a broken reference is not retried on every call."""
    if reference is None:
        return None
    try:
        return DriftMonitor(key[0], key[1], reference, settings)
    except Exception as exc:  # noqa: BLE001 - a bad reference must not fail the prediction
        report_internal_error("drift_setup", exc)
        return None


_states: dict[Key, ModelState] = {}
_lock = threading.Lock()
forksafe.register(sys.modules[__name__], "_lock")


def state_for(key: Key, stamp: tuple[int, int], config: Config, build: Callable[[], ModelState]) -> ModelState:
    """The live state of ``key``. One older than ``stamp`` (settings generation, registration
    revision) is kept if ``config`` (settings, reference, thresholds, on_alert) is still
    its own, else ``build()`` replaces it, taking over its row tallies and histograms; the
    latest registration of a model wins, and an older one never replaces it back."""
    found = _states.get(key)
    if found is not None and found.stamp >= stamp:
        return found
    with _lock:
        found = _states.get(key)
        if found is not None and found.stamp >= stamp:
            return found
        if found is not None and found.same_config(config):
            found.stamp = stamp
            return found
        made = build()
        if found is not None:
            found.retired = True
            made.take_meters(found)
        _states[key] = made
        _bound(made)
        return made


def _bound(new: ModelState) -> None:
    versions = [s for s in _states.values() if s.name == new.name and s is not new]
    while len(versions) >= MAX_VERSIONS:
        oldest = min(versions, key=_last_used)
        versions.remove(oldest)
        _retire(oldest)
    while len(_states) > MAX_MODELS:
        _retire(min((s for s in _states.values() if s is not new), key=_last_used))


def _last_used(state: ModelState) -> float:
    return state.last_used


def _retire(state: ModelState) -> None:
    state.retired = True
    if _states.get(state.key) is state:
        del _states[state.key]


def live() -> list[ModelState]:
    """The live states, one per model (name, version)."""
    return list(_states.values())


def live_state(key: Key) -> ModelState | None:
    return _states.get(key)


def collect(name: str, telemetry: Telemetry) -> Iterator[Point]:
    """What every live model reports for instrument ``name`` (handed to Telemetry)."""
    for state in live():
        yield from state.points(name, telemetry)


class omitting:
    """Build states without some concerns (``"input_summary"``, ``"drift"``, ``"labels"``, ...)
    while the block runs, for benchmarks and tests that measure or check a call without them.
    States built before are replaced on their next call.

    >>> with omitting("labels"):
    ...     _ = clf.predict(X)      # no prediction stored, no estimate
    """

    def __init__(self, *names: str) -> None:
        unknown = set(names) - {name for name, _ in CONCERNS}
        if unknown:
            raise ModeltelValueError(f"unknown concern(s) {sorted(unknown)}; known: {[name for name, _ in CONCERNS]}")
        self._names = frozenset(names)

    def __enter__(self) -> omitting:
        global _omitted
        self._previous = _omitted
        _omitted = self._names
        runtime.bump()
        return self

    def __exit__(self, *exc: object) -> None:
        global _omitted
        _omitted = self._previous
        runtime.bump()


use_collect(collect)
