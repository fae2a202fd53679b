"""modeltel on a CUDA device: no synchronisation on the prediction path, and the overhead.

Needs torch with CUDA; prints why and exits 0 without one. For a CUDA MLP under
``modeltel.instrument()``:
1. Sync check: 300 predictions (1 and 4,096 rows) with ``torch.cuda.set_sync_debug_mode
   ("error")``, which makes any call that waits for the device raise. modeltel catches its own
   failures, so a synchronising modeltel call shows up as ``modeltel.internal.errors``: the
   check fails if any is counted, if a span is missing, or if a span carries an input summary
   (with ``device_summaries`` off, tensors on the device are not read).
2. ``device_summaries=True``: the summary is on the span and equals the CPU computation.
3. Labels joined to CUDA outputs (the copy to the host happens at the join, off the path).
4. Overhead ratio as in overhead.py (instrumented - bare) / (bare span + histogram record),
   host time per call, for 1 and 10,000 rows: a GPU call returns once its kernels are
   queued, so this is what the serving thread pays.

Run: python benchmarks/gpu.py [--rounds 21]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from overhead import measure


def _providers() -> tuple[object, object]:
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    # Batched as in production (the overhead's floor includes the processor's cost per span).
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(spans, max_queue_size=1 << 16))
    trace.set_tracer_provider(provider)
    reader = InMemoryMetricReader()
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
    return spans, reader


def _finished(spans: object) -> list[object]:
    from opentelemetry import trace

    trace.get_tracer_provider().force_flush()  # type: ignore[attr-defined]
    return list(spans.get_finished_spans())  # type: ignore[attr-defined]


def _internal_errors(reader: object) -> int:
    data = reader.get_metrics_data()  # type: ignore[attr-defined]
    total = 0
    for rm in data.resource_metrics if data else []:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                if metric.name == "modeltel.internal.errors":
                    total += sum(p.value for p in metric.data.data_points)
    return total


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--cpu-dry-run", action="store_true", help="run the steps on the CPU (no sync check)")
    args = parser.parse_args(argv)
    try:
        import torch
    except ImportError:
        print("torch is not installed: nothing to check")
        return 0
    dry = args.cpu_dry_run
    if not dry and not torch.cuda.is_available():
        print("no CUDA device: nothing to check")
        return 0
    synchronize = (lambda: None) if dry else torch.cuda.synchronize
    spans, reader = _providers()
    import modeltel

    modeltel.instrument(frameworks=["torch"])
    torch.manual_seed(0)
    device = torch.device("cpu" if dry else "cuda")
    mlp = (
        torch.nn.Sequential(
            torch.nn.Linear(20, 64),
            torch.nn.ReLU(),
            torch.nn.Linear(64, 64),
            torch.nn.ReLU(),
            torch.nn.Linear(64, 2),
            torch.nn.Softmax(dim=1),
        )
        .to(device)
        .eval()
    )
    print(f"device: {'cpu (dry run)' if dry else torch.cuda.get_device_name(0)}, torch {torch.__version__}")
    batches = {rows: torch.randn(rows, 20, device=device) for rows in (1, 4096, 10_000)}
    failures: list[str] = []

    # 1. No synchronisation on the prediction path.
    with torch.inference_mode():
        mlp(batches[1])  # warm-up: kernels and lazy set-up outside the check
        synchronize()
        _finished(spans)
        spans.clear()  # type: ignore[attr-defined]
        before = _internal_errors(reader)
        if not dry:
            torch.cuda.set_sync_debug_mode("error")
        try:
            for i in range(300):
                mlp(batches[1 if i % 2 else 4096])
        except RuntimeError as exc:
            failures.append(f"a prediction synchronised the device: {exc}")
        finally:
            if not dry:
                torch.cuda.set_sync_debug_mode("default")
        synchronize()
    errors = _internal_errors(reader) - before
    finished = _finished(spans)
    summarised = [s for s in finished if "ml.input.feature.mean" in (s.attributes or {})]
    print(
        f"sync check: {len(finished)} spans for 300 predictions, {errors} internal errors, "
        f"{len(summarised)} spans with a device summary (0 expected)"
    )
    if errors:
        failures.append(f"{errors} modeltel internal errors under sync debug mode 'error'")
    if len(finished) != 300:
        failures.append(f"{len(finished)} spans for 300 predictions")
    if summarised and not dry:
        failures.append("device tensors were summarised with device_summaries off")

    # 2. Opt-in device summaries equal the CPU computation.
    modeltel.register(mlp, name="gpu-mlp", device_summaries=True)
    spans.clear()  # type: ignore[attr-defined]
    x = batches[4096]
    with torch.inference_mode():
        mlp(x)
    span = _finished(spans)[-1]
    mean = np.asarray(span.attributes["ml.input.feature.mean"])
    rows = int(span.attributes["ml.input.summary.rows"])
    print(f"device summaries: {rows} sampled rows of 4096, {len(mean)} feature means on the span")
    from modeltel.data.rows import sample_index

    index = sample_index(4096, rows)
    host = x.cpu().numpy().astype(np.float64)
    expected = (host if index is None else host[index]).mean(axis=0)
    if not np.allclose(mean, expected, rtol=1e-5, atol=1e-6):
        failures.append("device summary means differ from the CPU computation")

    # 3. Labels join CUDA outputs.
    with torch.inference_mode():
        out = mlp(batches[1])
    ids = modeltel.last_prediction_ids()
    predicted = int(out.argmax(dim=1).item())
    summary = modeltel.record_labels(ids, [predicted])
    print(f"labels on a CUDA output: {summary}")
    if summary.matched != 1:
        failures.append(f"label join on a CUDA output: {summary}")

    # 4. Host overhead per call.
    modeltel.register(mlp, name="gpu-mlp", device_summaries=False)
    modeltel.uninstrument()
    print(f"{'case':<28} {'rows':>6} {'bare us':>9} {'floor+us':>9} {'added us':>9} {'ratio':>6}")
    for rows in (1, 10_000):
        batch = batches[rows]

        def run(b: torch.Tensor = batch) -> object:
            with torch.inference_mode():
                return mlp(b)

        m = measure("gpu-mlp", run, args.rounds, 100, {"frameworks": ["torch"]})
        synchronize()
        print(
            f"{'CUDA MLP 20-64-64-2':<28} {rows:>6} {m['bare'] * 1e6:>9.1f} {m['floor_added'] * 1e6:>9.1f} "
            f"{m['added'] * 1e6:>9.1f} {m['ratio']:>6.2f}"
        )
    for failure in failures:
        print("FAILED:", failure)
    print("all GPU checks passed" if not failures else f"{len(failures)} GPU checks failed")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
