"""Experiment: would finishing prediction spans later, in batches, make single-row calls cheaper?

Everything modeltel does after the model returns (the output summary, the label store entry,
the duration and row metrics, setting the span's attributes and ending it) runs right after
the model call, when this code is out of the CPU's caches and predictors. This script
measures the alternative: the call's context is closed at once, the rest is queued and run
for K calls together, warm. It patches ``recorder.Call`` for the experiment only; modeltel
itself always completes a call before returning (docs/faq.md, "Why is modeltel's work done
in the call?", has the figures and the decision).

It prints, for a one-row torch MLP and LogisticRegression.predict:
  * the overhead ratio of overhead.py (interleaved rounds, lower quartile), synchronous and
    deferred with K calls per batch;
  * the per-call latency distribution over a long run of instrumented calls, which shows
    what the mean hides: one call in K pays for the whole batch.

Run: python benchmarks/deferred_completion.py [--batch 16 64] [--rounds 31] [--calls 20000]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from overhead import _providers, cases, measure  # noqa: E402

import modeltel  # noqa: E402
from modeltel import recorder  # noqa: E402

_SYNC_OK = recorder.Call.ok
_SYNC_CLOSE = recorder.Call._close_context


def _defer(batch: int) -> Callable[[], None]:
    """Make Call.ok close the call's context now and run the rest ``batch`` calls at a time;
    returns the function that completes whatever is still queued."""
    pending: list[Any] = []
    durations: dict[int, float] = {}

    def complete() -> None:
        work = pending[:]
        pending.clear()
        for call, value in work:
            _SYNC_OK(call, value)  # its _close_context now hands back the stored duration

    def ok(self: Any, result: Any) -> None:
        durations[id(self)] = _SYNC_CLOSE(self)
        pending.append((self, result))
        if len(pending) >= batch:
            complete()

    recorder.Call.ok = ok
    recorder.Call._close_context = lambda self: durations.pop(id(self))
    return complete


def _restore() -> None:
    recorder.Call.ok = _SYNC_OK
    recorder.Call._close_context = _SYNC_CLOSE


def _latencies(predict: Callable[[], object], calls: int) -> np.ndarray:
    modeltel.instrument()
    try:
        for _ in range(calls // 10):
            predict()
        out = np.empty(calls)
        clock = time.perf_counter
        for i in range(calls):
            start = clock()
            predict()
            out[i] = clock() - start
        return out
    finally:
        modeltel.uninstrument()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, nargs="+", default=[16, 64], help="calls completed together")
    parser.add_argument("--rounds", type=int, default=31)
    parser.add_argument("--calls", type=int, default=20_000, help="calls in the latency run")
    args = parser.parse_args(argv)
    _providers()
    print(f"{'case':<28} {'completion':<14} {'ratio':>6} {'mean us':>8} {'p50 us':>7} {'p99 us':>7} {'p99.9 us':>9}")
    for name, _rows, predict in cases([1]):
        for batch in [1, *args.batch]:
            complete = _defer(batch) if batch > 1 else None
            try:
                m = measure(name, predict, args.rounds, 100, {})
                lat = _latencies(predict, args.calls) * 1e6
            finally:
                if complete is not None:
                    complete()  # every deferred span still ends
                _restore()
            p50, p99, p999 = np.percentile(lat, [50, 99, 99.9])
            label = "in the call" if batch == 1 else f"deferred, K={batch}"
            print(f"{name[:28]:<28} {label:<14} {m['ratio']:>6.2f} {lat.mean():>8.1f} {p50:>7.1f} {p99:>7.1f} {p999:>9.1f}",
                  flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
