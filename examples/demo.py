"""modeltel demo: a scikit-learn model served by FastAPI, instrumented with one line.

By default everything runs on this machine: a real OpenTelemetry collector (rotel, from
PyPI) receives the telemetry over OTLP/gRPC and forwards it to a small OTLP backend inside
this script, which prints what arrived: prediction spans nested under HTTP request spans,
latency percentiles and row counts. ``--endpoint URL`` sends the same telemetry to your own
collector instead.

Run: python examples/demo.py [--requests 40] [--endpoint http://localhost:4317]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

# Export metrics every second so the demo shows them within its run.
os.environ.setdefault("OTEL_METRIC_EXPORT_INTERVAL", "1000")

import httpx  # noqa: E402
import numpy as np  # noqa: E402
import uvicorn  # noqa: E402

import modeltel  # noqa: E402
from modeltel.testing import OtlpBackend, RotelCollector, attributes, free_port  # noqa: E402

FEATURES = ["amount", "account_age_days", "n_transactions_24h", "distance_km", "hour", "merchant_risk"]


def start_local_pipeline(workdir: Path) -> tuple[OtlpBackend, RotelCollector | None, str]:
    backend = OtlpBackend().start()
    try:
        collector = RotelCollector(backend.port, workdir).start()
        return backend, collector, collector.endpoint
    except (FileNotFoundError, TimeoutError) as exc:
        print(f"  (no rotel collector: {exc}; sending straight to the local backend)")
        return backend, None, f"http://127.0.0.1:{backend.port}"


def build_app() -> Any:
    from fastapi import FastAPI, HTTPException
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = make_classification(n_samples=2000, n_features=len(FEATURES), n_informative=4, random_state=0)
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    modeltel.register(model, name="fraud", version="2026-11-01", feature_names=FEATURES)

    app = FastAPI(title="fraud scoring")

    @app.post("/score")
    def score(payload: dict) -> dict:
        rows = np.asarray(payload["rows"], dtype=float)
        try:
            proba = model.predict_proba(rows)[:, 1]
        except ValueError as exc:  # e.g. a client sending the wrong number of features
            raise HTTPException(status_code=400, detail=str(exc)) from exc
        return {"fraud_probability": proba.round(4).tolist()}

    FastAPIInstrumentor.instrument_app(app)
    return app


def serve(app: Any) -> tuple[uvicorn.Server, str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the demo server did not start")
        time.sleep(0.02)
    return server, f"http://127.0.0.1:{port}"


def drive(url: str, requests: int) -> tuple[int, int]:
    rng = np.random.default_rng(1)
    ok = failed = 0
    with httpx.Client(timeout=10) as client:
        for i in range(requests):
            width = len(FEATURES) if i != requests // 2 else 4  # one malformed request
            rows = rng.normal(size=(random.Random(i).randint(1, 20), width)).tolist()
            response = client.post(f"{url}/score", json={"rows": rows})
            ok += response.status_code == 200
            failed += response.status_code != 200
    return ok, failed


def _percentile_from_buckets(bounds: list[float], counts: list[int], q: float) -> float:
    total = sum(counts)
    target = q * total
    seen = 0
    for i, c in enumerate(counts):
        seen += c
        if seen >= target:
            return bounds[i] if i < len(bounds) else float("inf")
    return float("inf")


def report(backend: OtlpBackend) -> None:
    spans = backend.span_attributes()
    by_id = {raw.span_id: (name, attrs, raw) for name, attrs, raw in spans}
    predictions = [(n, a, r) for n, a, r in spans if a.get("ml.model.name")]
    print(f"\nTraces: {len(spans)} spans received, {len(predictions)} of them prediction spans.")
    shown = 0
    for name, attrs, raw in predictions:
        parent = by_id.get(raw.parent_span_id)
        while parent is not None and parent[2].parent_span_id in by_id and parent[2].kind != 2:
            parent = by_id.get(parent[2].parent_span_id)
        if parent is None or (shown >= 2 and "error.type" not in attrs):
            continue
        shown += 1
        ms = (raw.end_time_unix_nano - raw.start_time_unix_nano) / 1e6
        pms = (parent[2].end_time_unix_nano - parent[2].start_time_unix_nano) / 1e6
        print(f"  {parent[0]}  [{pms:.2f} ms]  trace {raw.trace_id.hex()[:16]}...")
        print(f"  └─ {name}  [{ms:.2f} ms]  batch={attrs.get('ml.batch.size')}", end="")
        if "error.type" in attrs:
            print(f"  ERROR {attrs['error.type']}")
            continue
        print(f"  confidence={attrs.get('ml.output.confidence.mean', float('nan')):.3f}")
        names = attrs.get("ml.input.feature.names", [])
        means = attrs.get("ml.input.feature.mean", [])
        print("       inputs: " + ", ".join(f"{n}={m:+.2f}" for n, m in list(zip(names, means))[:4]) + ", ...")
        labels = dict(zip(attrs.get("ml.output.class.labels", []), attrs.get("ml.output.class.counts", [])))
        print(f"       outputs by class: {labels}")
        if shown >= 3:
            break
    print("\nMetrics (as exported):")
    durations = [m for m in backend.metrics if m.name == "ml.prediction.duration"]
    if durations:
        latest: dict[tuple[Any, ...], Any] = {}
        for metric in durations:
            for point in metric.histogram.data_points:
                key = tuple(sorted(attributes(point.attributes).items()))
                latest[key] = point
        for key, point in latest.items():
            attrs = dict(key)
            bounds, counts = list(point.explicit_bounds), list(point.bucket_counts)
            p50, p99 = (_percentile_from_buckets(bounds, counts, q) * 1000 for q in (0.5, 0.99))
            label = f"{attrs.get('ml.operation')} {attrs.get('ml.model.name')}"
            if "error.type" in attrs:
                label += f" (error.type={attrs['error.type']})"
            print(f"  ml.prediction.duration  {label}: {point.count} calls, p50 <= {p50:.3g} ms, p99 <= {p99:.3g} ms")
    rows = [m for m in backend.metrics if m.name == "ml.prediction.rows"]
    if rows:
        totals: dict[tuple[Any, ...], float] = {}
        for metric in rows:
            for point in metric.sum.data_points:
                key = tuple(sorted(attributes(point.attributes).items()))
                totals[key] = point.as_int
        for key, value in totals.items():
            attrs = dict(key)
            print(f"  ml.prediction.rows      {attrs.get('ml.model.name')} {attrs.get('error.type', 'ok')}: {value}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="modeltel demo")
    parser.add_argument("--endpoint", help="send telemetry to this OTLP/gRPC collector instead")
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="modeltel-demo-"))
    backend = collector = None
    print("modeltel demo: a FastAPI fraud-scoring service, instrumented with one line.")
    if args.endpoint:
        endpoint = args.endpoint
        print(f"  telemetry -> your collector at {endpoint}")
    else:
        backend, collector, endpoint = start_local_pipeline(workdir)
        via = "rotel collector" if collector else "OTLP backend"
        print(f"  telemetry -> {via} at {endpoint} -> local OTLP backend (port {backend.port})")

    modeltel.instrument(service_name="demo-fraud-api", endpoint=endpoint)  # <- the one line
    server, url = serve(build_app())
    ok, failed = drive(url, args.requests)
    print(f"  sent {ok + failed} HTTP requests to {url}/score ({ok} ok, {failed} rejected)")

    from opentelemetry import metrics, trace

    trace.get_tracer_provider().force_flush()
    metrics.get_meter_provider().force_flush()
    server.should_exit = True
    try:
        if backend is not None:
            expected = args.requests
            arrived = backend.wait_for(
                lambda b: sum(1 for s in b.spans if s.name.startswith("predict_proba")) >= expected
                and any(m.name == "ml.prediction.rows" for m in b.metrics),
                timeout=20,
            )
            if not arrived:
                print("  telemetry did not all arrive in time", file=sys.stderr)
            report(backend)
    finally:
        trace.get_tracer_provider().shutdown()
        metrics.get_meter_provider().shutdown()
        if collector is not None:
            collector.stop()
        if backend is not None:
            backend.stop()
    print(
        "\nNext: README.md (quick start), docs/semantic-conventions.md (every span attribute and"
        "\nmetric), examples/ (PyTorch, plain callables), and point --endpoint at your own collector."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
