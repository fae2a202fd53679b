"""OTLP span encoding that writes protobuf bytes directly: the exporter modeltel installs.

The SDK's encoder builds one protobuf message per attribute value and per array element in
Python (~1.6 us each). A prediction span carries four arrays of one value per feature, so with
20 features encoding cost 160 us per span, six times the span itself, on the exporter thread
of the model server's process (it shares the GIL with the predictions): the throughput
benchmark was bound by it. Here spans and their attributes are written in protobuf wire
format, with cached key bytes and vectorised float arrays, and the request is parsed once per
export by the C protobuf runtime. The request is the SDK encoder's, which tests/unit/sdk/test_otlp_encoding.py checks
byte for byte on every value type; a mapping value goes through the SDK's encoder.

Only modeltel's own span exporters use it, gRPC and HTTP (``instrument()`` without an
application tracer provider); an application's exporters are left as they are. Whole spans are written
this way (43.7 -> 38.1 us with summaries, 20.8 -> 13.2 without) except those with events,
links or dropped attributes, which the SDK encodes; the module reads the SDK encoder's
internals, so modeltel falls back to the SDK's exporter where they are missing.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from opentelemetry.exporter.otlp.proto.common._internal import (
    _encode_instrumentation_scope,
    _encode_key_value,
    _encode_resource,
)
from opentelemetry.exporter.otlp.proto.common._internal.trace_encoder import (
    _SPAN_KIND_MAP,
    _encode_span,
    _encode_trace_state,
    _span_flags,
    encode_spans,
)
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as _GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as _HttpSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.semconv.attributes.http_attributes import HTTP_RESPONSE_STATUS_CODE

_DOUBLE = struct.Struct("<d")
# One element of an array of doubles: ArrayValue.values (field 1, 9 bytes) holding
# AnyValue.double_value (field 4, fixed64).
_DOUBLE_ELEMENT = np.dtype([("tag", "u1"), ("length", "u1"), ("kind", "u1"), ("value", "<f8")])
_SPAN_ATTRIBUTE = b"\x4a"  # Span.attributes: field 9, length-delimited
_key_bytes: dict[str, bytes] = {}


def _slow_varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


_SMALL_VARINTS = [_slow_varint(n) for n in range(4096)]  # lengths are almost always below


def _varint(n: int) -> bytes:
    return _SMALL_VARINTS[n] if 0 <= n < 4096 else _slow_varint(n)


def _delimited(tag: bytes, body: bytes) -> bytes:
    return tag + _varint(len(body)) + body


def _scalar(value: Any) -> bytes | None:
    """AnyValue bytes of a scalar attribute value, None for a type handled elsewhere."""
    kind = type(value)
    if kind is str:
        return _delimited(b"\x0a", value.encode("utf-8"))
    if kind is bool:
        return b"\x10\x01" if value else b"\x10\x00"
    if kind is int:
        return b"\x18" + _varint(value & 0xFFFFFFFFFFFFFFFF)  # int64: negatives as 10 bytes
    if kind is float:
        return b"\x21" + _DOUBLE.pack(value)
    if kind is bytes:
        return _delimited(b"\x3a", value)
    return None


# Arrays of doubles by length, tags filled in: a copy and one assignment per array.
_double_templates: dict[int, np.ndarray] = {}
_FLOAT_ONLY = {float}
_STR_ONLY = {str}
# Arrays that repeat span after span (a model's feature names, class labels), encoded once.
_repeated: dict[tuple[Any, ...], bytes] = {}


# The last array encoded and its bytes: a one-row summary's mean, min and max are one
# tuple, encoded once for the three. Holding the tuple keeps the identity test sound.
_last_doubles: tuple[Any, bytes] = ((), b"")


def _doubles(values: Sequence[float]) -> bytes:
    global _last_doubles
    last, encoded = _last_doubles
    if values is last and type(values) is tuple:
        return encoded
    encoded = _new_doubles(values)
    _last_doubles = (values, encoded)
    return encoded


def _new_doubles(values: Sequence[float]) -> bytes:
    template = _double_templates.get(len(values))
    if template is None:
        template = np.empty(len(values), dtype=_DOUBLE_ELEMENT)
        template["tag"], template["length"], template["kind"] = 0x0A, 9, 0x21
        if len(_double_templates) < 256:
            _double_templates[len(values)] = template
    elements = template.copy()
    elements["value"] = values
    return _delimited(b"\x2a", elements.tobytes())


def _array(values: Sequence[Any]) -> bytes | None:
    # set(map(type, ...)) runs in C: a generator over every element cost more than the copy.
    if values and type(values[0]) is float and set(map(type, values)) == _FLOAT_ONLY:
        return _doubles(values)
    # Only tuples of str: 1 == True == 1.0 would make other tuples share an entry.
    cacheable = isinstance(values, tuple) and set(map(type, values)) <= _STR_ONLY
    if isinstance(values, tuple) and cacheable:
        found = _repeated.get(values)
        if found is not None:
            return found
    parts = []
    for v in values:
        encoded = _scalar(v)
        if encoded is None:
            return None
        parts.append(_delimited(b"\x0a", encoded))
    encoded_array = _delimited(b"\x2a", b"".join(parts))
    if isinstance(values, tuple) and cacheable and len(_repeated) < 1024:
        _repeated[values] = encoded_array
    return encoded_array


# Whole entries whose value repeats span after span (the model's name, framework and
# operation, a batch size of 1, a feature count, names), per key. A key seen with more than
# a few distinct values (an id, a URL) is marked varying and not cached again, so the cache
# holds only repeats and stays bounded. Values are keyed with their type: 1 == True == 1.0.
_repeated_entries: dict[str, dict[tuple[type, Any], bytes] | None] = {}
_REPEATED_TYPES = frozenset({str, int, bool})
_MAX_KEYS = 1024
_MAX_VALUES_PER_KEY = 16


def _attribute(key: str, value: Any) -> bytes:
    """One Span.attributes entry (a KeyValue) as bytes."""
    kind = type(value)
    if not (kind in _REPEATED_TYPES or (kind is tuple and value and type(value[0]) is str)):
        return _encoded_attribute(key, value)
    values = _repeated_entries.get(key, ())
    if values is None:  # a varying key
        return _encoded_attribute(key, value)
    if kind is tuple and not set(map(type, value)) <= _STR_ONLY:
        return _encoded_attribute(key, value)
    found = values.get((kind, value)) if values else None
    if found is not None:
        return found
    encoded = _encoded_attribute(key, value)
    if not values:
        if len(_repeated_entries) < _MAX_KEYS:
            _repeated_entries[key] = {(kind, value): encoded}
    elif len(values) < _MAX_VALUES_PER_KEY:
        values[(kind, value)] = encoded
    else:
        _repeated_entries[key] = None
    return encoded


def _encoded_attribute(key: str, value: Any) -> bytes:
    head = _key_bytes.get(key)
    if head is None:
        head = _delimited(b"\x0a", key.encode("utf-8"))
        if len(_key_bytes) < 4096:
            _key_bytes[key] = head
    kind = type(value)
    if kind is tuple or kind is list:
        encoded = _array(value)
    elif value is None:
        encoded = b""
    else:
        encoded = _scalar(value)
    if encoded is None:  # a mapping, a nested sequence: the SDK's own encoder
        return _delimited(_SPAN_ATTRIBUTE, _encode_key_value(key, value).SerializeToString())
    return _delimited(_SPAN_ATTRIBUTE, head + _delimited(b"\x12", encoded))


_FIXED32 = struct.Struct("<I")
_FIXED64 = struct.Struct("<Q")
_FLAGS = b"\x85\x01"  # Span.flags: field 16, fixed32


def _span(span: Any) -> bytes:
    """One finished span as OTLP Span bytes. Spans with events, links or anything dropped
    (error spans, label spans) are rare: the SDK encodes those."""
    if type(span) is not ReadableSpan or span._events or span._links or span.dropped_attributes:
        return _encode_span(span).SerializeToString()
    context: Any = span._context  # a finished ReadableSpan always has one
    parts = [b"\x0a\x10", context.trace_id.to_bytes(16, "big"), b"\x12\x08", context.span_id.to_bytes(8, "big")]
    trace_state = _encode_trace_state(context.trace_state)
    if trace_state:
        parts.append(_delimited(b"\x1a", trace_state.encode("utf-8")))
    parent = span._parent
    if parent:
        parts += (b"\x22\x08", parent.span_id.to_bytes(8, "big"))
    if span._name:
        parts.append(_delimited(b"\x2a", span._name.encode("utf-8")))
    kind = _SPAN_KIND_MAP[span._kind]
    if kind:
        parts.append(b"\x30" + _varint(kind))
    if span._start_time:
        parts.append(b"\x39" + _FIXED64.pack(span._start_time))
    if span._end_time:
        parts.append(b"\x41" + _FIXED64.pack(span._end_time))
    attributes = span._attributes
    if attributes:
        # BoundedAttributes: its dict, read without the lock (the span has ended).
        parts += [_attribute(k, v) for k, v in getattr(attributes, "_dict", attributes).items()]
    status = span._status
    if status is not None:  # the SDK writes a Status message even when it is unset
        body = _delimited(b"\x12", status.description.encode("utf-8")) if status.description else b""
        code = status.status_code.value
        parts.append(_delimited(b"\x7a", body + (b"\x18" + _varint(code) if code else b"")))
    # Fields in number order, as protobuf serialises them: the bytes go out unparsed.
    parts += (_FLAGS, _FIXED32.pack(_span_flags(parent)))
    return b"".join(parts)


def encode_spans_bytes(spans: Sequence[Any]) -> bytes:
    """``encode_spans(spans).SerializeToString()``, written directly.

    >>> from opentelemetry.sdk.trace import TracerProvider
    >>> from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    >>> from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    >>> finished = InMemorySpanExporter()
    >>> provider = TracerProvider()
    >>> provider.add_span_processor(SimpleSpanProcessor(finished))
    >>> provider.get_tracer("example").start_span("predict fraud", attributes={"ml.batch.size": 3}).end()
    >>> encode_spans_bytes(finished.get_finished_spans()) == encode_spans(finished.get_finished_spans()).SerializeToString()
    True
    """
    # Grouped as the SDK groups them: resource, then instrumentation scope, in first-seen order.
    grouped: dict[Any, dict[Any, list[bytes]]] = {}
    for span in spans:
        scopes = grouped.setdefault(span.resource, {})
        scopes.setdefault(span.instrumentation_scope or None, []).append(_span(span))
    resource_spans = []
    for resource, scopes in grouped.items():
        scope_spans = []
        for scope, encoded in scopes.items():
            body = _delimited(b"\x0a", _encode_instrumentation_scope(scope).SerializeToString())
            body += b"".join([_delimited(b"\x12", e) for e in encoded])
            if scope is not None and scope.schema_url:
                body += _delimited(b"\x1a", scope.schema_url.encode("utf-8"))
            scope_spans.append(_delimited(b"\x12", body))
        body = _delimited(b"\x0a", _encode_resource(resource).SerializeToString()) + b"".join(scope_spans)
        if resource.schema_url:
            body += _delimited(b"\x1a", resource.schema_url.encode("utf-8"))
        resource_spans.append(_delimited(b"\x0a", body))
    return b"".join(resource_spans)


def _serialize_request(request: bytes | ExportTraceServiceRequest) -> bytes:
    # The fast encoder's bytes go out as they are; the SDK encoder's message (the fallback)
    # is serialised as the SDK's stub would.
    return request if isinstance(request, bytes) else request.SerializeToString()


class _TraceServiceStub:
    """The SDK's TraceServiceStub, accepting request bytes as well as messages: parsing the
    encoded request only for gRPC to serialise it again cost ~5 us per span."""

    def __init__(self, channel: Any) -> None:
        self.Export = channel.unary_unary(
            "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
            request_serializer=_serialize_request,
            response_deserializer=ExportTraceServiceResponse.FromString,
            _registered_method=True,
        )


class OTLPSpanExporter(_GrpcSpanExporter):
    """The SDK's OTLP/gRPC span exporter with the faster attribute encoding.

    >>> processor = BatchSpanProcessor(OTLPSpanExporter(endpoint="http://localhost:4317"))
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The mixin builds its client from _stub, now and whenever it reconnects.
        self._stub = _TraceServiceStub
        self._client = _TraceServiceStub(self._channel)  # type: ignore[assignment]

    def _translate_data(self, data: Sequence[Any]) -> bytes | ExportTraceServiceRequest:  # type: ignore[override]
        payload = _encoded_or_sdk(data)
        return encode_spans(data) if payload is None else payload


def _ignore(site: str, exc: BaseException) -> None:
    pass


# Where a fault of the fast encoding is reported (site, exception): handed in by the core,
# which counts it; this package imports nothing of modeltel's.
report: Callable[[str, BaseException], None] = _ignore


def _encoded_or_sdk(data: Sequence[Any]) -> bytes | None:
    """The fast encoding, or None after reporting its failure (the caller then uses the SDK's)."""
    try:
        return encode_spans_bytes(data)
    except Exception as exc:  # noqa: BLE001 - a fault here must not lose the batch
        report("span_encoding", exc)
        return None


class OTLPHttpSpanExporter(_HttpSpanExporter):
    """The SDK's OTLP/HTTP span exporter with the faster encoding.

    The SDK's HTTP exporter encodes in Python on the export thread, four times the CPU of this
    encoding per batch; sharing the GIL, predictions waited behind it. Only the encoding
    differs: the size limit, retries and the exporter's own metrics are the SDK's.

    >>> processor = BatchSpanProcessor(OTLPHttpSpanExporter(endpoint="http://localhost:4318/v1/traces"))
    """

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        payload = None if self._shutdown else _encoded_or_sdk(spans)
        if payload is None or 0 < self._max_request_size < len(payload):
            return super().export(spans)  # the SDK's own refusal or encoding, logged and counted
        with self._metrics.export_operation(len(spans)) as result:
            outcome = self._client.export(payload)
            if not outcome.success:
                result.error = outcome.error
                if outcome.status_code is not None:
                    result.error_attrs = {HTTP_RESPONSE_STATUS_CODE: outcome.status_code}
                return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS


def http_span_exporter(**kwargs: Any) -> Any:
    """``OTLPHttpSpanExporter(**kwargs)``, or the SDK's exporter where this SDK's lacks the
    parts it uses (they are internals)."""
    exporter = OTLPHttpSpanExporter(**kwargs)
    if all(hasattr(exporter, name) for name in ("_client", "_metrics", "_max_request_size", "_shutdown")):
        return exporter
    return _HttpSpanExporter(**kwargs)
