"""modeltel's span encoding writes the same OTLP bytes as the SDK's encoder, faster."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link

from modeltel._sdk.otlp_encoding import encode_spans_bytes

_scalars = st.one_of(
    st.text(max_size=20),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
)
_values = st.one_of(
    _scalars,
    st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=30).map(tuple),
    st.lists(st.text(max_size=10), max_size=10).map(tuple),
    st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1), max_size=10).map(tuple),
    st.lists(st.booleans(), max_size=5).map(tuple),
)


def _finished_spans(attribute_sets: list[dict[str, object]]) -> list[object]:
    """Finished spans with these attributes, as parents (in two scopes) and children."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "encoding-test"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("modeltel-test", "1.0")
    other = provider.get_tracer("other-scope")
    for i, attributes in enumerate(attribute_sets):
        with (tracer if i % 2 else other).start_as_current_span(f"span {i}", attributes=attributes) as span:
            # Spans with events or links go through the SDK's encoder (every third set here);
            # the rest, and every child, through modeltel's.
            if i % 3 == 2:
                span.add_event("event", {"k": 1})
            links = [Link(span.get_span_context(), {"l": "x"})] if i % 3 == 2 else []
            with tracer.start_as_current_span("child", links=links, attributes=attributes):
                pass
    return list(exporter.get_finished_spans())


@settings(max_examples=150, deadline=None)
@given(st.lists(st.dictionaries(st.text(min_size=1, max_size=12), _values, max_size=8), min_size=1, max_size=4))
def test_bytes_equal_the_sdk_encoders_for_every_attribute_type(attribute_sets):
    spans = _finished_spans(attribute_sets)
    assert encode_spans_bytes(spans) == encode_spans(spans).SerializeToString()


def test_a_prediction_spans_arrays_and_edge_values():
    spans = _finished_spans(
        [
            {
                "ml.model.name": "fraud",
                "ml.batch.size": 3,
                "ml.input.feature.names": ("amount", "age", "país"),
                "ml.input.feature.mean": (1.5, math.nan, -math.inf),
                "ml.output.class.counts": (0, -1, 2**62),
                "ml.output.class.labels": ("", "yes"),
                "empty": (),
                "flag": False,
                "zero": 0.0,
                "big": -(2**63),
            }
        ]
    )
    payload = encode_spans_bytes(spans)
    assert payload == encode_spans(spans).SerializeToString()
    fast = ExportTraceServiceRequest.FromString(payload)
    (span,) = [s for scope in fast.resource_spans[0].scope_spans for s in scope.spans if s.name == "span 0"]
    decoded = {kv.key: kv.value for kv in span.attributes}
    assert [v.string_value for v in decoded["ml.input.feature.names"].array_value.values] == ["amount", "age", "país"]
    assert [v.int_value for v in decoded["ml.output.class.counts"].array_value.values] == [0, -1, 2**62]
    assert decoded["big"].int_value == -(2**63)


def test_status_remote_parents_trace_state_schema_urls_and_dropped_attributes():
    from opentelemetry import trace
    from opentelemetry.sdk.trace import SpanLimits
    from opentelemetry.trace import NonRecordingSpan, SpanContext, Status, StatusCode, TraceFlags, TraceState

    exporter = InMemorySpanExporter()
    provider = TracerProvider(
        resource=Resource({"service.name": "s"}, schema_url="https://opentelemetry.io/schemas/1.21.0"),
        span_limits=SpanLimits(max_span_attributes=2),
    )
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("scoped", "2.0", schema_url="https://example.com/schema")
    remote = SpanContext(
        0x1234, 0x5678, is_remote=True, trace_flags=TraceFlags(1), trace_state=TraceState([("k", "v"), ("a", "b")])
    )
    with tracer.start_as_current_span(
        "under a remote parent", context=trace.set_span_in_context(NonRecordingSpan(remote))
    ) as span:
        span.set_status(Status(StatusCode.ERROR, "model failed: ValueError"))
    with tracer.start_as_current_span("ok status") as span:
        span.set_status(Status(StatusCode.OK))
    with tracer.start_as_current_span("too many attributes", attributes={"a": 1, "b": 2, "c": 3}):
        pass
    spans = list(exporter.get_finished_spans())
    assert spans[-1].dropped_attributes == 1
    assert encode_spans_bytes(spans) == encode_spans(spans).SerializeToString()


def test_a_fault_in_the_fast_encoder_falls_back_to_the_sdks_and_is_counted(monkeypatch):
    from modeltel._sdk import otlp_encoding

    spans = _finished_spans([{"ml.model.name": "m", "ml.input.feature.mean": (1.0, 2.0)}])
    errors = []
    monkeypatch.setattr(otlp_encoding, "encode_spans_bytes", lambda data: 1 / 0)
    monkeypatch.setattr(otlp_encoding, "report", lambda site, exc: errors.append(site))
    exporter = otlp_encoding.OTLPSpanExporter(endpoint="http://127.0.0.1:1", insecure=True)
    try:
        request = exporter._translate_data(spans)
    finally:
        exporter.shutdown()
    assert otlp_encoding._serialize_request(request) == encode_spans(spans).SerializeToString()
    assert errors == ["span_encoding"]


def test_repeated_values_and_shared_tuples_encode_like_the_sdk():
    # Entries are cached per key across spans; a one-row summary's mean, min and max are one
    # tuple object. Same key with values equal across types (1, True, 1.0), a key that
    # varies past the cache's per-key bound, and names that change must all still match.
    row = (0.5, -1.0, math.nan)
    sets = []
    for i in range(40):
        sets.append(
            {
                "ml.model.name": "fraud" if i % 3 else "churn",
                "same": (1, True, 1.0, "1")[i % 4],
                "ml.prediction.id": f"id-{i}",
                "ml.input.feature.names": ("a", "b", "c") if i % 5 else ("a", "b", "d"),
                "ml.input.feature.mean": row if i % 2 else (float(i), 0.0, 1.0),
                "ml.input.feature.min": row,
                "ml.input.feature.max": row if i % 7 else (1.0, 2.0, 3.0),
                "labels": ("x",) if i % 2 else (1,),
            }
        )
    spans = _finished_spans(sets)
    assert encode_spans_bytes(spans) == encode_spans(spans).SerializeToString()


class _Receiver:
    """A real OTLP/HTTP endpoint on 127.0.0.1 that answers ``status`` and keeps the bodies."""

    def __init__(self, status: int) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        bodies = self.bodies = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                bodies.append((self.path, self.rfile.read(int(self.headers["content-length"]))))
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}/v1/traces"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_the_http_exporter_posts_the_sdks_request_and_reports_failures():
    from opentelemetry.sdk.trace.export import SpanExportResult

    from modeltel._sdk.otlp_encoding import OTLPHttpSpanExporter, http_span_exporter

    spans = _finished_spans([{"ml.model.name": "m", "ml.input.feature.mean": (1.0, 2.0)}, {"n": 3}])
    for status, expected in ((200, SpanExportResult.SUCCESS), (500, SpanExportResult.FAILURE)):
        receiver = _Receiver(status)
        exporter = http_span_exporter(endpoint=receiver.endpoint, timeout=5)
        try:
            assert type(exporter) is OTLPHttpSpanExporter
            assert exporter.export(spans) is expected
        finally:
            exporter.shutdown()
            receiver.close()
        [(path, body)] = receiver.bodies
        assert path == "/v1/traces"
        assert ExportTraceServiceRequest.FromString(body) == encode_spans(spans)


def test_the_http_exporter_leaves_an_oversized_batch_to_the_sdks_refusal():
    from opentelemetry.sdk.trace.export import SpanExportResult

    from modeltel._sdk.otlp_encoding import http_span_exporter

    receiver = _Receiver(200)
    exporter = http_span_exporter(endpoint=receiver.endpoint, timeout=5)
    exporter._max_request_size = 16
    try:
        assert exporter.export(_finished_spans([{"k": "v" * 64}])) is SpanExportResult.FAILURE
    finally:
        exporter.shutdown()
        receiver.close()
    assert receiver.bodies == []
