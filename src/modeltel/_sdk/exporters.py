"""The OTLP span exporter modeltel installs: the SDK's, with modeltel's span encoding where
this SDK version supports it (``FAST_PATHS``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from modeltel._sdk import FAST_PATHS


def span_exporter(protocol: str, report: Callable[[str, BaseException], None], **kwargs: Any) -> Any:
    """An OTLP span exporter for ``protocol`` (``grpc`` or ``http/protobuf``); ``report``
    receives a fault of the fast encoding (the batch then goes out through the SDK's).

    >>> exporter = span_exporter("grpc", lambda site, exc: None, endpoint="http://localhost:4317")
    """
    if FAST_PATHS:
        try:
            from modeltel._sdk import otlp_encoding
        except ImportError:  # an SDK build without the internals it reads
            pass
        else:
            otlp_encoding.report = report
            if protocol == "grpc":
                return otlp_encoding.OTLPSpanExporter(**kwargs)
            return otlp_encoding.http_span_exporter(**kwargs)
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as Grpc

        return Grpc(**kwargs)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as Http

    return Http(**kwargs)
