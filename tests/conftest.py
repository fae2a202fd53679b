"""Test set-up: one in-memory tracer and meter provider for the whole session.

OpenTelemetry's global providers can be set only once per process, so they are installed
here before modeltel is imported and every test reads what it produced through the helpers
below. Tests that need a fresh process (provider set-up, zero-code, the collector) use
subprocesses.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import metrics, trace
from opentelemetry._logs import set_logger_provider
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

SPAN_EXPORTER = InMemorySpanExporter()
METRIC_READER = InMemoryMetricReader()
LOG_EXPORTER = InMemoryLogRecordExporter()

_tracer_provider = TracerProvider()
_tracer_provider.add_span_processor(SimpleSpanProcessor(SPAN_EXPORTER))
trace.set_tracer_provider(_tracer_provider)
metrics.set_meter_provider(MeterProvider(metric_readers=[METRIC_READER]))
_logger_provider = LoggerProvider()
_logger_provider.add_log_record_processor(SimpleLogRecordProcessor(LOG_EXPORTER))
set_logger_provider(_logger_provider)

import modeltel  # noqa: E402  (after the providers, as an application would)
from modeltel import state  # noqa: E402


@pytest.fixture(autouse=True)
def instrumented() -> Iterator[None]:
    """Every test starts instrumented with default settings and no finished spans."""
    modeltel.instrument()
    state.set_settings(state.settings_from_env())
    SPAN_EXPORTER.clear()
    yield
    modeltel.instrument()


@pytest.fixture
def spans() -> Any:
    """Call it to get the spans finished so far in this test."""

    def get() -> list[ReadableSpan]:
        return list(SPAN_EXPORTER.get_finished_spans())

    return get


def metric_points(name: str, **attrs: Any) -> list[Any]:
    """Data points of metric ``name`` whose attributes include ``attrs``."""
    data = METRIC_READER.get_metrics_data()
    found = []
    if data is None:
        return found
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                if metric.name != name:
                    continue
                for point in metric.data.data_points:
                    if all(point.attributes.get(k) == v for k, v in attrs.items()):
                        found.append(point)
    return found


def metric_unit(name: str) -> str | None:
    data = METRIC_READER.get_metrics_data()
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                if metric.name == name:
                    return metric.unit
    return None


def counter_value(name: str, **attrs: Any) -> float:
    return sum(p.value for p in metric_points(name, **attrs))


def histogram_count(name: str, **attrs: Any) -> int:
    return sum(p.count for p in metric_points(name, **attrs))
