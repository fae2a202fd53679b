"""modeltel demo: a fraud model served by FastAPI, instrumented with one line, watched live.

Everything runs on this machine: a real OpenTelemetry collector (rotel, from PyPI) receives
the telemetry over OTLP/gRPC and forwards it to a small OTLP backend inside this script,
which shows what arrived. The server (examples/sklearn_fastapi.py) gets three phases of
traffic: normal; drifted (one feature shifted) while the first labels arrive; normal again
but with labels that disagree with the model. After each phase the terminal shows prediction
spans under their HTTP request spans, latency percentiles, drift per feature, realized vs
estimated accuracy, and the alerts modeltel raised. ``--endpoint URL`` sends the same
telemetry to your own collector instead.

Run: python examples/demo.py [--quick] [--endpoint http://localhost:4317]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from modeltel._local.otlp import OtlpBackend, RotelCollector, attributes, free_port

sys.path.insert(0, str(Path(__file__).resolve().parent))

DRIFTED = "amount"


def start_local_pipeline(workdir: Path) -> tuple[OtlpBackend, RotelCollector | None, str]:
    backend = OtlpBackend().start()
    try:
        collector = RotelCollector(backend.port, workdir).start()
        return backend, collector, collector.endpoint
    except (FileNotFoundError, TimeoutError) as exc:
        print(f"  (no rotel collector: {exc}; sending straight to the local backend)")
        return backend, None, f"http://127.0.0.1:{backend.port}"


def serve(app: Any) -> tuple[Any, str]:
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the demo server did not start")
        time.sleep(0.02)
    return server, f"http://127.0.0.1:{port}"


class Traffic:
    """Sends transactions to the server in small batches and keeps their ids and true labels,
    so the labels can be sent later (ground truth is always late)."""

    def __init__(self, url: str, batch: int) -> None:
        import httpx

        self.client = httpx.Client(base_url=url, timeout=10)
        self.batch = batch
        self.seed = 1000
        self.pending: list[tuple[list[str], list[int]]] = []

    def predict(self, rows: int, shift: float = 0.0) -> None:
        from sklearn_fastapi import _SCALE, FEATURES, transactions

        for _ in range(rows // self.batch):
            self.seed += 1
            X, y = transactions(self.batch, seed=self.seed)
            X[:, FEATURES.index(DRIFTED)] += shift * _SCALE[FEATURES.index(DRIFTED)]
            ids = self.client.post("/predict", json={"rows": X.tolist()}).raise_for_status().json()["ids"]
            self.pending.append((ids, y.tolist()))

    def send_labels(self, flip: float = 0.0) -> int:
        """Labels of every prediction so far; ``flip`` of them disagree with the truth the
        model learnt (what a change in fraud patterns looks like from the labels' side)."""
        rng = np.random.default_rng(self.seed)
        sent = 0
        for ids, labels in self.pending:
            truth = np.array(labels)
            flipped = np.where(rng.random(len(truth)) < flip, 1 - truth, truth)
            self.client.post("/labels", json={"ids": ids, "labels": flipped.tolist()}).raise_for_status()
            sent += len(ids)
        self.pending.clear()
        return sent

    def malformed(self) -> int:
        return self.client.post("/predict", json={"rows": [[1.0, 2.0, 3.0]]}).status_code


# ---------------------------------------------------------------- the live view
def _latest_points(backend: OtlpBackend, name: str) -> list[tuple[dict[str, Any], Any]]:
    """The newest data point of each attribute set of metric ``name`` (exports are cumulative)."""
    latest: dict[tuple[Any, ...], tuple[dict[str, Any], Any]] = {}
    with backend._lock:
        metrics = [m for m in backend.metrics if m.name == name]
    for metric in metrics:
        data = getattr(metric, metric.WhichOneof("data"))
        for point in data.data_points:
            attrs = attributes(point.attributes)
            latest[tuple(sorted(attrs.items()))] = (attrs, point)
    return list(latest.values())


def _percentile(bounds: list[float], counts: list[int], q: float) -> float:
    """Upper bucket bound holding the q-th quantile (what a histogram can tell)."""
    cumulative = np.cumsum(counts)
    index = int(np.searchsorted(cumulative, q * cumulative[-1]))
    return bounds[index] if index < len(bounds) else float("inf")


def show_traces(backend: OtlpBackend, since_ns: int) -> None:
    spans = backend.span_attributes()
    by_id = {raw.span_id: (name, raw) for name, _, raw in spans}
    recent = [(n, a, r) for n, a, r in spans if a.get("ml.model.name") and r.start_time_unix_nano >= since_ns]
    shown = [s for s in recent if "error.type" not in s[1]][-1:] + [s for s in recent if "error.type" in s[1]][-1:]
    for name, attrs, raw in shown:
        parent_name, parent = by_id.get(raw.parent_span_id, ("(no parent)", None))
        ms = (raw.end_time_unix_nano - raw.start_time_unix_nano) / 1e6
        if parent is not None:
            pms = (parent.end_time_unix_nano - parent.start_time_unix_nano) / 1e6
            print(f"  trace    {parent_name}  [{pms:.2f} ms]  trace_id {raw.trace_id.hex()[:16]}...")
        detail = (
            f"ERROR {attrs['error.type']}"
            if "error.type" in attrs
            else (
                f"batch={attrs.get('ml.batch.size')} confidence={attrs.get('ml.output.confidence.mean', float('nan')):.2f}"
            )
        )
        print(f"           └─ {name}  [{ms:.2f} ms]  {detail}")


def show_metrics(backend: OtlpBackend) -> None:
    for attrs, point in _latest_points(backend, "ml.prediction.duration"):
        if "error.type" in attrs:
            continue
        bounds, counts = list(point.explicit_bounds), list(point.bucket_counts)
        p50, p99 = (_percentile(bounds, counts, q) * 1000 for q in (0.5, 0.99))
        print(
            f"  latency  {attrs['ml.operation']} {attrs['ml.model.name']}: {point.count} calls, "
            f"p50 <= {p50:g} ms, p99 <= {p99:g} ms"
        )
    psi = {
        a["ml.feature.name"]: p.as_double
        for a, p in _latest_points(backend, "ml.drift.score")
        if a.get("ml.drift.method") == "psi"
    }
    if psi:
        cells = [
            f"{name} {value:.2f}{' DRIFT' if value > 0.2 else ''}"
            for name, value in sorted(psi.items(), key=lambda kv: -kv[1])
        ]
        print("  drift    PSI per feature (> 0.2 is drift): " + ", ".join(cells))
    performance = {
        (a["ml.performance.source"], a["ml.performance.metric"]): p.as_double
        for a, p in _latest_points(backend, "ml.performance")
    }
    realized = performance.get(("labels", "accuracy"))
    estimated = performance.get(("estimated", "accuracy"))
    print(
        "  accuracy realized "
        + (f"{realized:.3f}" if realized is not None else "n/a (no labels yet)")
        + "   estimated (CBPE, no labels needed) "
        + (f"{estimated:.3f}" if estimated is not None else "n/a")
    )


def wait_for_export(backend: OtlpBackend, predicate: Any, timeout: float = 10.0) -> None:
    from opentelemetry import metrics, trace

    trace.get_tracer_provider().force_flush()
    metrics.get_meter_provider().force_flush()
    backend.wait_for(predicate, timeout=timeout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="modeltel demo")
    parser.add_argument("--endpoint", help="send telemetry to this OTLP/gRPC collector instead")
    parser.add_argument("--quick", action="store_true", help="fewer requests (for tests)")
    args = parser.parse_args(argv)
    rows = 1000 if args.quick else 3000
    # Small windows so that drift and accuracy move within a demo-sized run; production
    # defaults are 5,000 rows and 1,000 labels (docs/configuration.md).
    os.environ.setdefault("MODELTEL_DRIFT_WINDOW", str(rows // 2))
    os.environ.setdefault("MODELTEL_PERFORMANCE_WINDOW", str(rows // 2))
    os.environ.setdefault("OTEL_METRIC_EXPORT_INTERVAL", "1000")

    workdir = Path(tempfile.mkdtemp(prefix="modeltel-demo-"))
    backend = collector = None
    print("modeltel demo: a FastAPI fraud-scoring service (examples/sklearn_fastapi.py).")
    if args.endpoint:
        endpoint = args.endpoint
        print(f"  telemetry -> your collector at {endpoint}")
    else:
        backend, collector, endpoint = start_local_pipeline(workdir)
        via = "rotel collector" if collector else "OTLP backend"
        print(f"  telemetry -> {via} at {endpoint} -> local OTLP backend (port {backend.port})")
    os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint
    os.environ.setdefault("OTEL_SERVICE_NAME", "fraud-api")

    print('  the server\'s one line: modeltel.instrument(service_name="fraud-api")')
    import sklearn_fastapi

    # modeltel also logs each alert as a warning; the demo prints them itself (on_alert).
    logging.getLogger("modeltel").setLevel(logging.ERROR)
    fired: list[Any] = []

    def on_alert(alert: Any) -> None:
        fired.append(alert)
        print(f"  ALERT    {alert.message()}")

    app = sklearn_fastapi.create_app(thresholds={"psi": 0.2, "accuracy": 0.8}, on_alert=on_alert)
    server, url = serve(app)
    traffic = Traffic(url, batch=10)
    phases = [
        ("normal traffic; no labels yet", {"shift": 0.0}, None),
        (f"drifted traffic ({DRIFTED} +3 sd); labels of phase 1 arrive", {"shift": 3.0}, 0.0),
        ("normal traffic again; labels of phase 2 arrive, 40% of them disagree", {"shift": 0.0}, 0.4),
    ]
    try:
        for number, (title, traffic_args, flip) in enumerate(phases, 1):
            print(f"\n── phase {number}/3: {title}")
            started_ns = time.time_ns()
            if flip is not None:
                print(f"  labels   {traffic.send_labels(flip)} sent to /labels")
            traffic.predict(rows, **traffic_args)
            if number == 1:
                print(f"  (one malformed request: HTTP {traffic.malformed()})")
            print(f"  sent     {rows} transactions in {rows // traffic.batch} POST /predict requests")
            if backend is not None:
                wait_for_export(backend, lambda b: any(m.name == "ml.drift.score" for m in b.metrics))
                time.sleep(1.2)  # one more metric export, with this phase's windows
                wait_for_export(backend, lambda b: True, timeout=0)
                show_traces(backend, started_ns)
                show_metrics(backend)
                if number == 3:
                    print(
                        "           (the estimate cannot see labels change: a gap between the two is a"
                        "\n            concept-drift signal; input drift has left the window)"
                    )
    finally:
        server.should_exit = True
        from opentelemetry import metrics, trace

        trace.get_tracer_provider().shutdown()
        metrics.get_meter_provider().shutdown()
        if collector is not None:
            collector.stop()
        if backend is not None:
            backend.stop()

    print("\n── alerts raised by modeltel (also exported as OpenTelemetry log records, event ml.alert)")
    for alert in fired:
        print(f"  {alert.state:8} {alert.name} = {alert.value:.3f} (threshold {alert.threshold:g})")
    if not fired:
        print("  none")
    print(
        "\nNext: README.md (quick start) and docs/ (semantic conventions, drift, labels, deployment);"
        "\n  examples/ (PyTorch, plain callables, delayed labels, building a reference);"
        "\n  collector-config/ (collector, Prometheus alert rules, Alertmanager, Grafana, Datadog),"
        "\n  proven end to end by tests/integration/test_alerting_e2e.py; and --endpoint for your own collector."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
