"""Per-call overhead of modeltel relative to the OpenTelemetry floor, in one run.

For each case, rounds interleave three variants over the same input:
  bare          the model call with modeltel uninstrumented;
  floor         the same call plus one bare SDK span (start + end) and one histogram record;
  instrumented  the call with ``modeltel.instrument()`` active (span, summaries, metrics).
Each variant's time is the lower quartile of its per-round means: this machine has slow
phases (the same bare torch call runs 1.5 ms or 4.8 ms depending on the process and moment),
and the lower quartile compares the variants in the same, fast phase while still ignoring
the luckiest rounds. ratio = (instrumented - bare) / (floor - bare). Targets (issue 2):
<= 2.0 for 1 row and <= 3.0 for 10,000 rows.

Each variant's timed calls follow a few untimed ones (``WARMUP_CALLS``, or half the timed
count), the same for all three. Rounds switch instrumentation on and off, and the first
calls after ``instrument()`` pay a one-off cost a server pays once, at start-up: it re-patches
hundreds of classes, which empties Python's attribute caches. With 10 timed calls a round
(10,000 rows) that one-off cost added 30-50 us per call to the instrumented side. The column
``1st+us`` shows it: the first instrumented call after ``instrument()`` against the first
bare call after ``uninstrument()`` (medians).

Then, for each single-row case, a long run of single calls (``--tail-calls``, bare then
instrumented, each call timed on its own) prints the median, p99 and the worst call: a stall
that the quartiles above hide (a full garbage collection inside one call, a lock held by an
export) shows there.

Run: python benchmarks/overhead.py [--rounds 41] [--calls 100] [--tail-calls 2000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable, Sequence

import numpy as np
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult


class _DiscardExporter(SpanExporter):
    """Accepts batches and drops them: the export thread's work stays, the network does not."""

    def export(self, spans: Sequence[object]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def _providers() -> None:
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(_DiscardExporter(), max_queue_size=1 << 16))
    trace.set_tracer_provider(provider)
    metrics.set_meter_provider(MeterProvider(metric_readers=[InMemoryMetricReader()]))


def _time(fn: Callable[[], object], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


# Untimed calls before each timed run (see measure).
WARMUP_CALLS = 5


def measure(
    name: str,
    predict: Callable[[], object],
    rounds: int,
    calls: int,
    options: dict[str, object],
    warmup: int | None = None,
) -> dict[str, float]:
    import modeltel

    tracer = trace.get_tracer("benchmark-floor")
    histogram = metrics.get_meter("benchmark-floor").create_histogram("floor.duration", unit="s")
    attrs = {"ml.model.name": name, "ml.operation": "predict"}

    def floor() -> None:
        span = tracer.start_span("predict floor")
        start = time.perf_counter()
        predict()
        histogram.record(time.perf_counter() - start, attrs)
        span.end()

    samples: dict[str, list[float]] = {"bare": [], "floor": [], "instrumented": []}
    first: dict[str, list[float]] = {"bare": [], "floor": [], "instrumented": []}
    warmup = max(1, max(WARMUP_CALLS, calls // 2) if warmup is None else warmup)
    for _ in range(2):  # warm-up: caches, lazy imports, first-span set-up
        modeltel.instrument(**options)
        _time(predict, calls // 4 + 1)
        modeltel.uninstrument()
        _time(floor, calls // 4 + 1)
    for _ in range(rounds):
        order = ["bare", "floor", "instrumented"]
        random.shuffle(order)
        for variant in order:
            fn = floor if variant == "floor" else predict
            if variant == "instrumented":
                modeltel.instrument(**options)
            # Untimed calls first, for every variant: switching variants (above all
            # instrument()/uninstrument(), which re-patch hundreds of classes and so reset
            # Python's attribute caches) makes the next few calls pay a one-off cost.
            first[variant].append(_time(fn, 1))
            _time(fn, warmup - 1)
            samples[variant].append(_time(fn, calls))
            if variant == "instrumented":
                modeltel.uninstrument()
    q = {k: statistics.quantiles(v, n=4)[0] if len(v) > 1 else v[0] for k, v in samples.items()}
    q["floor_added"] = q["floor"] - q["bare"]
    q["added"] = q["instrumented"] - q["bare"]
    q["ratio"] = q["added"] / q["floor_added"]
    # What the excluded one-off costs: the first call after instrument() against the first
    # bare call after uninstrument() (medians).
    q["first_call_added"] = statistics.median(first["instrumented"]) - statistics.median(first["bare"])
    return q


def tail(predict: Callable[[], object], calls: int, options: dict[str, object]) -> dict[str, list[float]]:
    """Per-call seconds of ``calls`` single calls, bare and instrumented (halves alternated)."""
    import modeltel

    timings: dict[str, list[float]] = {"bare": [], "instrumented": []}
    clock = time.perf_counter
    for half in range(2):
        for variant in ("bare", "instrumented") if half == 0 else ("instrumented", "bare"):
            if variant == "instrumented":
                modeltel.instrument(**options)
            _time(predict, WARMUP_CALLS)
            out = timings[variant]
            for _ in range(calls // 2):
                start = clock()
                predict()
                out.append(clock() - start)
            if variant == "instrumented":
                modeltel.uninstrument()
    return timings


def _tail_row(values: list[float]) -> str:
    ordered = sorted(values)
    p50 = ordered[len(ordered) // 2]
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"{p50 * 1e6:>8.1f} {p99 * 1e6:>8.1f} {ordered[-1] * 1e6:>9.1f}"


def cases(rows_list: Sequence[int]) -> list[tuple[str, int, Callable[[], object]]]:
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = rng.normal(size=(20_000, 20))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    clf = LogisticRegression().fit(X, y)
    out: list[tuple[str, int, Callable[[], object]]] = []
    for rows in rows_list:
        batch = X[:rows].copy()
        out.append(("LogisticRegression.predict (20 features)", rows, lambda b=batch: clf.predict(b)))
    try:
        import torch
    except ImportError:
        return out
    mlp = torch_mlp()
    for rows in rows_list:
        batch_t = torch.from_numpy(X[:rows].astype(np.float32))

        def run(b: torch.Tensor = batch_t) -> object:
            with torch.inference_mode():
                return mlp(b)

        run.model = mlp  # type: ignore[attr-defined]  # for heap_trim.py
        out.append(("torch MLP 20-64-64-2", rows, run))
    return out


def torch_mlp() -> object:
    """The benchmarks' torch model: a seeded 20-64-64-2 MLP in eval mode, one intra-op thread."""
    import torch

    torch.manual_seed(0)
    mlp = torch.nn.Sequential(
        torch.nn.Linear(20, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 2)
    ).eval()
    torch.set_num_threads(1)
    return mlp


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=41)
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--rows", type=int, nargs="+", default=[1, 10_000])
    parser.add_argument("--tail-calls", type=int, default=2000, help="single calls in the tail run (0: none)")
    parser.add_argument("--no-summaries", action="store_true", help="instrument with summaries=False")
    args = parser.parse_args(argv)
    options: dict[str, object] = {"summaries": False} if args.no_summaries else {}
    _providers()
    targets = {1: 2.0, 10_000: 3.0}
    print(f"{'case':<42} {'rows':>6} {'bare us':>9} {'floor+us':>9} {'added us':>9} {'ratio':>6} {'1st+us':>7} target")
    failed = False
    for name, rows, predict in cases(args.rows):
        calls = max(5, args.calls // max(1, rows // 1000))
        m = measure(name, predict, args.rounds, calls, options)
        target = targets.get(rows)
        ok = target is None or m["ratio"] <= target
        failed |= not ok
        print(
            f"{name:<42} {rows:>6} {m['bare'] * 1e6:>9.1f} {m['floor_added'] * 1e6:>9.1f} "
            f"{m['added'] * 1e6:>9.1f} {m['ratio']:>6.2f} {m['first_call_added'] * 1e6:>7.0f} "
            f"{'' if target is None else f'<= {target:.1f} ' + ('ok' if ok else 'MISSED')}"
        )
    if args.tail_calls and 1 in args.rows:
        print(
            f"\n{'single-row tail (' + str(args.tail_calls) + ' calls)':<42} {'variant':>12} {'p50 us':>8} {'p99 us':>8} {'worst us':>9}"
        )
        for name, _, predict in cases([1]):
            timings = tail(predict, args.tail_calls, options)
            for variant, values in timings.items():
                print(f"{name:<42} {variant:>12} {_tail_row(values)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
