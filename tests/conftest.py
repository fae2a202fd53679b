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
from opentelemetry.sdk.trace import ReadableSpan

from modeltel.testing import InMemoryTelemetry

# The user-facing helper, installed before modeltel is instrumented, as a user's tests would.
TELEMETRY = InMemoryTelemetry.install()
SPAN_EXPORTER = TELEMETRY.span_exporter
METRIC_READER = TELEMETRY.metric_reader
LOG_EXPORTER = TELEMETRY.log_exporter

import modeltel  # noqa: E402  (after the providers, as an application would)
from modeltel._core import runtime as state  # noqa: E402


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
