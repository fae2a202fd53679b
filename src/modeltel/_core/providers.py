"""SDK providers for applications that did not configure OpenTelemetry themselves.

Each global provider (traces, metrics, logs) is handled on its own: one the application
(or ``opentelemetry-instrument``) already set is used untouched; one still at the API default
is replaced by an SDK provider exporting over OTLP, configured like ``opentelemetry-distro``
from the standard ``OTEL_*`` variables. Exporting happens on background threads with bounded
queues, so nothing here ever blocks a prediction on the network.
"""

from __future__ import annotations

import os
import random
import signal
import threading
from collections.abc import Mapping
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry._logs import set_logger_provider
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator

from modeltel._core import shutdown
from modeltel._core.internal_errors import report_internal_error
from modeltel._sdk.exporters import span_exporter
from modeltel._sdk.proxies import unconfigured_signals
from modeltel.errors import ModeltelValueError

__all__ = ["install_providers", "unconfigured_signals"]

SIGNALS = ("traces", "metrics", "logs")
_PROTOCOLS = ("grpc", "http/protobuf")
_EXPORTERS = ("otlp", "console", "none")
_HTTP_PATHS = {"traces": "/v1/traces", "metrics": "/v1/metrics", "logs": "/v1/logs"}


def _choice(environ: Mapping[str, str], names: tuple[str, ...], allowed: tuple[str, ...], default: str) -> str:
    for name in names:
        raw = environ.get(name, "").strip()
        if raw:
            value = raw.lower()
            if value not in allowed:
                raise ModeltelValueError(f"{name}={raw!r} is not supported; use one of {', '.join(allowed)}")
            return value
    return default


def exporter_kind(signal: str, environ: Mapping[str, str]) -> str:
    """``otlp`` (default), ``console`` or ``none``, from ``OTEL_{SIGNAL}_EXPORTER``."""
    return _choice(environ, (f"OTEL_{signal.upper()}_EXPORTER",), _EXPORTERS, "otlp")


def otlp_protocol(signal: str, environ: Mapping[str, str]) -> str:
    return _choice(
        environ,
        (f"OTEL_EXPORTER_OTLP_{signal.upper()}_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"),
        _PROTOCOLS,
        "grpc",
    )


def _endpoint_kwargs(signal: str, protocol: str, endpoint: str | None) -> dict[str, Any]:
    if endpoint is None:
        return {}  # the exporters read OTEL_EXPORTER_OTLP_[SIGNAL_]ENDPOINT themselves
    if protocol == "http/protobuf":
        # An explicit base endpoint gets the per-signal path, as the env variable does.
        return {"endpoint": endpoint.rstrip("/") + _HTTP_PATHS[signal]}
    return {"endpoint": endpoint}


def _exporter(signal: str, environ: Mapping[str, str], endpoint: str | None) -> Any:
    kind = exporter_kind(signal, environ)
    if kind == "none":
        return None
    if kind == "console":
        if signal == "traces":
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter

            return ConsoleSpanExporter()
        if signal == "metrics":
            from opentelemetry.sdk.metrics.export import ConsoleMetricExporter

            return ConsoleMetricExporter()
        from opentelemetry.sdk._logs.export import ConsoleLogRecordExporter

        return ConsoleLogRecordExporter()
    protocol = otlp_protocol(signal, environ)
    kwargs = _endpoint_kwargs(signal, protocol, endpoint)
    if signal == "traces":
        return span_exporter(protocol, report_internal_error, **kwargs)
    if protocol == "grpc":
        if signal == "metrics":
            from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter

            return OTLPMetricExporter(**kwargs)
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter

        return OTLPLogExporter(**kwargs)
    if signal == "metrics":
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpMetric

        return HttpMetric(**kwargs)
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLog

    return HttpLog(**kwargs)


def check_environment(environ: Mapping[str, str] | None = None) -> None:
    """Validate the ``OTEL_*`` exporter variables up front, so a typo fails at start-up."""
    environ = os.environ if environ is None else environ
    for name in SIGNALS:
        exporter_kind(name, environ)
        otlp_protocol(name, environ)


# Spans the export queue holds when OTEL_BSP_MAX_QUEUE_SIZE is not set: eight times the SDK's
# 2,048. The export thread shares the GIL with the predicting threads, which can keep it from
# running for seconds: with four threads predicting without pause, one 512-span export took up
# to 2 s of wall time (median 55-75 ms) and the queue peaked at 12,021 spans at ~2,200
# predictions/s; 8,192 dropped spans in 3 of 8 runs of benchmarks/throughput.py (2026-11-29).
# A queued prediction span holds ~4 KB: 64 MB at most, used only while export lags.
SPAN_QUEUE_SIZE = 16384


def _span_queue_size(environ: Mapping[str, str]) -> int | None:
    # None: the SDK reads the variable (and validates it) itself.
    return None if environ.get("OTEL_BSP_MAX_QUEUE_SIZE") else SPAN_QUEUE_SIZE


class PrivateRandomIdGenerator(RandomIdGenerator):
    """Random trace and span ids from a generator of its own.

    The SDK's default draws from the ``random`` module's global generator, so every span
    moved an application's seeded sequence (``random.seed(42)`` then ``random.random()``
    gave other numbers once predictions were traced). Reseeded from the OS in a forked
    child, as the global one is, so pre-fork workers never share ids.

    >>> provider = TracerProvider(id_generator=PrivateRandomIdGenerator())
    """

    def __init__(self) -> None:
        self._random = random.Random()
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._random.seed)

    def generate_span_id(self) -> int:
        span_id = self._random.getrandbits(64)
        while span_id == trace.INVALID_SPAN_ID:
            span_id = self._random.getrandbits(64)
        return span_id

    def generate_trace_id(self) -> int:
        trace_id = self._random.getrandbits(128)
        while trace_id == trace.INVALID_TRACE_ID:
            trace_id = self._random.getrandbits(128)
        return trace_id


def install_providers(
    signals: list[str],
    *,
    service_name: str | None,
    endpoint: str | None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Install SDK providers for ``signals``; returns them by signal name.

    >>> install_providers([], service_name="fraud-api", endpoint="http://collector:4317")  # none missing here
    {}
    """
    environ = os.environ if environ is None else environ
    resource = Resource.create({SERVICE_NAME: service_name} if service_name else {})
    installed: dict[str, Any] = {}
    if "metrics" in signals:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

        exporter = _exporter("metrics", environ, endpoint)
        readers = [PeriodicExportingMetricReader(exporter)] if exporter is not None else []
        # No flush at exit of the SDK's own: modeltel's (shutdown.py) is bounded in time.
        provider = MeterProvider(resource=resource, metric_readers=readers, shutdown_on_exit=False)
        metrics.set_meter_provider(provider)
        installed["metrics"] = provider
    # The SDK's processors count what they drop (otel.sdk.processor.*.processed with
    # error.type=queue_full) when OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED=true, on the meter
    # provider given here: hence metrics first.
    meter_provider = metrics.get_meter_provider()
    if "traces" in signals:
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        tracer_provider = TracerProvider(
            resource=resource, shutdown_on_exit=False, id_generator=PrivateRandomIdGenerator()
        )
        exporter = _exporter("traces", environ, endpoint)
        if exporter is not None:
            tracer_provider.add_span_processor(
                BatchSpanProcessor(exporter, max_queue_size=_span_queue_size(environ), meter_provider=meter_provider)
            )
        trace.set_tracer_provider(tracer_provider)
        installed["traces"] = tracer_provider
    if "logs" in signals:
        from opentelemetry.sdk._logs import LoggerProvider
        from opentelemetry.sdk._logs.export import BatchLogRecordProcessor

        logger_provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
        exporter = _exporter("logs", environ, endpoint)
        if exporter is not None:
            logger_provider.add_log_record_processor(BatchLogRecordProcessor(exporter, meter_provider=meter_provider))
        set_logger_provider(logger_provider)
        installed["logs"] = logger_provider
    return installed


def flush_on_sigterm() -> bool:
    """Flush the providers modeltel installed (``shutdown.shutdown``, bounded in time) when the
    process gets SIGTERM, then die of it as before. Returns whether the handler was installed.

    Servers that stop gracefully on SIGTERM end by re-raising it with the handler found at
    start (uvicorn does): with the default one the process dies without running ``atexit``,
    so the SDK's last spans and the last metric interval were lost on every deploy. Only the
    default handler is replaced (an application's own is left alone), and only from the main
    thread, where Python allows it.

    >>> flush_on_sigterm()
    True
    """
    if threading.current_thread() is not threading.main_thread():
        return False
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return False

    def handler(signum: int, frame: Any) -> None:
        try:
            shutdown.shutdown()
        except Exception:  # noqa: BLE001, S110 - dying anyway; never block the exit on a flush error
            pass
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    signal.signal(signal.SIGTERM, handler)
    return True
