"""Soak: mixed prediction traffic for a long time through a real collector that restarts.

Four threads predict (single rows and batches, predict and predict_proba, occasional model
errors, labels for half of the predictions) on a model with drift monitoring and the label
store on, for ``--duration`` seconds, while the rotel collector in front of the OTLP backend
is restarted every ``--restart-every`` seconds (SIGTERM, then started again on the same ports).

Reported: RSS after warm-up and at the end (and its slope over the second half), spans the
SDK's exporter saw acknowledged vs spans the backend received (nothing acknowledged may be
lost), spans dropped before export, threads alive at the start and the end (no stuck or
leaked threads), and the slowest prediction call.

Run: python benchmarks/soak.py [--duration 600] [--restart-every 120]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from opentelemetry import metrics, trace
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

import modeltel
from modeltel._core.providers import SPAN_QUEUE_SIZE
from modeltel._local.otlp import OtlpBackend, RotelCollector

sys.path.insert(0, str(Path(__file__).resolve().parent))
from label_store import rss_mb


class CountingExporter(SpanExporter):
    """The OTLP exporter, counting spans whose export the collector acknowledged."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner
        self.acknowledged = 0
        self.failed = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        result = self.inner.export(spans)
        if result is SpanExportResult.SUCCESS:
            self.acknowledged += len(spans)
        else:
            self.failed += len(spans)
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=600.0)
    parser.add_argument("--restart-every", type=float, default=120.0)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="modeltel-soak-"))
    backend = OtlpBackend(keep=False).start()  # counts only: its memory is not ours
    collector = RotelCollector(backend.port, workdir).start()
    exporter = CountingExporter(OTLPSpanExporter(endpoint=collector.endpoint, timeout=5))
    processor = BatchSpanProcessor(exporter, max_queue_size=SPAN_QUEUE_SIZE)  # as instrument() installs
    provider = TracerProvider()
    provider.add_span_processor(processor)
    trace.set_tracer_provider(provider)
    reader = PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=collector.endpoint, timeout=5), 5000)
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
    modeltel.instrument()

    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = rng.normal(size=(5000, 20))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    model = LogisticRegression().fit(X, y)
    reference = modeltel.Reference.from_data(X[:2000], predictions=model.predict_proba(X[:2000]), labels=y[:2000])
    modeltel.register(model, name="soak", reference=reference)

    stop = threading.Event()
    calls = [0] * args.threads
    # Per-call durations, bounded: the last 100,000 of each thread.
    durations = [np.zeros(100_000) for _ in range(args.threads)]

    def traffic(k: int) -> None:
        local = np.random.default_rng(k)
        while not stop.is_set():
            i = int(local.integers(0, 4900))
            rows = 1 if local.random() < 0.7 else int(local.integers(2, 100))
            start = time.perf_counter()
            try:
                if local.random() < 0.01:
                    model.predict(X[i : i + rows, :5])  # wrong width: the model raises
                elif local.random() < 0.5:
                    model.predict(X[i : i + rows])
                else:
                    model.predict_proba(X[i : i + rows])
            except ValueError:
                pass
            durations[k][calls[k] % 100_000] = time.perf_counter() - start
            calls[k] += 1
            ids = modeltel.last_prediction_ids()
            if ids and local.random() < 0.5:
                modeltel.record_labels(ids, y[i : i + len(ids)].tolist())

    threads = [threading.Thread(target=traffic, args=(k,), daemon=True) for k in range(args.threads)]
    started = time.monotonic()
    for t in threads:
        t.start()
    warmup = min(60.0, args.duration / 5)
    time.sleep(warmup)
    rss_start, threads_start = rss_mb(), threading.active_count()
    samples = [(time.monotonic() - started, rss_start)]
    next_restart = started + args.restart_every
    restarts = 0
    while time.monotonic() - started < args.duration:
        time.sleep(min(5.0, max(0.0, started + args.duration - time.monotonic())))
        samples.append((time.monotonic() - started, rss_mb()))
        if time.monotonic() >= next_restart:
            collector.stop()  # SIGTERM: rotel flushes what it acknowledged, then exits
            time.sleep(2.0)  # down for a while: the SDK queues and retries
            collector.start()
            restarts += 1
            next_restart += args.restart_every
    stop.set()
    for t in threads:
        t.join(timeout=10)
    stuck = [t.name for t in threads if t.is_alive()]
    rss_end, threads_end = rss_mb(), threading.active_count()
    provider.shutdown()  # drains the span queue through the exporter
    reader.shutdown()
    time.sleep(1.0)
    collector.stop()
    received = backend.span_count
    backend.stop()

    half = [s for s in samples if s[0] >= args.duration / 2]
    slope = np.polyfit([t for t, _ in half], [m for _, m in half], 1)[0] * 60 if len(half) > 2 else float("nan")
    total = sum(calls)
    recent = np.concatenate([d[: min(c, d.size)] for d, c in zip(durations, calls)]) * 1000
    p50, p99, p999 = np.percentile(recent, [50, 99, 99.9])
    print(f"duration {args.duration:.0f} s, {args.threads} threads, collector restarted {restarts} times")
    print(
        f"predictions          {total} ({total / args.duration:.0f}/s); call time p50 {p50:.2f} ms, "
        f"p99 {p99:.2f} ms, p99.9 {p999:.2f} ms, max {recent.max():.1f} ms (4 threads on {os.cpu_count()} cores)"
    )
    print(
        f"RSS                  {rss_start:.1f} MB after {warmup:.0f} s warm-up -> {rss_end:.1f} MB at the end "
        f"(+{rss_end - rss_start:.1f} MB; slope over the second half {slope:+.2f} MB/min)"
    )
    print(
        f"spans acknowledged   {exporter.acknowledged}, received by the backend {received}, "
        f"lost after acknowledgement {max(0, exporter.acknowledged - received)}"
    )
    print(f"spans not exported   {exporter.failed} (exports that failed while the collector was down)")
    print(
        f"threads              {threads_start} after warm-up, {threads_end} at the end; stuck traffic threads: {stuck or 'none'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
