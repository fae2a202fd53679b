"""The tracer and instruments, acquired once, and the internal-error counter.

Instruments come from the global API providers unless an instrumentor is handed explicit
ones. The API's proxy tracer and meter forward to whatever SDK provider is installed later,
so acquiring them at import time is safe even before ``instrument()`` configures providers.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.metrics import CallbackOptions, Observation

from modeltel import semconv
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
        # Rows are tallied in process and reported when metrics are collected: a plain
        # integer add per call instead of an SDK measurement (~7 us) on the hot path.
        self._tallies: dict[tuple[Any, ...], Tally] = {}
        self._tallies_lock = threading.Lock()
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


    def tally(self, key: tuple[Any, ...], attributes: dict[str, Any]) -> Tally:
        """The row tally for one metric attribute set (``key`` identifies it)."""
        found = self._tallies.get(key)
        if found is None:
            with self._tallies_lock:
                found = self._tallies.setdefault(key, Tally(attributes))
        return found

    def _observe_rows(self, options: CallbackOptions) -> Iterable[Observation]:
        for tally in list(self._tallies.values()):
            yield Observation(tally.value, tally.attributes)


class Tally:
    """A monotonically increasing count, safe to add to from many threads."""

    __slots__ = ("attributes", "value", "_lock")

    def __init__(self, attributes: dict[str, Any]) -> None:
        self.attributes = dict(attributes)
        self.value = 0
        self._lock = threading.Lock()

    def add(self, amount: int) -> None:
        with self._lock:
            self.value += amount


_default: Telemetry | None = None
_default_lock = threading.Lock()


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
    except Exception:  # noqa: BLE001 - the error reporter itself must not fail a prediction
        pass


def _reset_for_tests() -> Any:
    _logged_once.clear()
