"""BoundHistogram exports exactly what the SDK's public ``Histogram.record`` exports."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.metrics._internal import _ProxyMeter
from opentelemetry.sdk.metrics import Histogram, MeterProvider
from opentelemetry.sdk.metrics._internal.exemplar import AlwaysOnExemplarFilter
from opentelemetry.sdk.metrics.export import AggregationTemporality, InMemoryMetricReader
from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation, View
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import set_span_in_context

from modeltel._sdk import bound_histogram
from modeltel._sdk.bound_histogram import BoundHistogram

ATTRS = {"ml.model.name": "fraud", "ml.model.framework": "sklearn", "ml.operation": "predict"}
BOUNDS = [0.001, 0.01, 0.1, 1.0]


def _reader(delta: bool) -> InMemoryMetricReader:
    temporality = AggregationTemporality.DELTA if delta else AggregationTemporality.CUMULATIVE
    return InMemoryMetricReader(preferred_temporality={Histogram: temporality})


def _pair(delta: bool = False, views: tuple[View, ...] = (), **kwargs):
    """Two identical providers: one recorded through BoundHistogram, one through the SDK."""
    out = []
    for _ in range(2):
        reader = _reader(delta)
        provider = MeterProvider(metric_readers=[reader], views=list(views), **kwargs)
        histogram = provider.get_meter("m").create_histogram(
            "ml.prediction.duration", unit="s", explicit_bucket_boundaries_advisory=BOUNDS
        )
        out.append((reader, histogram))
    return out


def _points(reader: InMemoryMetricReader) -> list[tuple]:
    data = reader.get_metrics_data()
    points = []
    for resource_metrics in data.resource_metrics if data else []:
        for scope in resource_metrics.scope_metrics:
            for metric in scope.metrics:
                for p in metric.data.data_points:
                    points.append(
                        (
                            metric.name,
                            dict(p.attributes),
                            getattr(p, "bucket_counts", None),
                            p.count,
                            round(p.sum, 12),
                            p.min,
                            p.max,
                            [(e.value, dict(e.filtered_attributes or {})) for e in p.exemplars],
                        )
                    )
    return sorted(points, key=repr)


values = st.lists(
    st.one_of(st.floats(0.0, 20.0), st.sampled_from([0.0, 0.001, 0.01, 1.0, math.inf, math.nan])),
    max_size=30,
)


@settings(max_examples=60, deadline=None)
@given(values=values, collect_every=st.integers(1, 10), delta=st.booleans())
def test_same_points_as_the_public_path(values, collect_every, delta):
    (fast_reader, fast_hist), (sdk_reader, sdk_hist) = _pair(delta)
    bound = BoundHistogram(fast_hist, ATTRS)
    for i, value in enumerate(values):
        bound.record(value)
        sdk_hist.record(value, ATTRS)
        if i % collect_every == 0:
            assert _points(fast_reader) == _points(sdk_reader)
    assert _points(fast_reader) == _points(sdk_reader)


def test_the_fast_path_is_taken_for_an_sdk_histogram(monkeypatch):
    (reader, histogram), _ = _pair()
    bound = BoundHistogram(histogram, ATTRS)
    bound.record(0.5)  # creates the aggregation through the public path
    calls = []
    monkeypatch.setattr(type(histogram), "record", lambda *a, **k: calls.append(a))
    bound.record(0.005)
    assert calls == []
    (point,) = _points(reader)
    assert point[3] == 2 and point[2] == (0, 1, 0, 1, 0)


@pytest.mark.parametrize("delta", [False, True])
def test_views_that_drop_attributes_or_change_the_aggregation(delta):
    views = (
        View(instrument_name="ml.prediction.duration", attribute_keys={"ml.model.name"}),
        View(instrument_name="ml.prediction.duration", name="exp", aggregation=ExponentialBucketHistogramAggregation()),
    )
    (fast_reader, fast_hist), (sdk_reader, sdk_hist) = _pair(delta, views)
    bound = BoundHistogram(fast_hist, ATTRS)
    for value in (0.002, 0.2, 3.0, 0.002):
        bound.record(value)
        sdk_hist.record(value, ATTRS)
    fast = _points(fast_reader)
    assert fast == _points(sdk_reader)
    assert {p[0] for p in fast} == {"ml.prediction.duration", "exp"}
    assert {(p[0], tuple(p[1])) for p in fast} == {
        ("ml.prediction.duration", ("ml.model.name",)),
        ("exp", tuple(ATTRS)),
    }


def test_exemplars_are_offered_like_the_sdk_does():
    span = TracerProvider().get_tracer("t").start_span("request")
    context = set_span_in_context(span)
    (fast_reader, fast_hist), (sdk_reader, sdk_hist) = _pair(exemplar_filter=AlwaysOnExemplarFilter())
    bound = BoundHistogram(fast_hist, ATTRS)
    from opentelemetry import context as otel_context

    token = otel_context.attach(context)
    try:
        for value in (0.002, 0.5):
            bound.record(value)
            sdk_hist.record(value, ATTRS)
    finally:
        otel_context.detach(token)
    fast, sdk = _points(fast_reader), _points(sdk_reader)
    assert fast == sdk and fast[0][7], "exemplars recorded on both paths"


def test_a_proxy_histogram_records_once_a_provider_is_set():
    reader = _reader(False)
    proxy_meter = _ProxyMeter("m")
    histogram = proxy_meter.create_histogram("ml.prediction.duration", unit="s")
    bound = BoundHistogram(histogram, ATTRS)
    bound.record(0.1)  # no provider yet: dropped, as the API proxy does
    proxy_meter.on_set_meter_provider(MeterProvider(metric_readers=[reader]))
    bound.record(0.1)
    bound.record(0.2)
    (point,) = _points(reader)
    assert point[3] == 2 and point[1] == ATTRS


def test_a_disabled_or_foreign_histogram_gets_the_public_call():
    received = []

    class Foreign:
        def record(self, value, attributes=None, context=None):
            received.append((value, attributes))

    BoundHistogram(Foreign(), ATTRS).record(0.25)
    assert received == [(0.25, ATTRS)]


def test_without_the_sdk_internals_the_public_path_is_used(monkeypatch):
    monkeypatch.setattr(bound_histogram, "_AVAILABLE", False)
    (fast_reader, fast_hist), (sdk_reader, sdk_hist) = _pair()
    BoundHistogram(fast_hist, ATTRS).record(0.3)
    sdk_hist.record(0.3, ATTRS)
    assert _points(fast_reader) == _points(sdk_reader)
