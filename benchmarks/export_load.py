"""Single-row latency while the export thread works: healthy, failing and unreachable collectors.

A model server's predictions share the GIL with the thread that exports spans, so what that
thread does (encoding batches, retrying, logging) shows in the predictions' tail. Each case
runs a fresh process that calls ``modeltel.instrument()`` (its own providers, OTLP) pointed
at a local endpoint, then makes paced single-row LogisticRegression predictions (``--rate``
per second for ``--seconds``) and prints the latency percentiles, the worst call, the number
of span exports and the export thread's CPU per export. The endpoints, all on 127.0.0.1:
an OTLP/gRPC receiver, OTLP/HTTP servers answering 200, 500 (not retried) and 503 (retried),
a closed port, and a server that accepts connections and never answers.

Run: python benchmarks/export_load.py [--rate 1000] [--seconds 15] [--cases grpc http-200 ...]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_LOAD = r"""
import json, os, sys, time
import numpy as np
import modeltel
from opentelemetry import trace
from sklearn.linear_model import LogisticRegression

modeltel.instrument(service_name="export-load", endpoint=sys.argv[1], frameworks=["sklearn"])
exporter = trace.get_tracer_provider()._active_span_processor._span_processors[0]._batch_processor._exporter
original, exports = exporter.export, []

def export(batch):
    cpu = time.thread_time()
    try:
        return original(batch)
    finally:
        exports.append(time.thread_time() - cpu)

exporter.export = export
rng = np.random.default_rng(0)
X = rng.normal(size=(200, 8))
model = LogisticRegression().fit(X, X[:, 0] > 0)
row = X[:1]
rate, seconds = float(sys.argv[2]), float(sys.argv[3])
for _ in range(500):
    model.predict(row)
times = np.empty(int(rate * seconds))
clock = time.perf_counter
start = clock()
for i in range(len(times)):
    due = start + i / rate
    while clock() < due:
        time.sleep(0.0002)
    began = clock()
    model.predict(row)
    times[i] = clock() - began
times *= 1e6
print(json.dumps({
    "p50": float(np.percentile(times, 50)), "p99": float(np.percentile(times, 99)),
    "p999": float(np.percentile(times, 99.9)), "worst": float(times.max()),
    "exports": len(exports), "cpu_ms": 1e3 * float(np.mean(exports)) if exports else 0.0,
}), flush=True)
os._exit(0)  # the exit itself is measured by tests/integration/test_shutdown.py, not here
"""


def _http_server(status: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", 0)))
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _silent_server() -> socket.socket:
    """Accepts connections and never answers (a hung collector)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    return listener


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


CASES = ("grpc", "http-200", "http-500", "http-503", "grpc-closed", "grpc-silent")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES))
    args = parser.parse_args()

    from modeltel._local.otlp import OtlpBackend

    backend = OtlpBackend(keep=False).start()
    print(f"{args.rate:g} single-row predictions/s for {args.seconds:g} s per case (us)")
    print(f"{'endpoint':<12} {'p50':>7} {'p99':>7} {'p99.9':>7} {'worst':>8} {'exports':>8} {'cpu ms/export':>14}")
    for case in args.cases:
        env: dict[str, str] = {}
        closers: list[Any] = []
        if case == "grpc":
            endpoint = f"http://127.0.0.1:{backend.port}"
        elif case.startswith("http-"):
            server = _http_server(int(case[5:]))
            closers.append(server.shutdown)
            endpoint = f"http://127.0.0.1:{server.server_address[1]}"
            env["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf"
        elif case == "grpc-closed":
            endpoint = f"http://127.0.0.1:{_closed_port()}"
        else:
            listener = _silent_server()
            closers.append(listener.close)
            endpoint = f"http://127.0.0.1:{listener.getsockname()[1]}"
        out = subprocess.run(
            [sys.executable, "-c", _LOAD, endpoint, str(args.rate), str(args.seconds)],
            capture_output=True,
            text=True,
            env={**os.environ, **env},
            timeout=args.seconds * 4 + 120,
        )
        for close in closers:
            close()
        if out.returncode != 0:
            print(f"{case:<12} failed: {out.stderr.strip().splitlines()[-1:]}")
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"{case:<12} {r['p50']:>7.0f} {r['p99']:>7.0f} {r['p999']:>7.0f} {r['worst']:>8.0f} "
            f"{r['exports']:>8} {r['cpu_ms']:>14.1f}"
        )
    backend.stop()


if __name__ == "__main__":
    main()
