"""For your own tests: what modeltel recorded, read in memory, with no collector.

OpenTelemetry's global providers can be set once per process, so install the in-memory ones
first (a ``conftest.py`` is the place), then instrument and predict as your application does,
and read back spans, metric points and log records. Needs nothing beyond modeltel's own
dependencies.

>>> from modeltel.testing import InMemoryTelemetry
>>> telemetry = InMemoryTelemetry.install()
>>> model = modeltel.wrap(lambda rows: [0] * len(rows), name="churn")
>>> model([[1.0], [2.0]])
[0, 0]
>>> telemetry.assert_predicted("churn", rows=2)
>>> telemetry.counter("ml.prediction.rows", **{"ml.model.name": "churn"})
2
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry._logs import get_logger_provider, set_logger_provider
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

__all__ = ["InMemoryTelemetry"]

_installed: InMemoryTelemetry | None = None


class InMemoryTelemetry:
    """In-memory tracer, meter and logger providers, and what they hold.

    Spans and log records are kept until ``clear()``; metrics are cumulative since
    ``install()``, as a backend would see them, so compare counts before and after.
    """

    def __init__(self) -> None:
        self.span_exporter = InMemorySpanExporter()
        self.metric_reader = InMemoryMetricReader()
        self.log_exporter = InMemoryLogRecordExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.span_exporter))
        self.meter_provider = MeterProvider(metric_readers=[self.metric_reader])
        self.logger_provider = LoggerProvider()
        self.logger_provider.add_log_record_processor(SimpleLogRecordProcessor(self.log_exporter))

    @classmethod
    def install(cls) -> InMemoryTelemetry:
        """Set the in-memory providers as the global ones (once per process; later calls
        return the same object). Call it before ``modeltel.instrument()`` and before anything
        else sets providers; raises ``RuntimeError`` if something already did.

        >>> telemetry = InMemoryTelemetry.install()
        """
        global _installed
        if _installed is not None:
            return _installed
        taken = [
            kind
            for kind, provider in (
                ("tracer", trace.get_tracer_provider()),
                ("meter", metrics.get_meter_provider()),
                ("logger", get_logger_provider()),
            )
            if not type(provider).__name__.startswith(("Proxy", "_Proxy"))
        ]
        if taken:
            raise RuntimeError(
                f"InMemoryTelemetry.install(): the global {', '.join(taken)} provider(s) are already set; "
                "install it first, before modeltel.instrument() or your application's OpenTelemetry set-up"
            )
        made = cls()
        trace.set_tracer_provider(made.tracer_provider)
        metrics.set_meter_provider(made.meter_provider)
        set_logger_provider(made.logger_provider)
        _installed = made
        return made

    def clear(self) -> None:
        """Forget the spans and log records finished so far."""
        self.span_exporter.clear()
        self.log_exporter.clear()

    def spans(self, name: str | None = None) -> list[ReadableSpan]:
        """Finished spans, oldest first; only those called ``name`` when given."""
        return [s for s in self.span_exporter.get_finished_spans() if name is None or s.name == name]

    def prediction_spans(self, model: str | None = None, operation: str | None = None) -> list[ReadableSpan]:
        """modeltel's prediction spans, of one model (``ml.model.name``) and operation if given.

        >>> modeltel.wrap(lambda rows: [0] * len(rows), name="fraud")([[1.0], [2.0]])
        [0, 0]
        >>> [span] = telemetry.prediction_spans(model="fraud")
        >>> span.attributes["ml.batch.size"]
        2
        """
        found = []
        for span in self.span_exporter.get_finished_spans():
            attrs = span.attributes or {}
            if "ml.model.name" not in attrs or "ml.operation" not in attrs:
                continue
            if (model is None or attrs["ml.model.name"] == model) and (
                operation is None or attrs["ml.operation"] == operation
            ):
                found.append(span)
        return found

    def logs(self) -> list[Any]:
        """Log records emitted so far (alerts, prediction logs)."""
        return [data.log_record for data in self.log_exporter.get_finished_logs()]

    def metric_points(self, name: str, **attributes: Any) -> list[Any]:
        """Data points of metric ``name`` whose attributes include ``attributes`` (dotted
        names: pass them as ``**{"ml.model.name": "fraud"}``)."""
        data = self.metric_reader.get_metrics_data()
        if data is None:
            return []
        return [
            point
            for metric in _metrics(data)
            if metric.name == name
            for point in metric.data.data_points
            if all(point.attributes.get(k) == v for k, v in attributes.items())
        ]

    def counter(self, name: str, **attributes: Any) -> float:
        """The sum of a counter's (or gauge's) matching points."""
        return sum(p.value for p in self.metric_points(name, **attributes))

    def histogram_count(self, name: str, **attributes: Any) -> int:
        """How many values a histogram's matching points hold."""
        return sum(p.count for p in self.metric_points(name, **attributes))

    def assert_predicted(self, model: str, *, rows: int | None = None, calls: int | None = None) -> None:
        """Assert that ``model`` made prediction spans: ``calls`` of them and ``rows`` rows in
        all (``ml.batch.size``), when given. Raises ``AssertionError`` saying what was found.

        >>> modeltel.wrap(lambda rows: [0] * len(rows), name="fraud")([[1.0], [2.0]])
        [0, 0]
        >>> telemetry.assert_predicted("fraud", rows=2, calls=1)
        """
        spans = self.prediction_spans(model=model)
        seen = sorted({str((s.attributes or {}).get("ml.model.name")) for s in self.prediction_spans()})
        if not spans:
            raise AssertionError(f"no prediction span of model {model!r}; models seen: {seen or 'none'}")
        if calls is not None and len(spans) != calls:
            raise AssertionError(f"model {model!r} made {len(spans)} prediction spans, expected {calls}")
        if rows is not None:
            total = sum(int((s.attributes or {}).get("ml.batch.size", 0)) for s in spans)  # type: ignore[arg-type, misc]
            if total != rows:
                raise AssertionError(f"model {model!r} predicted {total} rows in {len(spans)} spans, expected {rows}")


def _metrics(data: Any) -> Iterable[Any]:
    for resource_metrics in data.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            yield from scope_metrics.metrics
