"""Collector faults, with a real rotel process that is stopped, killed and restarted: predictions
keep their results and never wait on the network; telemetry resumes when the collector is back,
and what was queued meanwhile is delivered."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from modeltel._local.otlp import OtlpBackend, RotelCollector

pytestmark = pytest.mark.integration

# A model process driven through stdin, one command per line, so the test can break the
# collector between phases. It answers each phase with the predictions' checksum and the
# slowest call's duration.
APP = textwrap.dedent(
    """
    import json, sys, time
    import numpy as np
    import modeltel
    modeltel.instrument(service_name="faulty")
    from sklearn.linear_model import LogisticRegression
    X = np.random.default_rng(0).normal(size=(400, 5))
    clf = LogisticRegression().fit(X, (X[:, 0] > 0).astype(int))
    modeltel.register(clf, name="fault-model")
    for line in sys.stdin:
        phase, calls = line.split()
        slowest, total = 0.0, 0.0
        for i in range(int(calls)):
            start = time.perf_counter()
            total += float(clf.predict_proba(X[i % 300 : i % 300 + 10]).sum())
            slowest = max(slowest, time.perf_counter() - start)
        print(json.dumps({"phase": phase, "checksum": total, "slowest": slowest}), flush=True)
    from opentelemetry import trace
    trace.get_tracer_provider().shutdown()
    """
)


class App:
    def __init__(self, endpoint: str, **extra_env: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "MODELTEL_"))}
        env.update(OTEL_EXPORTER_OTLP_ENDPOINT=endpoint, OTEL_BSP_SCHEDULE_DELAY="100", OTEL_METRICS_EXPORTER="none")
        env.update(extra_env)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", APP],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def phase(self, name: str, calls: int) -> dict:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(f"{name} {calls}\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self) -> str:
        _, err = self.proc.communicate(timeout=60)  # closes stdin: the app flushes and exits
        assert self.proc.returncode == 0, err
        return err


def expected_checksum(calls: int) -> float:
    """The same predictions, uninstrumented, in this process."""
    import numpy as np
    from opentelemetry.instrumentation.utils import suppress_instrumentation
    from sklearn.linear_model import LogisticRegression

    X = np.random.default_rng(0).normal(size=(400, 5))
    with suppress_instrumentation():
        clf = LogisticRegression().fit(X, (X[:, 0] > 0).astype(int))
        return sum(float(clf.predict_proba(X[i % 300 : i % 300 + 10]).sum()) for i in range(calls))


def spans(backend: OtlpBackend) -> int:
    return sum(s.name == "predict_proba fault-model" for s in backend.spans)


def test_collector_down_at_start_then_killed_and_restarted(tmp_path: Path):
    backend = OtlpBackend().start()
    collector = RotelCollector(backend.port, tmp_path)
    app = App(collector.endpoint)  # nothing listens there yet
    try:
        down = app.phase("down", 50)
        assert down["checksum"] == pytest.approx(expected_checksum(50), rel=1e-12)
        # No call waits for the network: a blocked export would take the exporter's timeout (10 s).
        assert down["slowest"] < 1.0, down

        collector.start()
        up = app.phase("up", 50)
        # What was queued while the collector was down arrives once it is up, with the rest.
        assert backend.wait_for(lambda b: spans(b) >= 100, timeout=30), spans(backend)

        collector.process.kill()  # no graceful shutdown
        collector.process.wait()
        killed = app.phase("killed", 50)
        assert killed["slowest"] < 1.0, killed
        time.sleep(0.5)
        collector.start()  # same ports: the app's exporter reconnects
        app.phase("restarted", 50)
        assert backend.wait_for(lambda b: spans(b) >= 200, timeout=40), spans(backend)
        assert up["checksum"] == killed["checksum"] == pytest.approx(expected_checksum(50), rel=1e-12)
    finally:
        err = app.close()
        collector.stop()
        backend.stop()
    assert "Traceback" not in err, err


def test_collector_that_accepts_but_never_answers_does_not_slow_predictions(tmp_path: Path):
    import socket

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)  # the kernel accepts connections; nobody ever reads or answers
    app = App(f"http://127.0.0.1:{silent.getsockname()[1]}")
    try:
        for phase in ("first", "second", "third"):
            result = app.phase(phase, 100)
            assert result["slowest"] < 1.0, result
            time.sleep(0.3)  # let the export thread try, and hang
    finally:
        app.proc.kill()
        app.proc.wait()
        silent.close()


DROPS = textwrap.dedent(
    """
    import numpy as np
    import modeltel
    modeltel.instrument(service_name="dropping")
    from sklearn.linear_model import LogisticRegression
    X = np.random.default_rng(0).normal(size=(100, 3))
    clf = modeltel.register(LogisticRegression().fit(X, (X[:, 0] > 0).astype(int)), name="drop-model")
    for i in range(300):
        clf.predict(X[i % 90 : i % 90 + 5])
    from opentelemetry import metrics
    metrics.get_meter_provider().force_flush()
    print("done")
    """
)


def test_spans_dropped_while_the_trace_endpoint_is_down_are_counted(tmp_path: Path):
    from modeltel._local.otlp import attributes, free_port

    backend = OtlpBackend().start()
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "MODELTEL_"))}
        env.update(
            OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=f"http://127.0.0.1:{free_port()}",  # nobody there
            OTEL_EXPORTER_OTLP_METRICS_ENDPOINT=f"http://127.0.0.1:{backend.port}",
            OTEL_LOGS_EXPORTER="none",
            OTEL_BSP_MAX_QUEUE_SIZE="32",
            OTEL_BSP_MAX_EXPORT_BATCH_SIZE="16",
            OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED="true",
            OTEL_EXPORTER_OTLP_TRACES_TIMEOUT="1",
        )
        proc = subprocess.run([sys.executable, "-c", DROPS], env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0 and "done" in proc.stdout, proc.stderr
        assert backend.wait_for(lambda b: any(m.name == "otel.sdk.processor.span.processed" for m in b.metrics))
        dropped = [
            p.as_int
            for m in backend.metrics
            if m.name == "otel.sdk.processor.span.processed"
            for p in m.sum.data_points
            if attributes(p.attributes).get("error.type") == "queue_full"
        ]
        # 300 spans into a 32-span queue that cannot drain: most are dropped, and counted.
        assert dropped and max(dropped) >= 200, dropped
    finally:
        backend.stop()


def test_an_otlp_endpoint_answering_errors_changes_no_prediction(tmp_path: Path):
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: list[str] = []

    class Failing(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            seen.append(self.path)
            self.send_response(503 if len(seen) % 2 else 400)  # retryable, then not
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Failing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    app = App(
        f"http://127.0.0.1:{server.server_address[1]}",
        OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
        OTEL_EXPORTER_OTLP_TIMEOUT="2",
    )
    try:
        first = app.phase("first", 100)
        time.sleep(0.5)  # exports have been refused by now
        second = app.phase("second", 100)
        assert first["checksum"] == second["checksum"] == pytest.approx(expected_checksum(100), rel=1e-12)
        assert max(first["slowest"], second["slowest"]) < 1.0
    finally:
        app.close()
        server.shutdown()
    assert seen and set(seen) == {"/v1/traces"}  # the exporter really met the errors
