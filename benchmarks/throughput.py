"""Sustained throughput through the full pipeline: SDK -> OTLP/gRPC -> a real rotel collector
-> an OTLP receiver, with single-row predictions from several threads, and nothing dropped.

A LogisticRegression (20 features) with a drift reference and the label store on is called
with one row at a time from ``--threads`` threads for ``--seconds``. The tracer provider is
the one ``modeltel.instrument()`` installs (OTLP/gRPC, modeltel's span encoding, a queue of
16,384 spans unless OTEL_BSP_MAX_QUEUE_SIZE says otherwise), and its drops are counted by
the SDK's own counter (``otel.sdk.processor.span.processed{error.type=queue_full}``); the receiver counts what
arrives. The receiver runs in a process of its own, as a backend would: its decoding is not the
model server's cost. Prints predictions per second (overall and per core used), spans
dropped, spans received, and the same run uninstrumented for scale.

Run: python benchmarks/throughput.py [--threads 4] [--seconds 20]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED", "true")

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

import modeltel
from modeltel._local.otlp import RotelCollector

_RECEIVER = """
import sys
from modeltel._local.otlp import OtlpBackend
backend = OtlpBackend(keep=False).start()
print(backend.port, flush=True)
for line in sys.stdin:
    if line.strip() == "reset":
        backend.span_count = 0
    print(backend.span_count, flush=True)
backend.stop()
"""


class ReceiverProcess:
    """An OTLP receiver that counts spans, in a child process; ``ask("count")`` reads it."""

    def __init__(self) -> None:
        import subprocess
        import sys

        self._process = subprocess.Popen(
            [sys.executable, "-c", _RECEIVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.port = int(self._process.stdout.readline())  # type: ignore[union-attr]

    def ask(self, command: str) -> int:
        self._process.stdin.write(command + "\n")  # type: ignore[union-attr]
        self._process.stdin.flush()  # type: ignore[union-attr]
        return int(self._process.stdout.readline())  # type: ignore[union-attr]

    def stop(self) -> None:
        self._process.stdin.close()  # type: ignore[union-attr]
        self._process.wait(timeout=10)


def run(predict: object, threads: int, seconds: float) -> tuple[int, float, float]:
    """Calls made, wall seconds, CPU seconds of this process."""
    stop = threading.Event()
    counts = [0] * threads

    def loop(k: int) -> None:
        rows = np.random.default_rng(k).normal(size=(1000, 20))
        i = 0
        while not stop.is_set():
            predict(rows[i % 1000 : i % 1000 + 1])  # type: ignore[operator]
            i += 1
        counts[k] = i

    workers = [threading.Thread(target=loop, args=(k,)) for k in range(threads)]
    cpu, wall = time.process_time(), time.perf_counter()
    for w in workers:
        w.start()
    time.sleep(seconds)
    stop.set()
    for w in workers:
        w.join()
    return sum(counts), time.perf_counter() - wall, time.process_time() - cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args(argv)

    backend = ReceiverProcess()
    collector = RotelCollector(backend.port, Path(tempfile.mkdtemp(prefix="modeltel-throughput-"))).start()
    # The application's meter provider (read here for the SDK's drop counter); the tracer
    # provider is the one modeltel.instrument() installs: OTLP/gRPC with modeltel's span
    # exporter and export queue, as a one-line user gets.
    reader = InMemoryMetricReader()
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))

    from opentelemetry.instrumentation.utils import suppress_instrumentation
    from sklearn.linear_model import LogisticRegression

    X = np.random.default_rng(0).normal(size=(5000, 20))
    y = (X[:, 0] > 0).astype(int)
    model = LogisticRegression().fit(X, y)
    with suppress_instrumentation():
        reference = modeltel.Reference.from_data(X, predictions=model.predict_proba(X), labels=y)

    modeltel.instrument(endpoint=collector.endpoint, service_name="throughput")
    provider = trace.get_tracer_provider()
    modeltel.register(model, name="throughput", reference=reference)
    run(model.predict, args.threads, 2.0)  # warm-up
    backend.ask("reset")
    calls, wall, cpu = run(model.predict, args.threads, args.seconds)
    provider.force_flush()
    time.sleep(1.0)
    dropped = 0
    for rm in reader.get_metrics_data().resource_metrics:
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                if m.name == "otel.sdk.processor.span.processed":
                    dropped += sum(p.value for p in m.data.data_points if p.attributes.get("error.type"))
    received = backend.ask("count")
    modeltel.uninstrument()
    bare_calls, bare_wall, _ = run(model.predict, args.threads, min(args.seconds, 5.0))
    provider.shutdown()
    collector.stop()
    backend.stop()

    cores = cpu / wall
    print(
        f"{args.threads} threads, single-row LogisticRegression.predict (20 features, drift + labels on), "
        f"{args.seconds:.0f} s through rotel"
    )
    print(
        f"instrumented   {calls / wall:8.0f} predictions/s  ({cores:.2f} cores busy: {calls / cpu:.0f} per CPU-second)"
    )
    print(
        f"uninstrumented {bare_calls / bare_wall:8.0f} predictions/s  "
        f"(instrumented / uninstrumented, this run: {calls / wall / (bare_calls / bare_wall):.2f})"
    )
    print(f"spans          {received} received of {calls} (+ warm-up); dropped by the SDK queue: {dropped:.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
