"""Page-fault storms: how often a 10,000-row torch call falls into glibc's heap-trim cycle.

A 20-64-64-2 MLP on 10,000 rows allocates 2.56 MB activations on every call. glibc's malloc
gives them back to the kernel (it trims the top of the heap once 5 MB there are free), and
the next call faults them in again: ~1,800 page faults and 3x the time per call (1.5 ms ->
4.5 ms) for as long as the heap stays in that layout. Whether a process gets there depends
on the addresses it was given and on where every other allocation in it landed (any
library's, modeltel's included), so it varies from run to run of the same code. This runs
fresh processes of each configuration, with the model built by overhead.py's code and
afresh here (``--harness``: the same model in two heap layouts), and counts those in it:

  bare              the model alone;
  instrumented      ``modeltel.instrument()`` with its defaults;
  instrumented, drift reference
                    the same with a training reference registered (drift and data quality);
  instrumented, MALLOC_* set
                    the same with MALLOC_MMAP_THRESHOLD_ and MALLOC_TRIM_THRESHOLD_ set, which
                    keeps the heap from being trimmed (deployment.md, "CPU PyTorch and the
                    heap").

Each process runs ``--windows`` windows of ``--calls`` calls after a warm-up and reports
microseconds and minor page faults per call in each; a window above 100 faults per call
counts as a storm (a steady process takes 0-1).

Run: python benchmarks/heap_trim.py [--processes 6] [--windows 4] [--calls 100] [--harness both]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

STORM_FAULTS_PER_CALL = 100
# Both set: setting either one alone also switches off glibc's dynamic mmap threshold, and
# then every activation is mmap'd and faulted in on every call (worse than the storm).
MALLOC_SETTINGS = {"MALLOC_MMAP_THRESHOLD_": str(32 * 2**20), "MALLOC_TRIM_THRESHOLD_": str(256 * 2**20)}
CONFIGS = {
    "bare": ("bare", {}),
    "instrumented": ("instrumented", {}),
    "instrumented, drift reference": ("drift", {}),
    "instrumented, MALLOC_* set": ("instrumented", MALLOC_SETTINGS),
}


def _model(harness: str, rows: int) -> tuple[Any, Any]:
    """overhead.py's torch model and batch, built by overhead.py's own code or afresh here:
    the same model and data, in a different heap layout."""
    import numpy as np
    import overhead
    import torch

    if harness == "overhead":
        run = next(case for case in overhead.cases([rows]) if case[0].startswith("torch"))[2]
        return run.model, run.__defaults__[0]
    return overhead.torch_mlp(), torch.from_numpy(np.random.default_rng(0).normal(size=(rows, 20)).astype(np.float32))


def worker(mode: str, harness: str, rows: int, windows: int, calls: int) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import numpy as np
    import torch
    from overhead import _providers

    import modeltel

    _providers()
    mlp, batch = _model(harness, rows)
    if mode != "bare":
        modeltel.instrument()
    if mode == "drift":
        train = np.random.default_rng(1).normal(size=(5000, 20)).astype(np.float32)
        with torch.inference_mode():
            predictions = mlp(torch.from_numpy(train)).numpy()
        modeltel.register(mlp, name="mlp", reference=modeltel.Reference.from_data(train, predictions=predictions))

    def predict() -> None:
        with torch.inference_mode():
            mlp(batch)

    for _ in range(10):
        predict()
    out = []
    for _ in range(windows):
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        start = time.perf_counter()
        for _ in range(calls):
            predict()
        elapsed = (time.perf_counter() - start) / calls
        out.append((elapsed * 1e6, (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults) / calls))
    print(json.dumps(out))


def run_config(
    mode: str, harness: str, env_extra: dict[str, str], args: argparse.Namespace
) -> list[list[tuple[float, float]]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    env.update(env_extra)
    results = []
    for _ in range(args.processes):
        proc = subprocess.run(
            [
                sys.executable,
                __file__,
                "--worker",
                mode,
                "--harness",
                harness,
                "--rows",
                str(args.rows),
                "--windows",
                str(args.windows),
                "--calls",
                str(args.calls),
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
            check=True,
        )
        results.append([tuple(w) for w in json.loads(proc.stdout.strip().splitlines()[-1])])
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=6)
    parser.add_argument("--windows", type=int, default=4)
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument(
        "--harness",
        choices=["overhead", "fresh", "both"],
        default="both",
        help="build the model with overhead.py's code, afresh here, or both in turn",
    )
    parser.add_argument("--worker", choices=["bare", "instrumented", "drift"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.harness, args.rows, args.windows, args.calls)
        return 0
    try:
        import torch  # noqa: F401
    except ImportError:
        print("torch is not installed: nothing to measure")
        return 0
    print(
        f"torch MLP 20-64-64-2, {args.rows} rows; {args.processes} processes x {args.windows} windows "
        f"x {args.calls} calls per configuration"
    )
    harnesses = ["overhead", "fresh"] if args.harness == "both" else [args.harness]
    for harness in harnesses:
        print(f"\nmodel built by {'overhead.py' if harness == 'overhead' else 'this script'}")
        print(f"{'configuration':<30} {'storms':>7} {'median us':>10} {'worst us':>9} {'faults/call':>12}")
        for label, (mode, env_extra) in CONFIGS.items():
            results = run_config(mode, harness, env_extra, args)
            windows = [w for process in results for w in process]
            storms = sum(any(faults > STORM_FAULTS_PER_CALL for _, faults in process) for process in results)
            print(
                f"{label:<30} {storms:>3}/{len(results):<3} {statistics.median(w[0] for w in windows):>10.0f} "
                f"{max(w[0] for w in windows):>9.0f} {statistics.median(w[1] for w in windows):>12.1f}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
