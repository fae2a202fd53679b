"""Drift update cost per call, as a ratio to one bare OpenTelemetry span, in one run.

For 1 and 10,000 rows x 20 and 200 features: the time modeltel's drift monitor adds to a
prediction call (binning the row sample into the window, data quality, multivariate error)
divided by the time of one bare SDK span (start + end) measured in the same run, and the whole
per-call cost of monitoring the batch ("call": a ``modeltel.monitor`` function with the
reference minus the bare function: span, summaries, drift, data quality, prediction drift,
label store). Side by side on the same batch, where they are installed: whylogs profiling
the batch and an Evidently data drift report on a 5,000-row window (modeltel's default), both
as ratios (how many times more they take): whylogs against modeltel's whole call, Evidently
against modeltel's per-window work (the drift update plus every feature's score at collection).

Run: python benchmarks/drift.py [--repeat 5]. whylogs and Evidently are not dependencies;
Evidently 0.7 needs pandas < 3, so use a separate environment:
  python3 -m venv /tmp/bench && /tmp/bench/bin/pip install -e . whylogs evidently 'pandas<3'
  /tmp/bench/bin/python benchmarks/drift.py
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence

import numpy as np
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

import modeltel
from modeltel import Reference
from modeltel.config import Settings
from modeltel.drift.monitor import DriftMonitor


class _Discard(SpanExporter):
    def export(self, spans: Sequence[object]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def best_of(fn: Callable[[], object], calls: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - start) / calls)
    return best


def whylogs_cost(batch: np.ndarray, repeat: int) -> float | None:
    try:
        import pandas as pd
        import whylogs
    except ImportError:
        return None
    frame = pd.DataFrame(batch, columns=[f"x{i}" for i in range(batch.shape[1])])
    return best_of(lambda: whylogs.log(frame), 3, repeat)


def evidently_cost(reference: np.ndarray, window: np.ndarray, repeat: int) -> float | None:
    try:
        import pandas as pd
        from evidently import Report
        from evidently.presets import DataDriftPreset
    except ImportError:
        return None
    columns = [f"x{i}" for i in range(reference.shape[1])]
    ref, cur = pd.DataFrame(reference, columns=columns), pd.DataFrame(window, columns=columns)
    return best_of(lambda: Report([DataDriftPreset()]).run(cur, ref), 1, max(1, repeat // 2))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    tracer = TracerProvider()
    tracer.add_span_processor(BatchSpanProcessor(_Discard(), max_queue_size=1 << 16))
    trace.set_tracer_provider(tracer)  # for the monitored calls
    metrics.set_meter_provider(MeterProvider(metric_readers=[InMemoryMetricReader()]))
    t = tracer.get_tracer("bench")
    span_cost = best_of(lambda: t.start_span("bare").end(), 2000, args.repeat)
    print(f"bare span (start + end): {span_cost * 1e6:.1f} us")
    print(
        f"{'features':>8} {'rows':>6} {'drift us':>9} {'/ span':>7} {'call us':>8} {'collect us':>10} "
        f"{'whylogs x':>10} {'evidently x':>12}"
    )
    rng = np.random.default_rng(0)
    for features in (20, 200):
        train = rng.normal(size=(5000, features))
        reference = Reference.from_data(train, predictions=(train[:, 0] > 0).astype(int))
        monitor = DriftMonitor("bench", None, reference, Settings())
        for rows in (1, 10_000):
            batch = rng.normal(size=(rows, features))
            labels = (batch[:, 0] > 0).astype(int)

            def update(b: np.ndarray = batch, y: np.ndarray = labels, n: int = rows, m: DriftMonitor = monitor) -> None:
                m.observe_inputs(b, n, None)
                m.observe_outputs(y, n)

            cost = best_of(update, 2000 if rows == 1 else 100, args.repeat)

            def predict(x: np.ndarray, y: np.ndarray = labels) -> np.ndarray:
                return y

            monitored = modeltel.monitor(f"bench-{features}-{rows}", reference=reference)(predict)
            calls = 2000 if rows == 1 else 100
            call = best_of(lambda f=monitored, b=batch: f(b), calls, args.repeat) - best_of(
                lambda b=batch: predict(b), calls, args.repeat
            )
            collect = best_of(lambda m=monitor: list(m.feature_scores()), 20, args.repeat)
            wl = whylogs_cost(batch, args.repeat) if rows > 1 else None
            ev = evidently_cost(train, rng.normal(size=(5000, features)), args.repeat) if rows > 1 else None
            print(
                f"{features:>8} {rows:>6} {cost * 1e6:>9.1f} {cost / span_cost:>7.1f} {call * 1e6:>8.1f} "
                f"{collect * 1e6:>10.1f} {'-' if wl is None else f'{wl / call:.0f}':>10} "
                f"{'-' if ev is None else f'{ev / (cost + collect):.0f}':>12}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
