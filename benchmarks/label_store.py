"""Memory of the prediction store under a stream of predictions that never get labels.

Streams N single-row predictions (default 1,000,000) through an instrumented
LogisticRegression with drift monitoring on (``--no-drift``: off) and no labels, and prints the store's row count and the process RSS
after the warm-up and at checkpoints: the store stays at its bound (max entries) and RSS
stays flat. Also prints the time per prediction.

Run: python benchmarks/label_store.py [--predictions 1000000] [--max-entries 100000]
"""

from __future__ import annotations

import argparse
import resource
import time
from collections.abc import Sequence

import numpy as np
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult


class _Discard(SpanExporter):
    def export(self, spans: Sequence[object]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--predictions", type=int, default=1_000_000)
    parser.add_argument("--max-entries", type=int, default=100_000)
    parser.add_argument("--no-drift", dest="drift", action="store_false", help="register without a reference")
    args = parser.parse_args(argv)
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(_Discard(), max_queue_size=1 << 14))
    trace.set_tracer_provider(provider)
    reader = InMemoryMetricReader()
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))

    from sklearn.linear_model import LogisticRegression

    import modeltel
    from modeltel._core import label_store as ground_truth

    modeltel.instrument(label_store_max_entries=args.max_entries)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 20))
    fitted = LogisticRegression().fit(X, (X[:, 0] > 0).astype(int))
    # Drift on too (a reference), and collections as an exporter would make them: the windows
    # and the buffered rows must stay bounded with the store.
    reference = modeltel.Reference.from_data(X, predictions=fitted.predict_proba(X)) if args.drift else None
    clf = modeltel.register(fitted, name="stream", reference=reference)
    rows = [X[i : i + 1] for i in range(1000)]
    warmup = min(args.max_entries + 10_000, args.predictions // 2)
    for i in range(warmup):
        clf.predict(rows[i % 1000])
    base = rss_mb()
    print(f"after warm-up ({warmup:,} predictions): store {len(ground_truth.store()):,} rows, RSS {base:.1f} MB")
    start = time.perf_counter()
    checkpoints = np.linspace(warmup, args.predictions, 5).astype(int)[1:]
    done = warmup
    for target in checkpoints:
        for i in range(done, target):
            clf.predict(rows[i % 1000])
            if i % 5000 == 0:
                reader.get_metrics_data()  # the drift scores and quality counters, as each export reads them
        done = target
        rss = rss_mb()
        print(
            f"{done:>10,} predictions: store {len(ground_truth.store()):,} rows (bound {args.max_entries:,}), "
            f"RSS {rss:.1f} MB ({rss - base:+.1f} MB since warm-up)"
        )
    per_call = (time.perf_counter() - start) / max(1, args.predictions - warmup)
    print(f"time per instrumented prediction: {per_call * 1e6:.1f} us")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
