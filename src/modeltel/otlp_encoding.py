"""OTLP span encoding that writes attribute bytes directly: the exporter modeltel installs.

The SDK's encoder builds one protobuf message per attribute value and per array element in
Python (~1.6 us each). A prediction span carries four arrays of one value per feature, so with
20 features encoding cost 160 us per span, six times the span itself, on the exporter thread
of the model server's process (it shares the GIL with the predictions): the throughput
benchmark was bound by it. Here every attribute is written in protobuf wire format with
cached key bytes and vectorised float arrays, then parsed once per span by the C protobuf
runtime (~15 us per span). The bytes are the SDK encoder's, which tests/test_otlp_encoding.py
checks on every value type; anything else (a mapping value) goes through the SDK's encoder.

Only modeltel's own gRPC span exporter uses it (``instrument()`` without an application
tracer provider); an application's exporters are left as they are.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any

import numpy as np
from opentelemetry.exporter.otlp.proto.common._internal import _encode_key_value, _encode_span_id
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as _GrpcSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan

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
# Arrays that repeat span after span (a model's feature names, class labels), encoded once.
_repeated: dict[tuple[Any, ...], bytes] = {}


def _doubles(values: Sequence[float]) -> bytes:
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
    if values and type(values[0]) is float and all(type(v) is float for v in values):
        return _doubles(values)
    # Only tuples of str: 1 == True == 1.0 would make other tuples share an entry.
    cacheable = type(values) is tuple and all(type(v) is str for v in values)
    if cacheable:
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
    if cacheable and len(_repeated) < 1024:
        _repeated[values] = encoded_array
    return encoded_array


def _attribute(key: str, value: Any) -> bytes:
    """One Span.attributes entry (a KeyValue) as bytes."""
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


def _without_attributes(span: Any) -> Any:
    """A copy of a finished SDK span less its attributes (written afterwards as bytes), or
    None for anything else, or a span that dropped attributes (its count must be exported)."""
    if type(span) is not ReadableSpan or not span._attributes or span.dropped_attributes:  # noqa: SLF001
        return None
    clone = object.__new__(ReadableSpan)
    clone.__dict__.update(span.__dict__)
    clone._attributes = None  # noqa: SLF001
    return clone


def encode_spans_fast(spans: Sequence[Any]) -> ExportTraceServiceRequest:
    """The SDK's ``encode_spans(spans)``, with span attributes written as bytes.

    >>> request = encode_spans_fast(finished_spans)
    """
    stripped = [_without_attributes(span) for span in spans]
    request = encode_spans([span if clone is None else clone for span, clone in zip(spans, stripped)])
    by_id = {_encode_span_id(span.context.span_id): span for span, clone in zip(spans, stripped) if clone is not None}
    for resource_spans in request.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            for encoded in scope_spans.spans:
                span = by_id.get(encoded.span_id)
                if span is not None:
                    attributes = span._attributes  # noqa: SLF001
                    items = getattr(attributes, "_dict", attributes).items()  # BoundedAttributes: its dict, lock-free once ended
                    encoded.MergeFromString(b"".join([_attribute(k, v) for k, v in items]))
    return request


class OTLPSpanExporter(_GrpcSpanExporter):  # type: ignore[misc]
    """The SDK's OTLP/gRPC span exporter with the faster attribute encoding.

    >>> BatchSpanProcessor(OTLPSpanExporter(endpoint="http://localhost:4317"))
    """

    def _translate_data(self, data: Sequence[Any]) -> ExportTraceServiceRequest:
        return encode_spans_fast(data)
