"""Many threads and an event loop predicting at once, under PYTHONDEVMODE: metric counts equal
the calls made, every prediction id is unique, and every label joins exactly once."""

from __future__ import annotations

import json
import textwrap

import pytest

from tests.helpers import run_python

APP = textwrap.dedent(
    """
    import asyncio, json, threading
    from concurrent.futures import ThreadPoolExecutor
    import numpy as np
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    trace.set_tracer_provider(provider)
    reader = InMemoryMetricReader()
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
    import modeltel
    from sklearn.linear_model import LogisticRegression
    modeltel.instrument()
    X = np.random.default_rng(0).normal(size=(2000, 4))
    y = (X[:, 0] > 0).astype(int)
    ref = modeltel.Reference.from_data(X[:1000], predictions=None)
    clf = LogisticRegression().fit(X, y)
    modeltel.register(clf, name="threaded", reference=ref, drift_window=100000)

    THREADS, CALLS = 16, 150
    start = threading.Barrier(THREADS)

    def worker(seed):
        rng = np.random.default_rng(seed)
        start.wait()  # all threads at once
        out = []
        for _ in range(CALLS):
            i, n = int(rng.integers(0, 1900)), int(rng.integers(1, 20))
            clf.predict(X[i : i + n])
            out.append((modeltel.last_prediction_ids(), y[i : i + n].tolist()))
        return out

    with ThreadPoolExecutor(THREADS) as pool:
        results = [r for chunk in pool.map(worker, range(THREADS)) for r in chunk]

    @modeltel.monitor("async-model")
    async def score(rows):
        await asyncio.sleep(0)  # interleave the coroutines mid-prediction
        return rows.sum(axis=1)

    async def client(k):
        for j in range(100):
            await score(X[j : j + 1 + k])
    async def main():
        await asyncio.gather(*(client(k) for k in range(8)))
    asyncio.run(main())

    ids = [pid for batch, _ in results for pid in batch]
    labels = [lab for _, batch in results for lab in batch]
    # Labels come back from several threads at once, in a different order.
    def send(part):
        return modeltel.record_labels(ids[part::8], labels[part::8], model="threaded")
    with ThreadPoolExecutor(8) as pool:
        summaries = list(pool.map(send, range(8)))

    def points(name, model):
        data = reader.get_metrics_data()
        return [p for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics
                if m.name == name for p in m.data.data_points if p.attributes.get("ml.model.name") == model]

    names = [s.name for s in spans.get_finished_spans()]
    print(json.dumps({
        "calls": len(results),
        "rows": sum(len(b) for b, _ in results),
        "unique_ids": len(set(ids)),
        "matched": sum(s.matched for s in summaries),
        "unknown": sum(s.unknown for s in summaries),
        "metric_rows": sum(p.value for p in points("ml.prediction.rows", "threaded")),
        "metric_calls": sum(p.count for p in points("ml.prediction.duration", "threaded")),
        "window_rows": sum(p.value for p in points("ml.drift.window.rows", "threaded")),
        "spans": names.count("predict threaded"),
        "async_spans": names.count("call async-model"),
        "async_calls": sum(p.count for p in points("ml.prediction.duration", "async-model")),
        "async_rows": sum(p.value for p in points("ml.prediction.rows", "async-model")),
        "internal_errors": sum(p.value for rm in reader.get_metrics_data().resource_metrics
                               for sm in rm.scope_metrics for m in sm.metrics
                               if m.name == "modeltel.internal.errors" for p in m.data.data_points),
    }))
    """
)


def test_threads_and_asyncio_count_every_call_and_join_every_label_once():
    proc = run_python(APP, env={"PYTHONDEVMODE": "1"}, timeout=170)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["calls"] == 16 * 150
    assert got["metric_calls"] == got["spans"] == got["calls"]
    assert got["metric_rows"] == got["rows"] == got["unique_ids"]  # no id handed out twice
    assert got["matched"] == got["rows"] and got["unknown"] == 0
    assert got["window_rows"] == pytest.approx(got["rows"])  # every row reached the drift window
    assert got["async_calls"] == got["async_spans"] == 800
    assert got["async_rows"] == sum(100 * (1 + k) for k in range(8))
    assert got["internal_errors"] == 0
    assert "ResourceWarning" not in proc.stderr, proc.stderr[-2000:]
