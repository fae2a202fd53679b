"""Real OTLP plumbing for tests and demos: an OTLP/gRPC backend that records what arrives,
and a rotel collector process (PyPI ``rotel``) in front of it.

Use them to check, on one machine, that telemetry really leaves a process over OTLP and
passes a collector unchanged:

>>> backend = OtlpBackend().start()
>>> collector = RotelCollector(backend.port, tmp_path).start()
>>> collector.endpoint.startswith("http://127.0.0.1:")
True
>>> collector.stop()
>>> backend.stop()
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.01)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def _attr_value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_attr_value(v) for v in value.array_value.values]
    return getattr(value, kind) if kind else None


def attributes(kvs: Any) -> dict[str, Any]:
    return {kv.key: _attr_value(kv.value) for kv in kvs}


class OtlpBackend:
    """Records OTLP export requests received over gRPC."""

    def __init__(self, tls: tuple[bytes, bytes] | None = None, keep: bool = True) -> None:
        """``tls``: (private key, certificate chain) in PEM to serve OTLP over TLS. ``keep=False``
        only counts spans (``span_count``), for long runs whose memory is being measured."""
        self.port = free_port()
        self.keep = keep
        self.span_count = 0
        self.headers: list[dict[str, str]] = []  # request metadata of every trace export
        self.spans: list[Any] = []
        self.resources: list[dict[str, Any]] = []
        self.span_resources: dict[bytes, dict[str, Any]] = {}  # span id -> its resource attributes
        self.metrics: list[Any] = []
        self.metric_resources: list[tuple[dict[str, Any], Any]] = []  # (resource attributes, metric)
        self.logs: list[Any] = []
        self._lock = threading.Lock()
        backend = self

        class Traces(trace_service_pb2_grpc.TraceServiceServicer):
            def Export(self, request, context):
                with backend._lock:
                    if not backend.keep:
                        backend.span_count += sum(
                            len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans
                        )
                        return trace_service_pb2.ExportTraceServiceResponse()
                    backend.headers.append(dict(context.invocation_metadata()))
                    for rs in request.resource_spans:
                        resource = attributes(rs.resource.attributes)
                        backend.resources.append(resource)
                        for ss in rs.scope_spans:
                            backend.span_count += len(ss.spans)
                            backend.spans.extend(ss.spans)
                            backend.span_resources.update((s.span_id, resource) for s in ss.spans)
                return trace_service_pb2.ExportTraceServiceResponse()

        class Metrics(metrics_service_pb2_grpc.MetricsServiceServicer):
            def Export(self, request, context):
                if not backend.keep:
                    return metrics_service_pb2.ExportMetricsServiceResponse()
                with backend._lock:
                    for rm in request.resource_metrics:
                        resource = attributes(rm.resource.attributes)
                        for sm in rm.scope_metrics:
                            backend.metrics.extend(sm.metrics)
                            backend.metric_resources.extend((resource, m) for m in sm.metrics)
                return metrics_service_pb2.ExportMetricsServiceResponse()

        class Logs(logs_service_pb2_grpc.LogsServiceServicer):
            def Export(self, request, context):
                if not backend.keep:
                    return logs_service_pb2.ExportLogsServiceResponse()
                with backend._lock:
                    for rl in request.resource_logs:
                        for sl in rl.scope_logs:
                            backend.logs.extend(sl.log_records)
                return logs_service_pb2.ExportLogsServiceResponse()

        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Traces(), self._server)
        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(Metrics(), self._server)
        logs_service_pb2_grpc.add_LogsServiceServicer_to_server(Logs(), self._server)
        if tls is None:
            self._server.add_insecure_port(f"127.0.0.1:{self.port}")
        else:
            self._server.add_secure_port(f"127.0.0.1:{self.port}", grpc.ssl_server_credentials([tls]))

    def start(self) -> OtlpBackend:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop(grace=None)

    def wait_for(self, predicate: Any, timeout: float = 15.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if predicate(self):
                    return True
            time.sleep(0.05)
        return False

    def span_attributes(self) -> list[tuple[str, dict[str, Any], Any]]:
        with self._lock:
            return [(s.name, attributes(s.attributes), s) for s in self.spans]

    def metric_names(self) -> set[str]:
        with self._lock:
            return {m.name for m in self.metrics}


def rotel_binary() -> str:
    import rotel

    path = Path(rotel.__file__).parent / "rotel-agent"
    if not path.exists():
        found = shutil.which("rotel-agent")
        if not found:
            raise FileNotFoundError("rotel-agent binary not found; pip install rotel")
        return found
    return str(path)


class RotelCollector:
    """A real rotel OTLP collector process forwarding every signal to ``backend_port``, or
    metrics to ``metrics_endpoint`` (OTLP/HTTP, e.g. vmagent's) when given."""

    def __init__(self, backend_port: int, workdir: Path, metrics_endpoint: str | None = None) -> None:
        self.metrics_endpoint = metrics_endpoint
        self.grpc_port = free_port()
        self.http_port = free_port()
        self.backend_port = backend_port
        self.workdir = workdir
        self.log_file = workdir / f"rotel-{self.grpc_port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> RotelCollector:
        cmd = [
            rotel_binary(),
            "start",
            "--otlp-grpc-endpoint",
            f"127.0.0.1:{self.grpc_port}",
            "--otlp-http-endpoint",
            f"127.0.0.1:{self.http_port}",
            "--exporter",
            "otlp",
            "--otlp-exporter-endpoint",
            f"http://127.0.0.1:{self.backend_port}",
            "--otlp-exporter-protocol",
            "grpc",
            "--batch-timeout",
            "100ms",
            "--pid-file",
            str(self.workdir / f"rotel-{self.grpc_port}.pid"),
            "--log-file",
            str(self.log_file),
        ]
        if self.metrics_endpoint:
            cmd += [
                "--otlp-exporter-metrics-endpoint",
                self.metrics_endpoint,
                "--otlp-exporter-metrics-protocol",
                "http",
            ]
        self.process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        wait_for_port(self.grpc_port)
        return self

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.grpc_port}"

    def stop(self) -> None:
        stop_process(self.process)


def stop_process(process: subprocess.Popen[Any] | None, timeout: float = 10.0) -> None:
    """SIGTERM, and SIGKILL if it is still there after ``timeout`` seconds."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
