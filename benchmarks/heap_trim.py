"""Page-fault storms: how often a 10,000-row torch call falls into glibc's heap-trim cycle.

A 20-64-64-2 MLP on 10,000 rows allocates 2.56 MB activations on every call. glibc's malloc
gives them back to the kernel (it trims the top of the heap once 5 MB there are free), and
the next call faults them in again: ~1,800 page faults and 3x the time per call (1.5 ms ->
4.5 ms) for as long as the heap stays in that layout. Whether a process gets there depends
on where every other allocation in it landed, modeltel's included. This runs fresh
processes of each configuration and counts those that fell into it:

  bare              the model alone;
  instrumented      ``modeltel.instrument()`` with its defaults;
  instrumented, MALLOC_* set
                    the same with MALLOC_MMAP_THRESHOLD_ and MALLOC_TRIM_THRESHOLD_ set, which
                    keeps the heap from being trimmed (deployment.md, "CPU PyTorch and the
                    heap").

Each process runs ``--windows`` windows of ``--calls`` calls after a warm-up and reports
microseconds and minor page faults per call in each; a window above 100 faults per call
counts as a storm (a steady process takes 0-1).

Run: python benchmarks/heap_trim.py [--processes 8] [--windows 5] [--calls 100]
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

STORM_FAULTS_PER_CALL = 100
# Both set: setting either one alone also switches off glibc's dynamic mmap threshold, and
# then every activation is mmap'd and faulted in on every call (worse than the storm).
MALLOC_SETTINGS = {"MALLOC_MMAP_THRESHOLD_": str(32 * 2**20), "MALLOC_TRIM_THRESHOLD_": str(256 * 2**20)}
CONFIGS = {
    "bare": ("bare", {}),
    "instrumented": ("instrumented", {}),
    "instrumented, MALLOC_* set": ("instrumented", MALLOC_SETTINGS),
}


def worker(mode: str, rows: int, windows: int, calls: int) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import overhead

    overhead._providers()
    predict = [case for case in overhead.cases([rows]) if case[0].startswith("torch")][0][2]
    if mode == "instrumented":
        import modeltel

        modeltel.instrument()
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


def run_config(mode: str, env_extra: dict[str, str], args: argparse.Namespace) -> list[list[tuple[float, float]]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    env.update(env_extra)
    results = []
    for _ in range(args.processes):
        proc = subprocess.run(
            [sys.executable, __file__, "--worker", mode, "--rows", str(args.rows),
             "--windows", str(args.windows), "--calls", str(args.calls)],
            capture_output=True, text=True, env=env, timeout=600, check=True,
        )
        results.append([tuple(w) for w in json.loads(proc.stdout.strip().splitlines()[-1])])
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--windows", type=int, default=5)
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--worker", choices=["bare", "instrumented"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.rows, args.windows, args.calls)
        return 0
    try:
        import torch  # noqa: F401
    except ImportError:
        print("torch is not installed: nothing to measure")
        return 0
    print(f"torch MLP 20-64-64-2, {args.rows} rows; {args.processes} processes x {args.windows} windows "
          f"x {args.calls} calls per configuration")
    print(f"{'configuration':<28} {'storms':>7} {'median us':>10} {'worst us':>9} {'faults/call':>12}")
    for label, (mode, env_extra) in CONFIGS.items():
        results = run_config(mode, env_extra, args)
        windows = [w for process in results for w in process]
        storms = sum(any(faults > STORM_FAULTS_PER_CALL for _, faults in process) for process in results)
        print(f"{label:<28} {storms:>3}/{len(results):<3} {statistics.median(w[0] for w in windows):>10.0f} "
              f"{max(w[0] for w in windows):>9.0f} {statistics.median(w[1] for w in windows):>12.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
