"""Recording a histogram for one fixed attribute set without the SDK's per-measurement work.

``Histogram.record`` in opentelemetry-sdk 1.45 copies, validates and hashes the attribute
dict on every call (~5 us of its ~8 us with modeltel's four identity attributes). A model's
prediction durations always carry the same attributes, so that work can be done once: the
SDK's aggregation for the set is looked up by its precomputed key and given the value.
Anything unusual takes the public path for that call: an instrument or consumer of another
type, a disabled meter, a non-finite value, an aggregation not yet created (the public
path creates it) or of a type other than the explicit-bucket histogram. Exemplars are
offered exactly as the SDK does (same filter, same reservoir, cleaned attributes).
tests/unit/sdk/test_bound_histogram.py checks both paths export the same points (cumulative and
delta, with views and exemplars), so an SDK change that breaks the shortcut fails CI.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from time import time_ns
from typing import Any

from opentelemetry.context import get_current

from modeltel._sdk import FAST_PATHS

try:
    from opentelemetry.sdk.metrics._internal._view_instrument_match import _hash_attributes
    from opentelemetry.sdk.metrics._internal.aggregation import _ExplicitBucketHistogramAggregation
    from opentelemetry.sdk.metrics._internal.instrument import _Histogram
    from opentelemetry.sdk.metrics._internal.measurement import Measurement
    from opentelemetry.sdk.metrics._internal.measurement_consumer import SynchronousMeasurementConsumer

    _AVAILABLE = FAST_PATHS
except ImportError:  # pragma: no cover - another SDK version: always the public path
    _AVAILABLE = False


def _sdk_histogram(histogram: Any) -> Any:
    """The SDK instrument behind ``histogram`` (an API proxy forwards to one once a provider
    is set), or None when there is none of the expected type."""
    real = histogram if type(histogram) is _Histogram else getattr(histogram, "_real_instrument", None)
    if type(real) is not _Histogram or type(real._measurement_consumer) is not SynchronousMeasurementConsumer:
        return None
    return real


class BoundHistogram:
    """``histogram.record(value, attributes)`` for one attribute set, cheaper per call.

    >>> from opentelemetry.sdk.metrics import MeterProvider
    >>> meter = MeterProvider().get_meter("example")
    >>> durations = BoundHistogram(meter.create_histogram("latency", unit="s"), {"model": "a"})
    >>> durations.record(0.004)
    """

    __slots__ = ("_attributes", "_histogram", "_instrument", "_storages", "_targets")

    def __init__(self, histogram: Any, attributes: Mapping[str, Any]) -> None:
        self._histogram = histogram
        self._attributes = dict(attributes)
        # Resolved for this SDK instrument and this generation of its reader storages (the
        # SDK replaces that dict, never mutates it, when readers are added or removed).
        self._instrument: Any = None
        self._storages: Any = None
        self._targets: tuple[tuple[Any, Any], ...] = ()

    def record(self, value: float) -> None:
        instrument = _sdk_histogram(self._histogram) if _AVAILABLE else None
        if instrument is None or not instrument._is_enabled() or not (0.0 <= value < math.inf):
            self._histogram.record(value, self._attributes)
            return
        consumer = instrument._measurement_consumer
        storages = consumer._reader_storages
        if instrument is not self._instrument or storages is not self._storages:
            self._resolve(instrument, storages)
        now = time_ns()
        context = get_current()
        attributes = self._attributes
        sample = consumer._sdk_config.exemplar_filter.should_sample(value, now, attributes, context)
        # Without an exemplar to offer the aggregation reads only the value: the measurement
        # skips its attribute validation then.
        measurement = Measurement(value, now, instrument, context, attributes if sample else None)
        for match, key in self._targets:
            if match._reset_on_collect:
                # Delta temporality: collect() swaps the aggregations out under this lock.
                with match._lock:
                    aggregation = match._attributes_aggregation.get(key)
                    if type(aggregation) is _ExplicitBucketHistogramAggregation:
                        aggregation.aggregate(measurement, sample)
                        continue
            else:
                aggregation = match._attributes_aggregation.get(key)
                if type(aggregation) is _ExplicitBucketHistogramAggregation:
                    aggregation.aggregate(measurement, sample)
                    continue
            # First point of this set since the last collection, or another aggregation:
            # the SDK's own path for this view creates or feeds it.
            match.consume_measurement(Measurement(value, now, instrument, context, attributes), sample)

    def _resolve(self, instrument: Any, storages: Any) -> None:
        # Keyed as the SDK keys a measurement: its attributes as validated, filtered by the view.
        cleaned = Measurement(0.0, 0, instrument, get_current(), self._attributes).attributes or {}
        targets = []
        for storage in storages.values():
            for match in storage._get_or_init_view_instrument_match(instrument):
                keys = match._view._attribute_keys
                kept = cleaned if keys is None else {k: v for k, v in cleaned.items() if k in keys}
                targets.append((match, _hash_attributes(kept)))
        self._instrument, self._storages, self._targets = instrument, storages, tuple(targets)
